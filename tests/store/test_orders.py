"""`OrderRepo`: the order ledger, upserted by client order id, moving only forward."""

from __future__ import annotations

from decimal import Decimal

from hedgehog.core.types import Order, OrderStatus, Side
from hedgehog.store import Database, OrderRepo


def _order(
    cid: str,
    status: OrderStatus,
    executed: str = "0",
    symbol: str = "XRPUSDT",
    side: Side = Side.BUY,
) -> Order:
    price = Decimal("0.43178")
    return Order(
        order_id=1000 + ord(cid[0]),
        client_order_id=cid,
        symbol=symbol,
        side=side,
        price=price,
        orig_qty=Decimal("463.1"),
        executed_qty=Decimal(executed),
        cumulative_quote_qty=price * Decimal(executed),
        status=status,
    )


async def test_upsert_inserts_then_moves_forward(db: Database) -> None:
    repo = OrderRepo(db)
    await repo.upsert(_order("A", OrderStatus.NEW), trader_id="3")
    await repo.upsert(_order("A", OrderStatus.PARTIALLY_FILLED, "100"))
    row = await repo.by_client_id("A")
    assert row is not None
    assert (row.status, row.executed_qty, row.trader_id) == ("PARTIALLY_FILLED", Decimal(100), "3")
    assert row.cumulative_quote_qty == Decimal("43.178")
    assert row.exchange_order_id == _order("A", OrderStatus.NEW).order_id
    await repo.upsert(_order("A", OrderStatus.FILLED, "463.1"))
    await repo.upsert(_order("A", OrderStatus.NEW))  # a late, older report changes nothing
    await repo.upsert(_order("A", OrderStatus.PARTIALLY_FILLED, "200"))
    row = await repo.by_client_id("A")
    assert row is not None
    assert (row.status, row.executed_qty, row.trader_id) == ("FILLED", Decimal("463.1"), "3")
    assert row.updated_at >= row.created_at
    assert await repo.by_client_id("nope") is None


async def test_all_and_open(db: Database) -> None:
    repo = OrderRepo(db)
    await repo.upsert(_order("A", OrderStatus.NEW))
    await repo.upsert(_order("B", OrderStatus.FILLED, "463.1", side=Side.SELL))
    await repo.upsert(_order("C", OrderStatus.PARTIALLY_FILLED, "1", symbol="BTCUSDT"))
    await repo.upsert(_order("D", OrderStatus.CANCELED))
    assert [o.client_order_id for o in await repo.all()] == ["A", "B", "C", "D"]
    assert [o.client_order_id for o in await repo.all("XRPUSDT")] == ["A", "B", "D"]
    assert [o.client_order_id for o in await repo.open()] == ["A", "C"]
    assert [o.client_order_id for o in await repo.open("BTCUSDT")] == ["C"]
    assert all(o.is_open for o in await repo.open())
    [sell] = [o for o in await repo.all() if o.side == Side.SELL]
    assert sell.client_order_id == "B"
