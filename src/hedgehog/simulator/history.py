"""Recent public trades of each symbol, folded into the buckets that Binance's market data needs.

Per symbol the last `TRADES_KEPT` trades are kept whole (for `/trades`, `/historicalTrades`,
`/aggTrades`), and every trade is also folded into 1 s and 1 min buckets (the last
`SECONDS_KEPT` and `MINUTES_KEPT`). Klines of any interval are aggregated from those on request
(`hedgehog.simulator.klines`): memory stays bounded whatever the replay speed, and
adding a trade costs a few Decimal operations. A bucket is a row of `hedgehog.market.bars`,
folded and merged by its rules, so the simulator's klines are the bars hedgehog computes.
Amounts are exact Decimals, never float.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from decimal import Decimal

from hedgehog.core.types import TradeEvent
from hedgehog.market.bars import (
    BUY_QUOTE,
    BUY_VOLUME,
    CLOSE,
    COUNT,
    FIRST,
    HIGH,
    LAST,
    LOW,
    OPEN,
    QUOTE,
    TIME,
    VOLUME,
    add_trade,
    fold_trade,
    quote_of,
)
from hedgehog.market.bars import Row as Bucket
from hedgehog.market.bars import merge_rows as fold
from hedgehog.market.bars import open_row as new_bucket

TRADES_KEPT = 10_000
SECONDS_KEPT = 4_000
MINUTES_KEPT = 10_080  # a week

# A bucket (and a kline before formatting) is a row of `hedgehog.market.bars`, a list:
# [open time, open, high, low, close, volume, quote volume, trades, first id, last id,
#  taker buy volume, taker buy quote volume]; bars' rules fold trades into it and merge them.


class Buckets:
    """Buckets of `width` ms in time order, the last `keep` of them (trimmed in chunks)."""

    __slots__ = ("keep", "rows", "times", "width")

    def __init__(self, width: int, keep: int) -> None:
        self.width, self.keep = width, keep
        self.times: list[int] = []
        self.rows: list[Bucket] = []

    def add(self, trade: TradeEvent, quote: Decimal) -> None:
        rows = self.rows
        row = fold_trade(rows[-1] if rows else None, trade, quote, self.width)
        if row is None:  # the same bucket (or the clock stepped back)
            return
        rows.append(row)
        self.times.append(row[TIME])
        if len(rows) > 2 * self.keep:
            del rows[: -self.keep], self.times[: -self.keep]

    def between(self, start: int, end: int) -> Sequence[Bucket]:
        """Buckets opened in [start, end)."""
        times = self.times
        return self.rows[bisect_left(times, start) : bisect_left(times, end)]

    def close_before(self, time: int) -> Decimal | None:
        """The close of the last bucket opened before `time`."""
        i = bisect_left(self.times, time)
        return self.rows[i - 1][CLOSE] if i else None


class SymbolHistory:
    """One symbol's recent trades and buckets."""

    __slots__ = ("minutes", "seconds", "trade_ids", "trades")

    def __init__(self) -> None:
        self.trades: list[TradeEvent] = []
        self.trade_ids: list[int] = []
        self.seconds = Buckets(1_000, SECONDS_KEPT)
        self.minutes = Buckets(60_000, MINUTES_KEPT)

    def add(self, trade: TradeEvent) -> None:
        trades = self.trades
        trades.append(trade)
        self.trade_ids.append(trade.trade_id)
        if len(trades) > 2 * TRADES_KEPT:
            del trades[:-TRADES_KEPT], self.trade_ids[:-TRADES_KEPT]
        quote = quote_of(trade)
        self.seconds.add(trade, quote)
        self.minutes.add(trade, quote)

    @property
    def last(self) -> TradeEvent | None:
        return self.trades[-1] if self.trades else None

    def recent(self, limit: int) -> list[TradeEvent]:
        return self.trades[-limit:] if limit < TRADES_KEPT else self.trades[-TRADES_KEPT:]

    def from_id(self, first_id: int, limit: int) -> list[TradeEvent]:
        """Up to `limit` kept trades from id `first_id` on."""
        i = bisect_left(self.trade_ids, first_id)
        i = max(i, len(self.trades) - TRADES_KEPT)
        return self.trades[i : i + limit]

    def between(self, start: int | None, end: int | None, limit: int) -> list[TradeEvent]:
        """Kept trades of time in [start, end]: the first `limit` of them, or with no start the
        last `limit`."""
        trades = self.trades[-TRADES_KEPT:]
        if start is not None:
            trades = [t for t in trades if t.trade_time >= start]
        if end is not None:
            trades = [t for t in trades if t.trade_time <= end]
        return trades[:limit] if start is not None else trades[-limit:]

    def window(self, since: int, seconds: bool = False) -> Bucket | None:
        """The trades of buckets opened from `since` (rounded down to the bucket) on."""
        buckets = self.seconds if seconds else self.minutes
        start = since - since % buckets.width
        return fold(buckets.between(start, 2**62))

    def close_before(self, since: int) -> Decimal | None:
        return self.minutes.close_before(since - since % 60_000)


__all__ = [
    "BUY_QUOTE",
    "BUY_VOLUME",
    "CLOSE",
    "COUNT",
    "FIRST",
    "HIGH",
    "LAST",
    "LOW",
    "MINUTES_KEPT",
    "OPEN",
    "QUOTE",
    "SECONDS_KEPT",
    "TIME",
    "TRADES_KEPT",
    "VOLUME",
    "Bucket",
    "Buckets",
    "SymbolHistory",
    "add_trade",
    "fold",
    "new_bucket",
]
