"""The risk book's durable part across a node restart (issue 13): the realised PnL of completed
cycles (once per cycle, also when a completion is replayed after a crash) and the halt with
the limits it was decided under, kept by `SqlTraderStore` (SQLite and PostgreSQL) and given
back when the new node's leader loads its symbol; migration 0004 up and down.

Settings (as tests/naive/test_risk_tree.py): 10 USDT per trader, buy 1% under the market,
profit 0.1%, rebuy 5% under the buy, fee 0.1%. A trade at 1.0 buys 10.1 at 0.99, which sells
at 0.9929: one completed cycle realises a few cents."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import TradeEvent, trade_topic
from hedgehog.exchange.paper.engine import MatchingEngine
from hedgehog.exchange.paper.exchange import PaperExchange
from hedgehog.naive.api import Naive
from hedgehog.naive.context import NaiveContext
from hedgehog.naive.risk import RiskBooks, SymbolRisk
from hedgehog.naive.settings import TradingSettings
from hedgehog.runtime import Runtime
from hedgehog.runtime.pubsub import PubSub
from hedgehog.store import Database, SettingsRepo, SqlTraderStore
from hedgehog.store.models import RiskBookRow, RiskRealisedRow

S = "XRPUSDT"
XRP = SymbolFilters(S, "XRP", "USDT", D("0.0001"), D("0.1"), min_notional=D("1"))


def settings(**values: object) -> TradingSettings:
    base: dict[str, object] = {
        "chunks": 3,
        "budget": "30",
        "buy_down_interval": "0.01",
        "profit_interval": "0.001",
        "rebuy_interval": "0.05",
        "fee": "0.001",
        "max_loss": "0.5",
    }
    return TradingSettings.parse(S, **(base | values))


class Node:
    """One life of a live node's tree on the database store, its risk books kept (as
    `LiveNode` wires them), on an exchange that outlives it."""

    def __init__(self, engine: MatchingEngine, db: Database, trading: TradingSettings) -> None:
        self.rt = Runtime()
        self.pubsub = PubSub(self.rt)
        self.exchange = PaperExchange(engine, self.pubsub.broadcast)
        self.db = db
        self.store = SqlTraderStore(db)
        self.ctx = NaiveContext(self.rt, self.pubsub, self.exchange, self.store)
        assert isinstance(self.ctx.risk, RiskBooks)
        self.store.keep_risk(self.ctx.risk)
        self.ctx.settings[S] = trading
        self.naive = Naive(self.ctx)

    @property
    def book(self) -> SymbolRisk:
        return self.ctx.risk[S]

    async def settle(self) -> None:
        for _ in range(1000):
            await self.rt.quiesce()
            await self.store.drain()
            if self.rt.scheduler.in_task == 0:
                return
            await self.db.call(lambda: None)
        raise AssertionError("the node never settled")

    async def start(self) -> None:
        await self.naive.start()
        await self.naive.start_trading(S)
        await self.settle()

    async def trade(self, price: str, trade_id: int) -> None:
        trade = TradeEvent(S, trade_id, D(price), D("100"), 1_000 * trade_id)
        self.exchange.process_trade(trade)
        await self.settle()
        self.pubsub.broadcast(trade_topic(S), trade)
        await self.settle()

    async def stop(self) -> None:
        errors = list(self.rt.errors)
        await self.rt.shutdown()
        await self.rt.quiesce()
        await self.store.drain()
        assert errors == []


def rows(session: Session) -> dict[str, Any]:
    books = {r.symbol: (r.limits, r.halted) for r in session.query(RiskBookRow)}
    realised = {(r.symbol, r.trader_id): r.pnl for r in session.query(RiskRealisedRow)}
    return {"books": books, "realised": realised}


async def one_cycle(node: Node) -> None:
    await node.trade("1.0", 1)  # trader 1 buys at 0.99
    await node.trade("0.99", 2)  # filled: it sells at 0.9929
    await node.trade("0.9929", 3)  # filled: its cycle is complete


async def test_the_realised_pnl_of_a_completed_cycle_survives_a_restart(
    db_url: str | None, data_dir: Path
) -> None:
    engine = MatchingEngine({S: XRP}, keep_ledger=True)
    async with Database(db_url, data_dir) as db:
        await db.migrate()
        first = Node(engine, db, settings())
        await first.start()
        await one_cycle(first)
        before = first.book.info()
        assert D(before["realised_pnl"]) > 0 and before["halted"] is None
        stored = await db.run(rows)
        assert stored["realised"] == {(S, "1"): str(first.book.realised["1"])}
        assert stored["books"] == {S: (first.book.limits(), None)}
        await first.stop()

    async with Database(db_url, data_dir) as db:
        second = Node(engine, db, settings())
        await second.start()
        assert second.book.info() == before
        await second.stop()


async def test_a_completion_replayed_after_a_crash_is_counted_once(
    db_url: str | None, data_dir: Path
) -> None:
    """The node dies after the "done" state is stored and before its leader removes it: the
    new node's trader starts from that state and tells the book again."""
    engine = MatchingEngine({S: XRP}, keep_ledger=True)
    async with Database(db_url, data_dir) as db:
        await db.migrate()
        first = Node(engine, db, settings())

        async def crash_before_remove(symbol: str, trader_id: str) -> None:
            return None

        first.store.remove = crash_before_remove  # type: ignore[method-assign]
        await first.start()
        await one_cycle(first)
        realised = first.book.realised_pnl
        assert realised > 0
        await first.stop()
        states = await SqlTraderStore(db).load(S)
        assert (states[0].trader_id, states[0].phase) == ("1", "done")  # and its replacement

    async with Database(db_url, data_dir) as db:
        second = Node(engine, db, settings())
        await second.start()  # trader 1 restarts done, tells the book, and is removed
        assert second.book.realised_pnl == realised
        assert "1" not in [s.trader_id for s in await SqlTraderStore(db).load(S)]
        assert len((await db.run(rows))["realised"]) == 1
        await second.stop()

    async with Database(db_url, data_dir) as db:
        third = Node(engine, db, settings())
        await third.start()
        assert third.book.realised_pnl == realised
        await third.stop()


