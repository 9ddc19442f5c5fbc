"""Bars: OHLCV candles aggregated from trades, exactly, the same live and in backtests.

A `Bar` holds Binance's kline fields for one interval of one symbol. `BarAggregator` folds
`TradeEvent`s one by one (the live way: a bar closes when the first trade of a later interval
arrives; intervals without trades make no bar) and `bars_from_table` computes the same bars
from a `TradeTable` with numpy (the backtest way); a property test holds them equal.

The bar in progress is a `Row`, a list in kline field order. `open_row`, `add_trade`,
`fold_trade` and `merge_rows` are the one folding rule: the simulator's kline buckets
(`hedgehog.simulator.history`) fold with them too. Sums and products use an exact Decimal
context that raises rather than rounds, and every `Bar` amount is canonical (no trailing
zeros), so equal bars print alike. Pure and sans-io: no awaits, no clock, no logging.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import MAX_PREC, Context, Decimal, Inexact
from typing import Any

import numpy as np

from hedgehog.core.errors import ConfigError
from hedgehog.core.types import TradeEvent
from hedgehog.market.tables import IntArray, TradeTable

SECOND, MINUTE, HOUR, DAY = 1_000, 60_000, 3_600_000, 86_400_000
INTERVALS: dict[str, int] = {
    "1s": SECOND, "1m": MINUTE, "3m": 3 * MINUTE, "5m": 5 * MINUTE, "15m": 15 * MINUTE,
    "30m": 30 * MINUTE, "1h": HOUR, "2h": 2 * HOUR, "4h": 4 * HOUR, "6h": 6 * HOUR,
    "8h": 8 * HOUR, "12h": 12 * HOUR, "1d": DAY,
}  # fmt: skip
"""Binance's kline intervals that are fixed widths aligned on the epoch (UTC), in ms."""

# A row: [open time, open, high, low, close, volume, quote volume, trades, first id, last id,
#  taker buy volume, taker buy quote volume]
TIME, OPEN, HIGH, LOW, CLOSE, VOLUME, QUOTE, COUNT, FIRST, LAST, BUY_VOLUME, BUY_QUOTE = range(12)
Row = list[Any]

_EXACT = Context(prec=MAX_PREC, traps=[Inexact])  # never rounds: a sum is exact or raises
_add, _mul = _EXACT.add, _EXACT.multiply
_ZERO = Decimal(0)
_LIMB, _MASK = 16, 0xFFFF  # exact int64 sums: 16-bit limbs
_SAFE_ROWS = 1 << 28  # a limb sum of this many rows fits in int64


def parse_interval(text: str) -> int:
    """The width in ms of a bar interval ("1s" .. "1d"); ConfigError for anything else."""
    width = INTERVALS.get(text) if isinstance(text, str) else None
    if width is None:
        raise ConfigError(
            f"bar interval {text!r} is not one of {', '.join(INTERVALS)} "
            "(Binance's kline intervals of a fixed width; 3d, 1w and 1M are not supported)"
        )
    return width


def quote_of(trade: TradeEvent) -> Decimal:
    """price * quantity, exactly."""
    return _mul(trade.price, trade.quantity)


def open_row(open_time: int, trade: TradeEvent, quote: Decimal) -> Row:
    """The row of an interval opened at `open_time` by `trade` (of quote amount `quote`)."""
    price, qty = trade.price, trade.quantity
    taker_buy = not trade.buyer_market_maker
    return [open_time, price, price, price, price, qty, quote, 1, trade.trade_id, trade.trade_id,
            qty if taker_buy else _ZERO, quote if taker_buy else _ZERO]  # fmt: skip


def add_trade(row: Row, trade: TradeEvent, quote: Decimal) -> None:
    """Fold one more trade into a row."""
    price, qty = trade.price, trade.quantity
    if price > row[HIGH]:
        row[HIGH] = price
    elif price < row[LOW]:
        row[LOW] = price
    row[CLOSE] = price
    row[VOLUME] = _add(row[VOLUME], qty)
    row[QUOTE] = _add(row[QUOTE], quote)
    row[COUNT] += 1
    row[LAST] = trade.trade_id
    if not trade.buyer_market_maker:  # the buyer took: a taker buy
        row[BUY_VOLUME] = _add(row[BUY_VOLUME], qty)
        row[BUY_QUOTE] = _add(row[BUY_QUOTE], quote)


def fold_trade(row: Row | None, trade: TradeEvent, quote: Decimal, width: int) -> Row | None:
    """Fold `trade` into `row`, the last row of `width` ms, and return None; or return the new
    row it opens when it belongs to a later interval (or there is no row yet). A trade timed
    before `row` (a clock that stepped back) is folded into `row`: a row is never reopened."""
    time = trade.trade_time
    start = time - time % width
    if row is not None and start <= row[TIME]:
        add_trade(row, trade, quote)
        return None
    return open_row(start, trade, quote)


