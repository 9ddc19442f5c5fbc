"""The backtest report's price bars: which kline interval the charts use, and the bars of a
table at that interval, computed a slice at a time.

The bars are `hedgehog.market.bars.bars_from_table`'s, the rule that makes the simulator's
klines and the bars strategies read. The interval is the smallest of Binance's kline
intervals whose aligned intervals over the data's span number at most MAX_BARS, so a chart
has at most about two bars a pixel column whatever the data's length. `table_bars` cuts a big
table where an interval begins and computes each part's bars on its own: the same bars (none
straddles a cut), with the numpy temporaries of one part at a time instead of the whole
table's (about 90 MiB for a million trades).
"""

from __future__ import annotations

import numpy as np

from hedgehog.backtest.report_series import IntArray
from hedgehog.market.bars import INTERVALS, Bar, bars_from_table, parse_interval
from hedgehog.market.tables import TradeTable

MAX_BARS = 2_000
"""At most this many bars per price chart (about two per pixel column): the interval is the
smallest of Binance's kline intervals that keeps under it (1d beyond ~5 years of data)."""
SLICE = 200_000
"""Trades per part of `table_bars` (a part ends where an interval begins)."""


def intervals_spanned(first: int, last: int, interval: str) -> int:
    """How many epoch-aligned intervals of `interval` hold the times first..last ms."""
    width = parse_interval(interval)
    return last // width - first // width + 1


def chart_interval(first: int, last: int) -> str:
    """The charts' bar interval for data from `first` to `last` ms: the smallest of Binance's
    kline intervals (1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d) whose aligned
    intervals over that span number at most MAX_BARS; 1d when none does."""
    for name in INTERVALS:
        if intervals_spanned(first, last, name) <= MAX_BARS:
            return name
    return "1d"


def interval_ends(first: int, last: int, interval: str) -> IntArray:
    """The last ms of each `interval` from the one holding `first` to the one holding `last`,
    the final one cut at `last` (the time grid of the PnL chart)."""
    width = parse_interval(interval)
    opens = np.arange(first - first % width, last + 1, width, dtype=np.int64)
    return np.minimum(opens + (width - 1), last)


def table_bars(table: TradeTable, interval: str, part: int = SLICE) -> list[Bar]:
    """`bars_from_table(table, interval)`, computed on parts of about `part` trades, each cut
    at the first trade of an interval (an interval of more trades is one part)."""
    width = parse_interval(interval)
    time, n = table.time, len(table)
    bars: list[Bar] = []
    start = 0
    while start < n:
        stop = min(n, start + part)
        if stop < n:
            opens = int(time[stop]) - int(time[stop]) % width
            stop = int(np.searchsorted(time, opens, "left"))
            if stop <= start:  # one interval holds more than a part: take it whole
                stop = int(np.searchsorted(time, opens + width, "left"))
        bars += bars_from_table(table.slice(start, stop), interval)
        start = stop
    return bars


__all__ = [
    "MAX_BARS",
    "SLICE",
    "chart_interval",
    "interval_ends",
    "intervals_spanned",
    "table_bars",
]
