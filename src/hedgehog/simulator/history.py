"""Recent public trades of each symbol, folded into the buckets that Binance's market data needs.

Per symbol the last `TRADES_KEPT` trades are kept whole (for `/trades`, `/historicalTrades`,
`/aggTrades`), and every trade is also folded into 1 s and 1 min buckets (the last
`SECONDS_KEPT` and `MINUTES_KEPT`). Klines of any interval are aggregated from those on request
(`hedgehog.simulator.klines`): memory stays bounded whatever the replay speed, and
adding a trade costs a few Decimal operations. Amounts are Decimal, never float.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from hedgehog.core.types import TradeEvent

TRADES_KEPT = 10_000
SECONDS_KEPT = 4_000
MINUTES_KEPT = 10_080  # a week

# A bucket (and a kline before formatting) is a list:
# [open time, open, high, low, close, volume, quote volume, trades, first id, last id,
#  taker buy volume, taker buy quote volume]
TIME, OPEN, HIGH, LOW, CLOSE, VOLUME, QUOTE, COUNT, FIRST, LAST, BUY_VOLUME, BUY_QUOTE = range(12)
Bucket = list[Any]


def fold(rows: Iterable[Bucket], open_time: int | None = None) -> Bucket | None:
    """The bucket covering `rows` (in time order), or None when there are none."""
    out: Bucket | None = None
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
        out[VOLUME] += row[VOLUME]
        out[QUOTE] += row[QUOTE]
        out[COUNT] += row[COUNT]
        out[LAST] = row[LAST]
        out[BUY_VOLUME] += row[BUY_VOLUME]
        out[BUY_QUOTE] += row[BUY_QUOTE]
    return out


def add_trade(row: Bucket, trade: TradeEvent, quote: Decimal) -> None:
    """Fold one trade into a bucket."""
    price, qty = trade.price, trade.quantity
    if price > row[HIGH]:
        row[HIGH] = price
    elif price < row[LOW]:
        row[LOW] = price
    row[CLOSE] = price
    row[VOLUME] += qty
    row[QUOTE] += quote
    row[COUNT] += 1
    row[LAST] = trade.trade_id
    if not trade.buyer_market_maker:  # the buyer took: a taker buy
        row[BUY_VOLUME] += qty
        row[BUY_QUOTE] += quote


def new_bucket(open_time: int, trade: TradeEvent, quote: Decimal) -> Bucket:
    price, qty = trade.price, trade.quantity
    taker_buy = not trade.buyer_market_maker
    zero = Decimal(0)
    return [open_time, price, price, price, price, qty, quote, 1, trade.trade_id, trade.trade_id,
            qty if taker_buy else zero, quote if taker_buy else zero]  # fmt: skip


class Buckets:
    """Buckets of `width` ms in time order, the last `keep` of them (trimmed in chunks)."""

    __slots__ = ("keep", "rows", "times", "width")

    def __init__(self, width: int, keep: int) -> None:
        self.width, self.keep = width, keep
        self.times: list[int] = []
        self.rows: list[Bucket] = []

    def add(self, trade: TradeEvent, quote: Decimal) -> None:
        start = trade.trade_time - trade.trade_time % self.width
        rows = self.rows
        if rows and start <= rows[-1][TIME]:  # the same bucket (or the clock stepped back)
            add_trade(rows[-1], trade, quote)
            return
        rows.append(new_bucket(start, trade, quote))
        self.times.append(start)
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
        quote = trade.price * trade.quantity
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
