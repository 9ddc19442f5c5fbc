"""Recorded trades back out of the database, as a `TradeTable` for backtests
(`hedgehog backtest --from-db SYMBOL --from DAY --to DAY`).

Rows are streamed from the database in chunks and converted straight into the table's int64
columns (prices and quantities from their stored text, exactly, as the file loaders do), so a
month of trades never exists as millions of `TradeEvent` objects. Recorded trades have no event
time of their own; the table's time is the trade time, as for Binance's public-data files.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hedgehog.backtest.tables import IntArray, TradeTable, to_units
from hedgehog.naive.settings import normalize_symbol
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
    t = TradeEventRow
    query = select(t.trade_id, t.price, t.quantity, t.trade_time, t.buyer_market_maker).where(
        t.symbol == symbol
    )
    if start_ms is not None:
        query = query.where(t.trade_time >= start_ms)
    if end_ms is not None:
        query = query.where(t.trade_time < end_ms)
    query = query.order_by(t.trade_time, t.trade_id).execution_options(yield_per=CHUNK)
    parts = [_columns(symbol, rows) for rows in session.execute(query).partitions()]
    if not parts:
        return TradeTable.empty(symbol)
    return TradeTable(symbol, *(np.concatenate([p[i] for p in parts]) for i in range(5)))


def _columns(symbol: str, rows: Any) -> tuple[IntArray, IntArray, IntArray, IntArray, Any]:
    n = len(rows)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    times = np.fromiter((r[3] for r in rows), dtype=np.int64, count=n)
    makers = np.fromiter((bool(r[4]) for r in rows), dtype=np.bool_, count=n)
    prices = _units(symbol, ids, [r[1] for r in rows], "price")
    qtys = _units(symbol, ids, [r[2] for r in rows], "quantity")
    return ids, prices, qtys, times, makers


def _units(symbol: str, ids: IntArray, texts: list[str], column: str) -> IntArray:
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