async def halted_node(engine: MatchingEngine, db: Database, **values: object) -> Node:
    node = Node(engine, db, settings(**values))
    await node.start()
    await node.trade("1.0", 1)  # trader 1 buys 10.1 at 0.99
    await node.trade("0.99", 2)  # filled: it holds them, its sell at 0.9929
    await node.trade("0.93", 3)  # 10.1 at 0.93 is 0.6 under: halted (max_loss 0.5)
    assert node.book.halted is not None and node.book.halted["trade_id"] == 3
    return node


async def test_a_halt_survives_a_restart_under_the_same_limits(
    db_url: str | None, data_dir: Path
) -> None:
    engine = MatchingEngine({S: XRP}, keep_ledger=True)
    async with Database(db_url, data_dir) as db:
        await db.migrate()
        first = await halted_node(engine, db)
        before = first.book.info()
        assert (await db.run(rows))["books"] == {S: (first.book.limits(), before["halted"])}
        await first.stop()
    placed = [o.client_order_id for o in engine.ledger()]

    async with Database(db_url, data_dir) as db:
        second = Node(engine, db, settings())
        await second.start()
        assert second.book.info() == before
        await second.trade("0.95", 4)  # no longer below the threshold: still halted
        await second.trade("0.9", 5)
        assert [o.client_order_id for o in engine.ledger()] == placed  # no buy after the halt
        await second.stop()


