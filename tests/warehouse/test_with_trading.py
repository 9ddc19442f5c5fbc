"""The warehouse beside the naive system on the paper exchange: it records the session's
orders exactly as the exchange's ledger has them, and an unreachable database changes nothing
about trading."""

from __future__ import annotations

from decimal import Decimal as D

from hedgehog.core.types import Order
from hedgehog.store import Database, OrderRepo, TradeEventRepo
from hedgehog.warehouse import Warehouse
from tests.naive.conftest import Harness, open_harness, xrp_settings

PRICES = ("1.0", "0.99", "0.93", "0.95", "0.9405", "0.9929", "1.01", "0.999")
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/test"  # nothing listens on port 1


async def trade_a_session(h: Harness) -> list[tuple[str, str, D, D, str]]:
    """Three traders through buys, a rebuy and sells; the exchange's ledger, in short."""
    await h.naive.start_trading("XRPUSDT", xrp_settings(3))
    await h.rt.quiesce()
    for price in PRICES:
        await h.trade(price)
    return view(h.ledger())


def view(orders: list[Order]) -> list[tuple[str, str, D, D, str]]:
    return [
        (o.client_order_id, o.side.value, o.price, o.executed_qty, o.status.value) for o in orders
    ]


async def test_records_the_sessions_orders_and_trades(db: Database) -> None:
    async with open_harness() as h:
        warehouse = Warehouse(h.rt, h.pubsub, db)
        await warehouse.start()
        await warehouse.start_recording("ORDERS:XRPUSDT")
        await warehouse.start_recording("TRADE_EVENTS:XRPUSDT")
        ledger = await trade_a_session(h)
        status = await warehouse.flush()
    assert len(ledger) >= 5 and any(st == "FILLED" for *_, st in ledger)
    recorded = await OrderRepo(db).all("XRPUSDT")
    assert [
        (o.client_order_id, o.side.value, o.price, o.executed_qty, o.status) for o in recorded
    ] == ledger
    assert status["ORDERS:XRPUSDT"]["errors"] == 0
    assert await TradeEventRepo(db).count("XRPUSDT") == len(PRICES)


async def test_trading_is_the_same_when_the_database_is_unreachable() -> None:
    async with open_harness() as h:
        expected = await trade_a_session(h)
    unreachable = Database(UNREACHABLE)
    try:
        async with open_harness() as h:
            topics = ["ORDERS:XRPUSDT", "TRADE_EVENTS:XRPUSDT"]
            warehouse = Warehouse(h.rt, h.pubsub, unreachable, topics=topics)
            await warehouse.start()  # starts the topics it was given
            assert await trade_a_session(h) == expected
            status = await warehouse.flush()
            assert all(s["running"] and s["errors"] >= 1 for s in status.values()), status
            assert status["TRADE_EVENTS:XRPUSDT"]["buffered"] == len(PRICES)
            assert "cannot reach the database" in status["ORDERS:XRPUSDT"]["last_error"]
    finally:
        await unreachable.close()