def merge_rows(rows: Iterable[Row], open_time: int | None = None) -> Row | None:
    """One row covering `rows` (in time order; opened at `open_time` if given), None if none."""
    out: Row | None = None
    for row in rows:
        if out is None:
            out = list(row)
            if open_time is not None:
                out[TIME] = open_time
            continue
        if row[HIGH] > out[HIGH]:
            out[HIGH] = row[HIGH]
        if row[LOW] < out[LOW]:
            out[LOW] = row[LOW]
        out[CLOSE] = row[CLOSE]
        out[COUNT] += row[COUNT]
        out[LAST] = row[LAST]
        for i in (VOLUME, QUOTE, BUY_VOLUME, BUY_QUOTE):
            out[i] = _add(out[i], row[i])
    return out


@dataclass(frozen=True, slots=True)
class Bar:
    """One interval's trades of one symbol, as a Binance kline: times in ms (`close_time` is
    the next open - 1), volumes in the base asset, quote volumes sum price * qty, and a
    taker buy is a trade whose buyer was not the maker."""

    symbol: str
    interval: str
    open_time: int
    close_time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trades: int
    first_id: int
    last_id: int
    taker_buy_volume: Decimal
    taker_buy_quote_volume: Decimal

    @classmethod
    def of_row(cls, symbol: str, interval: str, row: Row) -> Bar:
        """The bar of a row, its amounts made canonical."""
        o, h, lo, c, v, q = (_canonical(row[i]) for i in (OPEN, HIGH, LOW, CLOSE, VOLUME, QUOTE))
        bv, bq = _canonical(row[BUY_VOLUME]), _canonical(row[BUY_QUOTE])
        close_time = row[TIME] + parse_interval(interval) - 1
        return cls(symbol, interval, row[TIME], close_time, o, h, lo, c, v, q, row[COUNT],
                   row[FIRST], row[LAST], bv, bq)  # fmt: skip

    def row(self) -> Row:
        """The bar as a row (to merge with `merge_rows`)."""
        return [self.open_time, self.open, self.high, self.low, self.close, self.volume,
                self.quote_volume, self.trades, self.first_id, self.last_id,
                self.taker_buy_volume, self.taker_buy_quote_volume]  # fmt: skip


def _canonical(value: Decimal) -> Decimal:
    """`value` without trailing zeros and with no positive exponent, exactly (no context)."""
    if not value:
        return _ZERO
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if exponent >= 0:
        return Decimal((sign, digits + (0,) * exponent, 0))
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    cut = min(zeros, -exponent)
    return Decimal((sign, digits[: len(digits) - cut], exponent + cut))


class BarAggregator:
    """One symbol's bars of one interval, from its trades fed in order with `add`."""

    __slots__ = ("_row", "interval", "symbol", "width")

    def __init__(self, symbol: str, interval: str) -> None:
        self.symbol, self.interval = symbol.upper(), interval
        self.width = parse_interval(interval)
        self._row: Row | None = None

    def add(self, trade: TradeEvent) -> list[Bar]:
        """Fold a trade in; the bars it closes (the one open, if the trade starts a later one)."""
        if trade.symbol != self.symbol:
            raise ValueError(f"a {trade.symbol} trade fed to {self.symbol}'s bars")
        row = self._row
        new = fold_trade(row, trade, _mul(trade.price, trade.quantity), self.width)
        if new is None:
            return []
        self._row = new
        return [] if row is None else [Bar.of_row(self.symbol, self.interval, row)]

    def flush(self) -> Bar | None:
        """The open bar at the end of the trades (None without one); the aggregator is empty."""
        row, self._row = self._row, None
        return None if row is None else Bar.of_row(self.symbol, self.interval, row)

    @property
    def current(self) -> Bar | None:
        """The bar in progress, so far."""
        row = self._row
        return None if row is None else Bar.of_row(self.symbol, self.interval, row)


class PriceAggregator:
    """A price chart's bars: the open, high, low and close of `BarAggregator`'s bars — the same
    intervals, alignment and rule for a trade timed before the open bar — without the volumes'
    exact sums: a few comparisons per trade, for views that fold every live trade. `add`
    returns the (open time, open, high, low, close) it closes, or None."""

    __slots__ = ("_row", "interval", "width")

    def __init__(self, interval: str) -> None:
        self.interval = interval
        self.width = parse_interval(interval)
        self._row: list[Any] | None = None

    def add(self, trade: TradeEvent) -> tuple[int, Decimal, Decimal, Decimal, Decimal] | None:
        time, price, row = trade.trade_time, trade.price, self._row
        start = time - time % self.width
        if row is not None and start <= row[0]:  # `fold_trade`'s rule
            if price > row[2]:
                row[2] = price
            elif price < row[3]:
                row[3] = price
            row[4] = price
            return None
        self._row = [start, price, price, price, price]
        return None if row is None else _ohlc(row)

    @property
    def current(self) -> tuple[int, Decimal, Decimal, Decimal, Decimal] | None:
        """The bar in progress, so far."""
        return None if self._row is None else _ohlc(self._row)


