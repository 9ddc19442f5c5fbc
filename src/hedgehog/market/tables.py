"""`TradeTable`: one symbol's historical trades as numpy columns.

Backtests replay millions of trades, so they are kept as int64 columns (prices and quantities
in exact 1e-8 units, ~33 bytes a trade) instead of a list of `TradeEvent` objects (~500 bytes
each). `events()` turns rows into `TradeEvent`s lazily, with exact Decimals.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from hedgehog.core.decimals import normalize
from hedgehog.core.types import TradeEvent

SCALE = 10**8
"""Prices and quantities are stored as integers in units of 1 / SCALE (Binance: 8 decimals)."""

_INT64_MAX = 2**63 - 1
_CHUNK = 65_536
_COLUMNS = ("trade_id", "price", "qty", "time", "buyer_maker")
_CACHE_LIMIT = 1 << 17

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def to_units(value: Decimal) -> int:
    """`value * SCALE` as an int; ValueError unless that is exact and fits in int64."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{value!r} is not a finite Decimal")
    if value and value.adjusted() > 18:
        raise ValueError(f"{value} is too large for int64 1e-8 units")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    shift = exponent + 8
    if shift >= 0:
        scale: int = 10**shift
        units = int("".join(map(str, digits))) * scale
    else:
        kept, dropped = digits[:shift], digits[shift:]
        if any(dropped):
            raise ValueError(f"{value} has more than 8 decimals")
        units = int("".join(map(str, kept)) or "0")
    if units > _INT64_MAX:
        raise ValueError(f"{value} is too large for int64 1e-8 units")
    return -units if sign else units


def from_units(units: int) -> Decimal:
    """The exact, normalised Decimal of an amount in 1e-8 units."""
    sign = 1 if units < 0 else 0
    return normalize(Decimal((sign, tuple(map(int, str(abs(units)))), -8)))


def _ro(values: Any, dtype: type[Any]) -> Any:
    """A read-only 1-D view of `values` as `dtype` (the caller's array stays writable).

    Floats are refused rather than truncated: amounts must already be exact 1e-8 units.
    """
    arr = np.asarray(values)
    if arr.size and arr.dtype.kind not in ("b" if dtype is np.bool_ else "iu"):
        raise TypeError(f"a TradeTable column of {dtype.__name__} got {arr.dtype} values")
    arr = arr.astype(dtype, copy=False).view()
    if arr.ndim != 1:
        raise ValueError("TradeTable columns must be 1-D")
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TradeTable:
    """One symbol's trades, sorted by (time, trade_id), without duplicate trade ids.

    The constructor enforces the order and drops repeated trade ids (keeping the first one
    given), so every table is in replay order. Columns are read-only numpy arrays.
    """

    symbol: str
    trade_id: IntArray
    price: IntArray
    qty: IntArray
    time: IntArray
    buyer_maker: BoolArray

    def __post_init__(self) -> None:
        cols = [_ro(self.trade_id, np.int64), _ro(self.price, np.int64), _ro(self.qty, np.int64)]
        cols += [_ro(self.time, np.int64), _ro(self.buyer_maker, np.bool_)]
        if len({len(c) for c in cols}) > 1:
            raise ValueError("TradeTable columns must have equal lengths")
        ids, time = cols[0], cols[3]
        if len(ids) and (cols[1].min() <= 0 or cols[2].min() <= 0):
            raise ValueError(f"{self.symbol}: prices and quantities must be positive")
        in_order = bool(np.all(np.diff(ids) > 0) and np.all(np.diff(time) >= 0))
        if not in_order:
            _, first = np.unique(ids, return_index=True)
            keep = first[np.lexsort((ids[first], time[first]))]
            cols = [_ro(c[keep], c.dtype.type) for c in cols]
        object.__setattr__(self, "symbol", self.symbol.upper())
        for name, col in zip(_COLUMNS, cols, strict=True):
            object.__setattr__(self, name, col)

    @classmethod
    def empty(cls, symbol: str) -> TradeTable:
        z = np.zeros(0, dtype=np.int64)
        return cls(symbol, z, z, z, z, np.zeros(0, dtype=np.bool_))

    @classmethod
    def concat(cls, tables: Sequence[TradeTable]) -> TradeTable:
        """Merge tables of one symbol: re-sorted, duplicate ids dropped (earlier tables win)."""
        if not tables:
            raise ValueError("concat needs at least one table")
        symbols = {t.symbol for t in tables}
        if len(symbols) != 1:
            raise ValueError(f"cannot concat tables of different symbols: {sorted(symbols)}")
        if len(tables) == 1:
            return tables[0]
        return cls(
            tables[0].symbol,
            *(np.concatenate([getattr(t, name) for t in tables]) for name in _COLUMNS),
        )

    def __len__(self) -> int:
        return len(self.trade_id)

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns."""
        cols = (self.trade_id, self.price, self.qty, self.time, self.buyer_maker)
        return sum(c.nbytes for c in cols)

    def slice(self, start: int, stop: int) -> TradeTable:
        """Rows [start, stop) as a table of views (no copy, no re-check)."""
        part = object.__new__(TradeTable)
        object.__setattr__(part, "symbol", self.symbol)
        for name in _COLUMNS:
            object.__setattr__(part, name, getattr(self, name)[start:stop])
        return part

    def price_decimal(self, i: int) -> Decimal:
        return from_units(int(self.price[i]))

    def qty_decimal(self, i: int) -> Decimal:
        return from_units(int(self.qty[i]))

    def events(self) -> Iterator[TradeEvent]:
        """The rows as `TradeEvent`s, in order (event_time = trade time)."""
        cache: dict[int, Decimal] = {}
        symbol = self.symbol
        for lo in range(0, len(self), _CHUNK):
            hi = lo + _CHUNK
            rows = zip(
                self.trade_id[lo:hi].tolist(),
                self.price[lo:hi].tolist(),
                self.qty[lo:hi].tolist(),
                self.time[lo:hi].tolist(),
                self.buyer_maker[lo:hi].tolist(),
                strict=True,
            )
            if len(cache) > _CACHE_LIMIT:
                cache.clear()
            for tid, price, qty, time, maker in rows:
                p = cache.get(price)
                if p is None:
                    p = cache[price] = from_units(price)
                q = cache.get(qty)
                if q is None:
                    q = cache[qty] = from_units(qty)
                yield TradeEvent(symbol, tid, p, q, time, maker, time)

    def equals(self, other: TradeTable) -> bool:
        """Same symbol and identical columns."""
        return self.symbol == other.symbol and all(
            np.array_equal(getattr(self, n), getattr(other, n)) for n in _COLUMNS
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TradeTable) and self.equals(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if not len(self):
            return f"TradeTable({self.symbol!r}, empty)"
        first, last = (_iso(int(t)) for t in (self.time[0], self.time[-1]))
        n = len(self)
        return f"TradeTable({self.symbol!r}, {n} trade{'s' * (n != 1)}, {first} .. {last})"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
