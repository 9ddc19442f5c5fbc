"""What a backtest keeps of the trades it replayed: per symbol a `PriceHistory`, small whatever
the data's length, from which the metrics and the report are drawn.

A streamed backtest never holds all its trades, so the figures that used to read the trade
tables read this instead, built chunk by chunk as the replay goes (`PriceRecorder`) or at once
from whole tables (`histories_of`); both give the same history, the tests check it. It holds:

- the count of trades, the first and last trade's time and price;
- the close of every minute that has trades (open time, last price in 1e-8 units): the price
  at the end of any minute, hour or longer interval, and at the last trade (4 MB a year);
- when asked (`bars=True`: they cost about 0.1 s a million trades, more than the replay
  itself, so only a run making a report records them), the report's price bars: exact
  `Bar`s at the chart interval of the span seen so far
  (`report_bars.chart_interval`, at most MAX_BARS intervals); when the span grows past it,
  the bars are merged into the next interval (`bars.resample`, exact), so at the end they are
  `bars_from_table(table, chart_interval(span))` of the whole data, span of all symbols.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from hedgehog.backtest.report_bars import chart_interval, table_bars
from hedgehog.backtest.report_series import FloatArray, IntArray
from hedgehog.market.bars import INTERVALS, Bar, merge_rows, parse_interval, resample
from hedgehog.market.tables import SCALE, TradeTable

MINUTE = 60_000


@dataclass
class PriceHistory:
    """One symbol's trades, summarised (see the module's docstring)."""

    symbol: str
    trades: int = 0
    first_time: int | None = None
    last_time: int | None = None
    first_price: int | None = None  # 1e-8 units
    last_price: int | None = None
    minute_open: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    minute_close: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    interval: str = "1s"
    bars: list[Bar] | None = None  # None: not recorded

    def price_at(self, at: IntArray) -> FloatArray:
        """The last trade price at or before each time of `at`, each the end of a minute or
        longer interval, or the last trade's time (with 1s bars: of a second); the first
        trade's price before it."""
        if not self.trades or self.first_price is None:
            return np.zeros(len(at), dtype=np.float64)
        opens, closes = self.minute_open, self.minute_close
        if self.bars and parse_interval(self.interval) < MINUTE:  # a short span: 1s bars
            opens = np.array([b.open_time for b in self.bars], dtype=np.int64)
            closes = np.array([int(b.close * SCALE) for b in self.bars], dtype=np.int64)
        i = np.searchsorted(opens, at, "right") - 1
        prices = np.where(i >= 0, closes[np.maximum(i, 0)], self.first_price)
        return prices / SCALE


class PriceRecorder:
    """Builds every symbol's `PriceHistory` from consecutive chunks of trades (each chunk a
    table per symbol, all later than the chunk before)."""

    def __init__(self, symbols: list[str], bars: bool = False) -> None:
        self.histories = {s: PriceHistory(s, bars=[] if bars else None) for s in symbols}
        self.bars = bars
        self._opens: dict[str, list[IntArray]] = {s: [] for s in symbols}
        self._closes: dict[str, list[IntArray]] = {s: [] for s in symbols}
        self._first: int | None = None
        self.interval = "1s"

    def add(self, chunk: Mapping[str, TradeTable]) -> None:
        """Fold one chunk in."""
        full = [t for t in chunk.values() if len(t)]
        if not full:
            return
        first = min(int(t.time[0]) for t in full)
        self._first = first if self._first is None else min(self._first, first)
        interval = chart_interval(self._first, max(int(t.time[-1]) for t in full))
        if INTERVALS[interval] < INTERVALS[self.interval]:
            interval = self.interval  # the span only grows: never back to a finer interval
        for symbol, table in chunk.items():
            if len(table):
                self._add(self.histories[symbol], table, interval)
        self.interval = interval

    def _add(self, h: PriceHistory, table: TradeTable, interval: str) -> None:
        time, price = table.time, table.price
        if h.first_time is None:
            h.first_time, h.first_price = int(time[0]), int(price[0])
        h.last_time, h.last_price = int(time[-1]), int(price[-1])
        h.trades += len(table)
        # each minute's last trade: found by searching the minute boundaries (a few thousand
        # a day) in the sorted times, not by dividing millions of times
        first, last = int(time[0]) // MINUTE, int(time[-1]) // MINUTE
        bounds = np.arange(first + 1, last + 2, dtype=np.int64) * MINUTE
        ends = np.searchsorted(time, bounds, "left") - 1
        ends = ends[np.append(ends[:1] >= 0, ends[1:] != ends[:-1])]  # minutes with trades
        opens, closes = time[ends] // MINUTE * MINUTE, price[ends]
        own_opens, own_closes = self._opens[h.symbol], self._closes[h.symbol]
        if own_opens and own_opens[-1][-1] == opens[0]:  # a minute across the chunks' cut
            own_opens[-1], own_closes[-1] = own_opens[-1][:-1], own_closes[-1][:-1]
        own_opens.append(opens)
        own_closes.append(closes)
        if h.bars is None:
            return
        if h.interval != interval:
            h.bars = resample(h.bars, interval) if h.bars else []
            h.interval = interval
        new = table_bars(table, interval)
        if h.bars and new and h.bars[-1].open_time == new[0].open_time:
            row = merge_rows([h.bars[-1].row(), new[0].row()])
            assert row is not None
            new[0] = Bar.of_row(h.symbol, interval, row)
            h.bars.pop()
        h.bars.extend(new)

    def finish(self) -> dict[str, PriceHistory]:
        """The histories, every symbol's bars at the run's one interval."""
        for h in self.histories.values():
            opens, closes = self._opens[h.symbol], self._closes[h.symbol]
            if opens:
                h.minute_open = np.concatenate(opens)
                h.minute_close = np.concatenate(closes)
                self._opens[h.symbol], self._closes[h.symbol] = [h.minute_open], [h.minute_close]
            if h.bars and h.interval != self.interval:
                h.bars = resample(h.bars, self.interval)
            h.interval = self.interval
        return dict(sorted(self.histories.items()))


def histories_of(tables: Mapping[str, TradeTable], bars: bool = True) -> dict[str, PriceHistory]:
    """The histories of whole tables (one chunk)."""
    recorder = PriceRecorder(sorted(tables), bars)
    recorder.add(tables)
    return recorder.finish()


def as_histories(
    data: Mapping[str, TradeTable] | Mapping[str, PriceHistory], bars: bool = True
) -> dict[str, PriceHistory]:
    """`data` as histories: trade tables are summarised, histories taken as they are."""
    if all(isinstance(v, PriceHistory) for v in data.values()):
        return dict(sorted(data.items()))  # type: ignore[arg-type]
    return histories_of(data, bars)  # type: ignore[arg-type]


def data_span(prices: Mapping[str, PriceHistory]) -> tuple[int, int] | None:
    """First and last trade time of all the data (ms), None without trades."""
    full = [h for h in prices.values() if h.trades]
    if not full:
        return None
    return min(h.first_time or 0 for h in full), max(h.last_time or 0 for h in full)


__all__ = ["PriceHistory", "PriceRecorder", "as_histories", "data_span", "histories_of"]
