"""Crash-only across a whole node restart: the naive tree on `SqlTraderStore`, the node torn
down mid-cycle, a new node (new runtime, new database connection, same exchange) resumes the
traders from the database and finishes their cycles with no order lost or duplicated."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal as D
from pathlib import Path

from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import TradeEvent, trade_topic
from hedgehog.exchange.paper.engine import MatchingEngine
from hedgehog.exchange.paper.exchange import PaperExchange
from hedgehog.naive.api import Naive
from hedgehog.naive.context import NaiveContext
from hedgehog.naive.settings import TradingSettings
from hedgehog.runtime import Runtime
from hedgehog.runtime.pubsub import PubSub
from hedgehog.store import Database, OrderRepo, SqlTraderStore

XRP = SymbolFilters("XRPUSDT", "XRP", "USDT", D("0.0001"), D("0.1"), min_notional=D("1"))
SETTINGS = TradingSettings.parse(
    "XRPUSDT", chunks=2, budget="20", buy_down_interval="0.01", rebuy_interval="0.05"
)


class Node:
    """One life of a node: its runtime, pub/sub and store, on an exchange that outlives it."""

    def __init__(self, engine: MatchingEngine, db: Database) -> None:
        self.rt = Runtime()
        self.pubsub = PubSub(self.rt)
        self.exchange = PaperExchange(engine, self.pubsub.broadcast)
        self.db = db
        self.store = SqlTraderStore(db)
        ctx = NaiveContext(self.rt, self.pubsub, self.exchange, self.store)
        ctx.settings["XRPUSDT"] = SETTINGS
        self.naive = Naive(ctx)
        self.trade_ids = 0

    async def settle(self) -> None:
        """`rt.quiesce()`, and also wait for the database: quiesce alone gives up on callbacks
        suspended on real I/O (here the database's worker thread)."""
        for _ in range(1000):
            await self.rt.quiesce()
            if self.rt.scheduler.in_task == 0:
                return
            await self.db.call(lambda: None)  # everything queued before has been written
        raise AssertionError("the node never settled")

    async def start(self) -> None:
        await self.naive.start()
        await self.naive.start_trading("XRPUSDT")
        await self.settle()

    async def trade(self, price: str, trade_id: int) -> None:
        trade = TradeEvent("XRPUSDT", trade_id, D(price), D("100"), 1_000 * trade_id)
        self.exchange.process_trade(trade)
        await self.settle()
        self.pubsub.broadcast(trade_topic("XRPUSDT"), trade)
        await self.settle()

    async def stop(self) -> None:
        errors = list(self.rt.errors)
        await self.rt.shutdown()
        await self.rt.quiesce()
        assert errors == []


async def test_a_restarted_node_resumes_its_traders_from_the_database(
    db_url: str | None, data_dir: Path
) -> None:
    engine = MatchingEngine({"XRPUSDT": XRP}, keep_ledger=True)
    async with Database(db_url, data_dir) as db:
        await db.migrate()
        first = Node(engine, db)
        await first.start()
        await first.trade("1.0", 1)  # trader 1 buys at 0.99
        await first.trade("0.99", 2)  # filled: it sells at 0.9929
        await first.trade("0.93", 3)  # below 0.99 * 0.95: trader 1 asks for a rebuy
        await first.trade("0.93", 4)  # the new trader 2 buys at 0.9207
        await first.stop()  # the node goes down with both traders mid-cycle
    placed_before = [o.client_order_id for o in engine.ledger()]
    assert placed_before == ["XRPUSDT-1-0B", "XRPUSDT-1-0S", "XRPUSDT-2-0B"]

    async with Database(db_url, data_dir) as db:
        second = Node(engine, db)
        await second.start()  # loads traders 1 and 2, asks the exchange about their orders
        assert [s.trader_id for s in await SqlTraderStore(db).load("XRPUSDT")] == ["1", "2"]
        assert [o.client_order_id for o in engine.ledger()] == placed_before  # nothing again
        await second.trade("0.9207", 5)  # trader 2's buy fills: it places its sell
        await second.trade("0.9929", 6)  # both sells fill
        ledger = await OrderRepo(db).all("XRPUSDT")
        await second.stop()

    counts = Counter(o.client_order_id for o in engine.ledger())
    assert all(n == 1 for n in counts.values()), counts
    statuses = {o.client_order_id: o.status.value for o in engine.ledger()}
    assert statuses["XRPUSDT-1-0S"] == statuses["XRPUSDT-2-0S"] == "FILLED"
    assert len(statuses) == 6  # both cycles done; the fresh traders 3 and 4 are buying
    # the database's order ledger agrees with the exchange's, order by order
    assert {o.client_order_id: o.status for o in ledger} == statuses
