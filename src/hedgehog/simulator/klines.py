"""Klines as Binance computes them: its intervals, period boundaries and the 12-field rows.

A period starts at a multiple of its width since the epoch in the requested time zone (weeks
on Mondays, months on the 1st). Periods without trades inside the kept history are flat at the
previous close with zero volume, as Binance's klines are (bars of `hedgehog.market.bars` skip
them, so that row stays here). `1s` klines come from the 1-second buckets, every other interval
from the 1-minute ones (a time zone offset is whole minutes), merged by bars' `merge_rows`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hedgehog.market.bars import DAY, HOUR, MINUTE
from hedgehog.market.bars import INTERVALS as BAR_INTERVALS
from hedgehog.simulator.history import (
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
    Bucket,
    Buckets,
    SymbolHistory,
    fold,
)
from hedgehog.simulator.market import amount

# bars' fixed intervals (1s .. 1d), then those bars leave out: 3d, weeks on Mondays, months
INTERVALS = {**BAR_INTERVALS, "3d": 3 * DAY, "1w": 7 * DAY, "1M": 0}
_MONDAY = 4 * DAY  # 1970-01-01 was a Thursday
_ZONE = re.compile(r"([+-]?)(\d{1,2})(?::(\d{2}))?")


def parse_time_zone(text: str) -> int | None:
    """Binance's `timeZone` ("8", "-1:00", "+05:45"; -12:00 to +14:00) as an offset in ms."""
    found = _ZONE.fullmatch(text)
    if found is None:
        return None
    sign, hours, minutes = found.group(1), int(found.group(2)), int(found.group(3) or 0)
    if minutes >= 60:
        return None
    offset = (hours * 60 + minutes) * MINUTE * (-1 if sign == "-" else 1)
    return offset if -12 * HOUR <= offset <= 14 * HOUR else None


def period_start(time: int, interval: str, offset: int = 0) -> int:
    """Open time (UTC ms) of the `interval` period that contains `time`."""
    local = time + offset
    if interval == "1M":
        day = datetime.fromtimestamp(local // 1000, UTC)
        return int(datetime(day.year, day.month, 1, tzinfo=UTC).timestamp()) * 1000 - offset
    width = INTERVALS[interval]
    anchor = _MONDAY if interval == "1w" else 0
    return (local - anchor) // width * width + anchor - offset


def next_start(start: int, interval: str, offset: int = 0) -> int:
    """Open time of the period after the one opened at `start`."""
    if interval != "1M":
        return start + INTERVALS[interval]
    day = datetime.fromtimestamp((start + offset) // 1000, UTC)
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp()) * 1000 - offset


def previous_start(start: int, interval: str, offset: int = 0) -> int:
    if interval != "1M":
        return start - INTERVALS[interval]
    return period_start(start - 1, interval, offset)


def source(history: SymbolHistory, interval: str) -> Buckets:
    return history.seconds if interval == "1s" else history.minutes


def kline_at(buckets: Buckets, start: int, end: int) -> Bucket | None:
    """The kline of [start, end): its buckets folded, or flat at the last close before it."""
    row = fold(buckets.between(start, end), start)
    if row is not None:
        return row
    close = buckets.close_before(start)
    if close is None:
        return None
    zero = Decimal(0)
    return [start, close, close, close, close, zero, zero, 0, -1, -1, zero, zero]


def klines(
    history: SymbolHistory,
    interval: str,
    start: int | None,
    end: int | None,
    limit: int,
    now: int,
    offset: int = 0,
) -> list[tuple[int, Bucket]]:
    """(close time, kline) of up to `limit` periods: from `start` on, else the latest up to
    `end` (or now). Periods open at or after `start` and at or before `end`."""
    buckets = source(history, interval)
    if not buckets.rows:
        return []
    first = period_start(buckets.rows[0][TIME], interval, offset)
    last = period_start(max(now, buckets.rows[-1][TIME]), interval, offset)
    if end is not None:
        last = min(last, period_start(end, interval, offset))
    if start is not None:
        begin = period_start(start, interval, offset)
        first = max(first, begin if begin >= start else next_start(begin, interval, offset))
    opens: list[int] = []
    if start is not None:
        t = first
        while t <= last and len(opens) < limit:
            opens.append(t)
            t = next_start(t, interval, offset)
    else:
        t = last
        while t >= first and len(opens) < limit:
            opens.append(t)
            t = previous_start(t, interval, offset)
        opens.reverse()
    out = []
    for t in opens:
        after = next_start(t, interval, offset)
        row = kline_at(buckets, t, after)
        if row is not None:
            out.append((after - 1, row))
    return out


def kline_row(close_time: int, row: Bucket) -> list[Any]:
    """The 12-field array of `/api/v3/klines`."""
    return [row[TIME], amount(row[OPEN]), amount(row[HIGH]), amount(row[LOW]), amount(row[CLOSE]),
            amount(row[VOLUME]), close_time, amount(row[QUOTE]), row[COUNT],
            amount(row[BUY_VOLUME]), amount(row[BUY_QUOTE]), "0"]  # fmt: skip


def kline_event(
    symbol: str, interval: str, close_time: int, row: Bucket, closed: bool, now: int
) -> dict[str, Any]:
    """The `<symbol>@kline_<interval>` stream event."""
    return {"e": "kline", "E": now, "s": symbol, "k": {
        "t": row[TIME], "T": close_time, "s": symbol, "i": interval, "f": row[FIRST],
        "L": row[LAST], "o": amount(row[OPEN]), "c": amount(row[CLOSE]),
        "h": amount(row[HIGH]), "l": amount(row[LOW]), "v": amount(row[VOLUME]),
        "n": row[COUNT], "x": closed, "q": amount(row[QUOTE]), "V": amount(row[BUY_VOLUME]),
        "Q": amount(row[BUY_QUOTE]), "B": "0"}}  # fmt: skip
