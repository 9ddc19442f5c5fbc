"""`TradeEventRepo`: recorded public trades (the warehouse), read back for backtests.

Inserts are idempotent (a trade already stored, by symbol and trade id, is skipped: a trade
never changes) and batched; reads return a symbol's trades in (trade time, trade id) order,
the order in which a backtest replays them.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hedgehog.core.types import TradeEvent
from hedgehog.store.db import Database
from hedgehog.store.errors import CorruptRow
from hedgehog.store.models import TradeEventRow, parse_dec

BATCH = 10_000
_COLUMNS = ("symbol", "trade_id", "price", "quantity", "trade_time", "buyer_market_maker")


class TradeEventRepo:
    def __init__(self, db: Database, batch: int = BATCH) -> None:
        self.db = db
        self.batch = batch

    async def insert_many(self, trades: Iterable[TradeEvent]) -> None:
        """Store trades (all in one transaction), skipping those already stored."""
        await self.db.run(lambda session: self._insert(session, iter(trades)))

    async def query(
        self, symbol: str, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[TradeEvent]:
        """The symbol's trades with start_ms <= trade_time < end_ms, by (time, trade id)."""
        return await self.db.run(lambda session: _query(session, symbol, start_ms, end_ms))

    async def count(self, symbol: str | None = None) -> int:
        def read(session: Session) -> int:
            query = select(func.count()).select_from(TradeEventRow)
            if symbol is not None:
                query = query.where(TradeEventRow.symbol == symbol)
            return int(session.scalar(query) or 0)

        return await self.db.run(read)

    def _insert(self, session: Session, trades: Any) -> None:
        # The driver's executemany with plain tuples: four times faster than a Core insert
        # of dicts (~350k rows/s on SQLite). The SQL is the same on SQLite and PostgreSQL.
        connection = session.connection()
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        statement = (
            f"INSERT INTO {TradeEventRow.__tablename__} ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join([mark] * len(_COLUMNS))}) "
            "ON CONFLICT (symbol, trade_id) DO NOTHING"
        )
        while batch := list(islice(trades, self.batch)):
            rows = [
                (
                    t.symbol,
                    t.trade_id,
                    format(t.price, "f"),
                    format(t.quantity, "f"),
                    t.trade_time,
                    bool(t.buyer_market_maker),
                )
                for t in batch
            ]
            connection.exec_driver_sql(statement, rows)


def _query(
    session: Session, symbol: str, start_ms: int | None, end_ms: int | None
) -> list[TradeEvent]:
    t = TradeEventRow
    query = select(t.trade_id, t.price, t.quantity, t.trade_time, t.buyer_market_maker).where(
        t.symbol == symbol
    )
    if start_ms is not None:
        query = query.where(t.trade_time >= start_ms)
    if end_ms is not None:
        query = query.where(t.trade_time < end_ms)
    rows = session.execute(query.order_by(t.trade_time, t.trade_id)).all()
    try:
        return [
            TradeEvent(symbol, trade_id, Decimal(price), Decimal(qty), time, bool(maker))
            for trade_id, price, qty, time, maker in rows
        ]
    except (InvalidOperation, ValueError, TypeError):
        for trade_id, price, qty, *_ in rows:  # find the culprit for a clear message
            where = f"trade_events row {symbol}/{trade_id}"
            parse_dec(price, f"{where}: column price")
            parse_dec(qty, f"{where}: column quantity")
        raise CorruptRow(f"trade_events of {symbol}: a row cannot be read") from None