def _ohlc(row: list[Any]) -> tuple[int, Decimal, Decimal, Decimal, Decimal]:
    return (row[0], *(_canonical(v) for v in row[1:5]))


def resample(bars: Iterable[Bar], interval: str) -> list[Bar]:
    """Bars of one symbol, in time order, merged into bars of a wider `interval` (a multiple
    of theirs): the bars their trades would make."""
    width = parse_interval(interval)
    groups: dict[int, list[Row]] = {}
    symbol = ""
    for bar in bars:
        if width % parse_interval(bar.interval):
            raise ValueError(f"{bar.interval} bars do not tile {interval} bars")
        groups.setdefault(bar.open_time - bar.open_time % width, []).append(bar.row())
        symbol = bar.symbol
    merged = ((start, merge_rows(rows, start)) for start, rows in groups.items())
    return [Bar.of_row(symbol, interval, row) for _, row in merged if row is not None]


def bars_from_table(table: TradeTable, interval: str) -> list[Bar]:
    """The bars of a table's trades, computed over its integer columns: `BarAggregator`'s
    bars (and its final flush) exactly."""
    width = parse_interval(interval)
    n = len(table)
    if not n:
        return []
    time, price, qty = table.time, table.price, table.qty
    opens = time - time % width
    starts = np.concatenate(([0], np.flatnonzero(np.diff(opens)) + 1))
    last = np.append(starts[1:], n) - 1
    longest = int((last + 1 - starts).max())
    taker = np.where(table.buyer_maker, 0, qty)
    sums = [_sums(qty, starts, longest), _dots(price, qty, starts, longest)]
    sums += [_sums(taker, starts, longest), _dots(price, taker, starts, longest)]
    amounts = [[_units(u, 8) for u in sums[0]], [_units(u, 16) for u in sums[1]]]
    amounts += [[_units(u, 8) for u in sums[2]], [_units(u, 16) for u in sums[3]]]
    prices = [price[starts], np.maximum.reduceat(price, starts)]
    prices += [np.minimum.reduceat(price, starts), price[last]]
    o, h, lo, c = ([_units(u, 8) for u in p.tolist()] for p in prices)
    ids, symbol = table.trade_id, table.symbol
    columns = zip(opens[starts].tolist(), o, h, lo, c, *amounts[:2], (last + 1 - starts).tolist(),
                  ids[starts].tolist(), ids[last].tolist(), *amounts[2:], strict=True)  # fmt: skip
    return [
        Bar(symbol, interval, t, t + width - 1, o_, h_, l_, c_, v, q, k, f, la, bv, bq)
        for t, o_, h_, l_, c_, v, q, k, f, la, bv, bq in columns
    ]


def _units(units: int, places: int) -> Decimal:
    return _canonical(Decimal((0, tuple(map(int, str(units))), -places)))


def _limbs(values: IntArray) -> list[tuple[int, IntArray]]:
    """(k, 16-bit limb k) of non-negative int64 values, the all-zero limbs left out."""
    limbs = [(k, (values >> (_LIMB * k)) & _MASK) for k in range(4)]
    return [(k, limb) for k, limb in limbs if limb.any()]


def _combine(parts: dict[int, IntArray], starts: IntArray, longest: int) -> list[int]:
    """Per segment, the exact sum of `part << (16 * k)` over the parts."""
    if longest >= _SAFE_ROWS:
        raise ValueError(f"a bar of {longest} trades is too many for exact int64 sums")
    total = [0] * len(starts)
    for k, part in parts.items():
        shift = _LIMB * k
        sums = np.add.reduceat(part, starts).tolist()
        total = [t + (s << shift) for t, s in zip(total, sums, strict=True)]
    return total


def _sums(values: IntArray, starts: IntArray, longest: int) -> list[int]:
    """The exact sum of each segment of non-negative int64 values."""
    if int(values.max()) * longest < 2**63:
        return list(np.add.reduceat(values, starts).tolist())
    return _combine(dict(_limbs(values)), starts, longest)


def _dots(a: IntArray, b: IntArray, starts: IntArray, longest: int) -> list[int]:
    """The exact sum of a * b over each segment (non-negative int64 values)."""
    if int(a.max()) * int(b.max()) * longest < 2**63:
        return list(np.add.reduceat(a * b, starts).tolist())
    parts: dict[int, IntArray] = {}
    for i, x in _limbs(a):
        for j, y in _limbs(b):
            product = x * y  # < 2**32; a diagonal sums at most 4 of them: < 2**34
            parts[i + j] = parts[i + j] + product if i + j in parts else product
    return _combine(parts, starts, longest)
