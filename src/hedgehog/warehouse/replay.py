"""Recorded trades back out of the database, as a `TradeTable` for backtests
(`hedgehog backtest --from-db SYMBOL --from DAY --to DAY`).

Rows are streamed from the database in chunks and converted straight into the table's int64
columns (prices and quantities from their stored text, exactly, as the file loaders do), so a
month of trades never exists as millions of `TradeEvent` objects. Recorded trades have no event
time of their own; the table's time is the trade time, as for Binance's public-data files.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hedgehog.core.symbols import normalize_symbol
from hedgehog.market.tables import IntArray, TradeTable, to_units
from hedgehog.store.db import Database
from hedgehog.store.errors import CorruptRow
from hedgehog.store.models import TradeEventRow

CHUNK = 100_000  # rows fetched and converted at a time
_DEC = r"^[0-9]+(\.[0-9]{1,8})?$"  # what converts exactly into 1e-8 units


async def load_recorded(
    db: Database, symbol: str, start_ms: int | None = None, end_ms: int | None = None
) -> TradeTable:
    """The symbol's recorded trades with start_ms <= trade_time < end_ms, in replay order
    (trade time, then trade id). `CorruptRow` names a row whose price or quantity cannot be
    read exactly."""
    symbol = normalize_symbol(symbol)
    return await db.run(partial(_read, symbol=symbol, start_ms=start_ms, end_ms=end_ms))


async def recorded_span(db: Database, symbol: str) -> tuple[int, int] | None:
    """(first, last) trade time recorded for the symbol, in ms; None if it has no trades."""
    symbol = normalize_symbol(symbol)

    def read(session: Session) -> tuple[int, int] | None:
        t = TradeEventRow
        first, last = session.execute(
            select(func.min(t.trade_time), func.max(t.trade_time)).where(t.symbol == symbol)
        ).one()
        return None if first is None else (int(first), int(last))

    return await db.run(read)


def _read(session: Session, symbol: str, start_ms: int | None, end_ms: int | None) -> TradeTable:
    # Read from the driver's own cursor, CHUNK rows at a time: SQLAlchemy's row objects would
    # cost more than everything else here. On PostgreSQL the cursor is a server-side one, so
    # the rows stream instead of arriving all at once.
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (
        "SELECT trade_id, price, quantity, trade_time, buyer_market_maker "
        f"FROM {TradeEventRow.__tablename__} WHERE symbol = {mark}"
    )
    params: list[Any] = [symbol]
    if start_ms is not None:
        sql += f" AND trade_time >= {mark}"
        params.append(start_ms)
    if end_ms is not None:
        sql += f" AND trade_time < {mark}"
        params.append(end_ms)
    sql += " ORDER BY trade_time, trade_id"
    raw = connection.connection
    if connection.dialect.name == "postgresql":
        cursor = raw.driver_connection.cursor(name="hedgehog_replay")  # type: ignore[union-attr]
    else:
        cursor = raw.cursor()
    parts = []
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK):
            parts.append(_columns(symbol, rows))
    finally:
        cursor.close()
    if not parts:
        return TradeTable.empty(symbol)
    return TradeTable(symbol, *(np.concatenate([p[i] for p in parts]) for i in range(5)))


def _columns(symbol: str, rows: Any) -> tuple[IntArray, IntArray, IntArray, IntArray, Any]:
    trade_ids, prices, qtys, times, makers = zip(*rows, strict=True)
    ids = np.array(trade_ids, dtype=np.int64)
    return (
        ids,
        _units(symbol, ids, prices, "price"),
        _units(symbol, ids, qtys, "quantity"),
        np.array(times, dtype=np.int64),
        np.array(makers, dtype=np.bool_),  # SQLite gives 0/1
    )


def _units(symbol: str, ids: IntArray, texts: Sequence[str], column: str) -> IntArray:
    """Decimal text -> exact int64 1e-8 units, vectorised; `CorruptRow` for the first bad one."""
    raw = pl.Series(texts, dtype=pl.String)
    units = raw.cast(pl.Decimal(19, 8), strict=False).to_physical().cast(pl.Int64, strict=False)
    ok = (raw.str.contains(_DEC) & (units > 0)).fill_null(False)
    if not ok.all():
        i = int(ok.arg_min() or 0)
        text = texts[i]
        where = f"trade_events row {symbol}/{int(ids[i])}: column {column} holds {text!r}"
        try:
            value = Decimal(str(text))
            to_units(value)
        except (InvalidOperation, ValueError):
            raise CorruptRow(f"{where}, which is not an amount in whole 1e-8 units") from None
        raise CorruptRow(f"{where}, which is not a positive amount")
    out: IntArray = units.to_numpy().astype(np.int64, copy=False)
    return out
