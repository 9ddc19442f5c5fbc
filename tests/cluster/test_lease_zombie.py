"""Fencing end to end on real PostgreSQL, two nodes' naive systems in one process sharing one
exchange (a paper matching engine), each with its own database connection, trader store and
lease coordinator (`hedgehog.cluster.coordinator`):

- the zombie: node A holds XRPUSDT and is "paused" (its coordinator frozen, its local clock
  too, so only the database can stop it) past its lease; node B takes the symbol over at
  epoch 2 and recovers A's trader from the store; A wakes up, its trader decides a buy: the
  intent write raises `FencedError` in the database and A places nothing; B places the buy.
  The mutant without the database check (`check_fence` a no-op) places A's order: caught.
- the database outage: A's database goes away (a TCP proxy closed): its watchdog stops the
  symbol's traders at the local deadline without the database, nothing is placed, and A takes
  its symbol back (a new epoch) once the database is back.
- rebalance: a second node joining takes half the symbols, never while another holds them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import partial

import pytest
from sqlalchemy import make_url, text

from hedgehog.cluster.coordinator import Coordinator
from hedgehog.cluster.lease_node import attach, stop_locally
from hedgehog.exchange.paper.exchange import PaperExchange
from hedgehog.runtime import Runtime
from hedgehog.store import Database, OrderRepo, SqlTraderStore
from hedgehog.store import leases as L
from hedgehog.store import traders as traders_module
from tests.naive.conftest import Harness, xrp_settings
from tests.store.conftest import pg_schema_url  # noqa: F401 (the fixture)

C, S = "zoo", "XRPUSDT"


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class HarnessTrading:
    """A node's `Trading` on the naive test harness (chunks=1: one trader)."""

    def __init__(self, h: Harness) -> None:
        self.h, self.started, self.stopped = h, 0, 0

    async def start_trading(self, symbol: str) -> None:
        self.started += 1
        await self.h.naive.start_trading(symbol, xrp_settings(chunks=1))
        await self.h.rt.quiesce()

    async def stop_trading(self, symbol: str) -> None:
        self.stopped += 1
        await stop_locally(self.h.naive, symbol)
        await self.h.rt.quiesce()


class Node:
    def __init__(self, name: str, url: str, h: Harness, symbols: list[str], ttl: float = 30.0):
        self.db = Database(url)
        self.h, self.clock = h, Clock()
        self.store = SqlTraderStore(self.db)
        h.ctx.store = self.store
        self.trading = HarnessTrading(h)
        self.symbols = symbols

        async def wanted() -> list[str]:
            return list(self.symbols)

        self.co = Coordinator(self.db, C, name, self.trading, wanted, ttl=ttl, clock=self.clock)
        attach(h.naive, self.co)

    async def close(self) -> None:
        await self.h.rt.shutdown()
        await self.h.rt.quiesce()
        await self.db.close()


@contextlib.asynccontextmanager
async def two_nodes(
    url: str, symbols: list[str], url_a: str | None = None
) -> AsyncIterator[tuple[Node, Node]]:
    setup = Database(url)
    await setup.migrate()
    await setup.close()
    ha, hb = Harness(Runtime()), Harness(Runtime())
    hb.engine = ha.engine  # one exchange for both nodes
    hb.exchange = hb.ctx.exchange = PaperExchange(ha.engine, hb.pubsub.broadcast)
    for h in (ha, hb):
        await h.naive.start()
    a, b = Node("a", url_a or url, ha, symbols), Node("b", url, hb, symbols)
    try:
        yield a, b
    finally:
        for node in (a, b):
            await node.close()


async def expire(db: Database, symbol: str = S) -> None:
    """The lease's expiry moved into the past: the database's clock went on past it."""
    sql = (
        "UPDATE symbol_leases SET expires_at = clock_timestamp() - interval '1 second' "
        "WHERE symbol = :s"
    )
    await db.run(lambda s: s.execute(text(sql), {"s": symbol}))


