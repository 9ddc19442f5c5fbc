"""The order ledger (`orders`): one row per client order id, traders' and warehouse's alike.

A trader's save writes each of its orders here in the same transaction as its state: first
the intent (status PENDING, before the exchange call), then whatever the exchange answers.
The warehouse records the exchange's order updates into the same rows (`OrderRepo.upsert`),
so there is one ledger and no second table to reconcile.

Rows only move forward: PENDING -> NEW -> PARTIALLY_FILLED -> a final status (FILLED,
CANCELED, REJECTED, EXPIRED), and the executed quantity never shrinks. A late, older report
(a trader's state saved after the warehouse recorded the fill) does not undo a newer one;
it can still fill in what the row lacks (the exchange's order id, the trader id).

A trader's intent row also notes when it was committed (`intent_committed_at_ns`,
`time.time_ns()` taken in the committing transaction, just before the commit), so that an
audit can prove each order reached the exchange after its intent was durable (`bench/chaos.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hedgehog.core.types import Order, OrderStatus, Side
from hedgehog.naive.strategy import PENDING, OrderRef
from hedgehog.store.db import Database
from hedgehog.store.errors import CorruptRow
from hedgehog.store.models import OrderRow, dec_text, parse_dec, utcnow

OPEN_STATUSES = (PENDING, OrderStatus.NEW.value, OrderStatus.PARTIALLY_FILLED.value)
_RANK = {status: rank for rank, status in enumerate(OPEN_STATUSES)}  # final statuses rank 3


@dataclass(frozen=True, slots=True)
class LedgerOrder:
    """One row of the order ledger."""

    client_order_id: str
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    executed_qty: Decimal
    status: str  # PENDING or an OrderStatus value
    exchange_order_id: int | None
    cumulative_quote_qty: Decimal | None
    trader_id: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class OrderRepo:
    """Reads and writes of the order ledger."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(self, order: Order, trader_id: str | None = None) -> None:
        """Record the exchange's view of an order (insert, or move its row forward)."""
        await self.db.run(partial(write_order, values=order_values(order, trader_id)))

    async def by_client_id(self, client_order_id: str) -> LedgerOrder | None:
        def read(session: Session) -> LedgerOrder | None:
            row = session.scalar(
                select(OrderRow).where(OrderRow.client_order_id == client_order_id)
            )
            return None if row is None else _from_row(row)

        return await self.db.run(read)

    async def all(self, symbol: str | None = None) -> list[LedgerOrder]:
        """Every order (of `symbol`), oldest first."""
        return await self.db.run(partial(_select, symbol=symbol, open_only=False))

    async def open(self, symbol: str | None = None) -> list[LedgerOrder]:
        """Orders whose outcome is not final yet (PENDING, NEW, PARTIALLY_FILLED)."""
        return await self.db.run(partial(_select, symbol=symbol, open_only=True))


def ref_values(symbol: str, trader_id: str, ref: OrderRef) -> dict[str, Any]:
    """Ledger values of a trader's `OrderRef` (its intent, or what the exchange answered)."""
    return {
        "client_order_id": ref.client_order_id,
        "exchange_order_id": ref.order_id,
        "symbol": symbol,
        "side": ref.side.value,
        "price": dec_text(ref.price),
        "quantity": dec_text(ref.quantity),
        "executed_qty": dec_text(ref.executed_qty),
        "cumulative_quote_qty": None,
        "status": ref.status,
        "trader_id": trader_id,
    }


def order_values(order: Order, trader_id: str | None = None) -> dict[str, Any]:
    """Ledger values of an exchange `Order`."""
    return {
        "client_order_id": order.client_order_id,
        "exchange_order_id": order.order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "price": dec_text(order.price),
        "quantity": dec_text(order.orig_qty),
        "executed_qty": dec_text(order.executed_qty),
        "cumulative_quote_qty": dec_text(order.cumulative_quote_qty),
        "status": order.status.value,
        "trader_id": trader_id,
    }


_NULLABLE = ("exchange_order_id", "cumulative_quote_qty", "trader_id")
_CORE = ("symbol", "side", "price", "quantity", "executed_qty", "status")


def write_order(session: Session, values: dict[str, Any]) -> None:
    """Insert the order, or move its row forward (never back); inside the caller's transaction."""
    cid = values["client_order_id"]
    row = session.scalar(select(OrderRow).where(OrderRow.client_order_id == cid).with_for_update())
    intent = values["status"] == PENDING  # a trader's intent, written before the exchange call
    if row is None:
        stamp = time.time_ns() if intent else None
        session.add(OrderRow(**values, intent_committed_at_ns=stamp))
        session.flush()
        return
    if intent and row.intent_committed_at_ns is None:
        row.intent_committed_at_ns = time.time_ns()
    if _is_newer(values, row):
        for name in _CORE:
            setattr(row, name, values[name])
    for name in _NULLABLE:
        if values[name] is not None and (getattr(row, name) is None or _is_newer(values, row)):
            setattr(row, name, values[name])
    row.updated_at = utcnow()
    session.flush()


def close_dropped(session: Session, client_order_id: str) -> None:
    """A trader dropped this order from its state: close its row if it is still open.

    The strategy drops an order only when the exchange refused it (a PENDING buy: REJECTED)
    or reported it cancelled, expired or rejected before any fill (recorded as CANCELED; the
    warehouse, when it records order updates, writes the exact final status).
    """
    row = session.scalar(
        select(OrderRow).where(OrderRow.client_order_id == client_order_id).with_for_update()
    )
    if row is None or row.status not in OPEN_STATUSES:
        return
    final = OrderStatus.REJECTED if row.status == PENDING else OrderStatus.CANCELED
    row.status = final.value
    row.updated_at = utcnow()
    session.flush()


def _is_newer(values: dict[str, Any], row: OrderRow) -> bool:
    new_rank = _RANK.get(values["status"], len(_RANK))
    old_rank = _RANK.get(row.status, len(_RANK))
    if new_rank != old_rank:
        return new_rank > old_rank
    where = f"orders row {row.client_order_id}: column executed_qty"
    return parse_dec(values["executed_qty"], where) >= parse_dec(row.executed_qty, where)


def _select(session: Session, symbol: str | None, open_only: bool) -> list[LedgerOrder]:
    query = select(OrderRow).order_by(OrderRow.id)
    if symbol is not None:
        query = query.where(OrderRow.symbol == symbol)
    if open_only:
        query = query.where(OrderRow.status.in_(OPEN_STATUSES))
    return [_from_row(row) for row in session.scalars(query)]


def _from_row(row: OrderRow) -> LedgerOrder:
    def dec(column: str) -> Decimal:
        return parse_dec(getattr(row, column), f"orders row {row.client_order_id}: column {column}")

    try:
        side = Side(row.side)
    except ValueError:
        raise CorruptRow(
            f"orders row {row.client_order_id}: column side holds {row.side!r}"
        ) from None
    quote = row.cumulative_quote_qty
    return LedgerOrder(
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        side=side,
        price=dec("price"),
        quantity=dec("quantity"),
        executed_qty=dec("executed_qty"),
        status=row.status,
        exchange_order_id=row.exchange_order_id,
        cumulative_quote_qty=None if quote is None else dec("cumulative_quote_qty"),
        trader_id=row.trader_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