async def test_a_halt_goes_with_the_state_stored_after_it(
    db_url: str | None, data_dir: Path
) -> None:
    """At 0.93 trader 1 asks for a rebuy (a new state stored): the halt decided on that trade
    is written in the same transaction, without the book's own write (its hook off here)."""
    engine = MatchingEngine({S: XRP}, keep_ledger=True)
    async with Database(db_url, data_dir) as db:
        await db.migrate()
        node = Node(engine, db, settings())
        assert isinstance(node.ctx.risk, RiskBooks)
        node.ctx.risk.on_change = None  # no write but the traders'
        await node.start()
        await node.trade("1.0", 1)
        await node.trade("0.99", 2)
        version = node.store.version(S, "1")
        await node.trade("0.93", 3)
        assert node.book.halted is not None
        assert node.store.version(S, "1") == (version or 0) + 1  # its rebuy request stored
        assert (await db.run(rows))["books"] == {S: (node.book.limits(), node.book.halted)}
        await node.stop()


async def test_other_limits_at_restart_judge_afresh_and_off_forgets(
    db_url: str | None, data_dir: Path
) -> None:
    engine = MatchingEngine({S: XRP}, keep_ledger=True)
    async with Database(db_url, data_dir) as db:
        await db.migrate()
        first = await halted_node(engine, db)
        await first.stop()

    async with Database(db_url, data_dir) as db:
        second = Node(engine, db, settings(max_loss="5"))
        await second.start()
        assert second.book.halted is None  # other limits: judged afresh
        assert (await db.run(rows))["books"] == {S: (second.book.limits(), None)}
        await second.stop()

    async with Database(db_url, data_dir) as db:
        third = Node(engine, db, settings())  # the first limits again: the halt was lifted
        await third.start()
        assert third.book.halted is None
        await third.stop()

    async with Database(db_url, data_dir) as db:
        fourth = Node(engine, db, settings(max_loss=None))
        await fourth.start()
        assert S not in fourth.ctx.risk
        await fourth.settle()
        assert await db.run(rows) == {"books": {}, "realised": {}}
        await fourth.stop()


async def test_a_memory_store_keeps_nothing_and_no_hook_is_set() -> None:
    from hedgehog.naive.store import MemoryTraderStore

    rt = Runtime()
    ctx = NaiveContext(rt, PubSub(rt), PaperExchange(MatchingEngine({S: XRP}), lambda *a: None))
    assert isinstance(ctx.store, MemoryTraderStore)
    assert isinstance(ctx.risk, RiskBooks) and ctx.risk.on_change is None


# -- migration 0004 ---------------------------------------------------------------------------
WHEN = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


async def test_migration_0004_adds_the_risk_tables_keeps_the_rest_and_goes_down(
    db_url: str | None, data_dir: Path
) -> None:
    async with Database(db_url, data_dir) as db:
        await db.migrate("0003")
        await SettingsRepo(db).set(S, "naive", {"chunks": 2, "budget": "50"}, XRP)
        await SettingsRepo(db).set_status(S, "on")
        tables = await db.call(lambda: set(inspect(db.engine).get_table_names()))
        assert not {"risk_books", "risk_realised"} & tables

        await db.migrate("0004")
        assert await db.revision() == "0004"
        row = await SettingsRepo(db).get(S)
        assert (row.settings.chunks, row.status) == (2, "on")
        book = SymbolRisk(S, D("5"), D("0.001"))
        book.configure(D("5"), D("0.001"), False)
        book.halted = {"trade_id": 7, "reason": "max loss 5 reached"}

        def write(session: Session) -> None:
            session.add(RiskRealisedRow(symbol=S, trader_id="r_1", pnl="0.0123"))
            session.add(RiskBookRow(symbol=S, limits=book.limits(), halted=book.halted))

        await db.run(write)
        assert await db.run(rows) == {
            "books": {S: (book.limits(), book.halted)},
            "realised": {(S, "r_1"): "0.0123"},
        }

        await db.downgrade("0003")
        assert await db.revision() == "0003"
        tables = await db.call(lambda: set(inspect(db.engine).get_table_names()))
        assert not {"risk_books", "risk_realised"} & tables
        count = await db.run(
            lambda s: s.execute(text("SELECT count(*) FROM trading_settings")).scalar()
        )
        assert count == 1
        await db.migrate()  # and up again, empty
        assert await db.run(rows) == {"books": {}, "realised": {}}
        assert (await SettingsRepo(db).get(S)).status == "on"