@pytest.mark.parametrize("mutant", [False, True], ids=["fenced", "mutant-without-check"])
async def test_a_paused_node_places_nothing_after_a_takeover(
    pg_schema_url: str,  # noqa: F811
    mutant: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if mutant:
        monkeypatch.setattr(traders_module, "check_fence", lambda session, fence: None)
    async with two_nodes(pg_schema_url, [S]) as (a, b):
        await a.co.tick()
        assert {s: h.fence.epoch for s, h in a.co.held.items()} == {S: 1}
        assert a.h.running() and len(a.h.traders()) == 1
        (tid,) = a.h.traders()

        await expire(a.db)  # A is paused: no renewal, its clock stands still
        await b.co.tick()
        assert {s: h.fence.epoch for s, h in b.co.held.items()} == {S: 2}
        assert list(b.h.traders()) == [tid], "B recovers A's trader from the store"

        # A wakes up before its coordinator does: its trader sees a trade and wants to buy
        await a.h.trade("1.0000")
        orders = await OrderRepo(b.db).all(S)
        if mutant:  # without the check A's intent is written and its order placed: caught
            assert len(a.h.ledger()) == 1 and len(orders) == 1
            a.h.rt.errors.clear()
            return
        assert a.h.ledger() == [], "A placed an order after losing its lease"
        assert orders == [], "A wrote an intent after losing its lease"
        a.h.rt.errors.clear()  # the fenced write is logged as an error, as it should be

        await a.co.tick()  # A's coordinator wakes: the lease is gone, its traders stop
        assert a.co.held == {} and not a.h.running() and a.trading.stopped == 1
        await b.h.fill("1.0000")
        await b.h.trade("1.0000")  # B's trader buys, once
        placed = b.h.by_client_id()
        assert len(placed) == 1
        assert [o.client_order_id for o in await OrderRepo(b.db).all(S)] == list(placed)
        events = await b.db.run(partial(L.events, cluster=C))
        assert [(e["from_node"], e["to_node"], e["epoch"], e["reason"]) for e in events] == [
            (None, "a", 1, "acquired"),
            ("a", "b", 2, "expired-takeover"),
        ]


class Proxy:
    """A TCP proxy to PostgreSQL that the test can cut (the database gone for one node)."""

    def __init__(self, host: str, port: int) -> None:
        self.target, self.server, self.port = (host, port), None, 0
        self.pipes: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in list(self.pipes):
            w.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        r2, w2 = await asyncio.open_connection(*self.target)
        self.pipes |= {writer, w2}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, w2), pump(r2, writer))


async def test_a_node_without_its_database_self_fences_then_resumes(
    pg_schema_url: str,  # noqa: F811
) -> None:
    u = make_url(pg_schema_url)
    proxy = Proxy(u.host or "127.0.0.1", u.port or 5432)
    await proxy.open()
    via_proxy = u.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    async with two_nodes(pg_schema_url, [S], url_a=via_proxy) as (a, _b):
        await a.co.tick()
        assert a.h.running() and a.co.may_send(S)
        await proxy.cut()
        with pytest.raises(Exception, match="database"):
            await a.co.tick()  # the renewal cannot reach the database
        a.clock.now += a.co.ttl - a.co.margin  # the local deadline, before the lease's expiry
        assert await a.co.expire_overdue() == [S]  # the watchdog: no database needed
        assert not a.h.running() and not a.co.may_send(S)
        await a.h.trade("1.0000")
        assert a.h.ledger() == [], "nothing placed without a durable intent"
        await proxy.open()  # the database is back (same port)
        await a.co.tick()
        assert {s: h.fence.epoch for s, h in a.co.held.items()} == {S: 2}
        assert a.h.running() and a.trading.started == 2
        a.h.rt.errors.clear()
        await a.db.close()  # its connections through the proxy, before the proxy goes
    await proxy.cut()


async def test_a_joining_node_gets_half_the_symbols(pg_schema_url: str) -> None:  # noqa: F811
    symbols = ["BTCUSDT", "XRPUSDT"]
    async with two_nodes(pg_schema_url, symbols) as (a, b):
        a.trading.start_trading = b.trading.start_trading = _noop  # type: ignore[method-assign]
        await a.co.tick()
        assert sorted(a.co.held) == symbols  # alone: all of them
        await b.co.tick()
        assert b.co.held == {}, "B takes nothing A holds"
        await a.co.tick()  # A sees two live nodes: share 1, gives one up cleanly
        await b.co.tick()
        assert len(a.co.held) == len(b.co.held) == 1
        assert set(a.co.held) | set(b.co.held) == set(symbols)
        held = await a.db.run(partial(L.holders, cluster=C))
        assert sorted((h.node, h.epoch) for h in held) == [("a", 1), ("b", 2)]
        (mine,) = a.co.held
        a.symbols.remove(mine)  # switched off in the store: given up, not another one
        await a.co.tick()
        assert a.co.held == {} and len(b.co.held) == 1


async def _noop(symbol: str) -> None:
    return None


@pytest.mark.parametrize("guarded", [True, False], ids=["guarded", "mutant-without-may-send"])
async def test_an_intent_stored_before_the_deadline_is_not_sent_after_it(
    pg_schema_url: str,  # noqa: F811
    guarded: bool,
) -> None:
    """A's trader restarts with a PENDING buy it stored under its lease (the order never
    sent); its local deadline has passed (the watchdog has not run yet): the recovery, which
    sends a PENDING intent the exchange does not know, holds it back (`may_send`)."""
    from tests.store.conftest import trader
    from tests.store.test_traders import _with_buy

    async with two_nodes(pg_schema_url, [S]) as (a, _b):
        a.trading.start_trading = _noop  # type: ignore[method-assign]
        await a.co.tick()
        await a.store.save(_with_buy(trader(1)))  # the intent, under epoch 1
        sent: list[str] = []

        async def place(*args: object, **kwargs: object) -> None:
            sent.append(str(args[-1]))
            raise AssertionError("sent")

        a.h.exchange.place_limit_order = place  # type: ignore[method-assign]
        a.clock.now += a.co.ttl  # past the local deadline; the watchdog has not run
        if not guarded:
            a.h.ctx.may_send = None
        await a.h.naive.start_trading(S, xrp_settings(chunks=1))
        await a.h.rt.quiesce()
        assert (sent != []) is not guarded
        a.h.rt.errors.clear()
