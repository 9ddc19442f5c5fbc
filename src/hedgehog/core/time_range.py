"""The `--from/--to` time range of the commands reading trades (backtest files, --from-db, the
catalog): one parser, so every command reads a range the same way.

Each end is a UTC day `YYYY-MM-DD` or a UTC time `YYYY-MM-DDTHH:MM[:SS[.fff]]` (a trailing `Z`
allowed). `--from` is inclusive; `--to` is inclusive for a day (the whole day) and exclusive
for a time (`--to 2019-05-25T12:00` stops before noon), so `--from` and `--to` of the same day
take that day and consecutive times tile without overlap. Either end may be left open.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from hedgehog.core.errors import ConfigError

DAY_MS = 86_400_000
HELP_FROM = (
    "Trades from this UTC day YYYY-MM-DD or time YYYY-MM-DDTHH:MM[:SS[.fff]] (Z allowed) on, "
    "inclusive"
)
HELP_TO = (
    "Trades up to this UTC day YYYY-MM-DD (inclusive: the whole day) or time "
    "YYYY-MM-DDTHH:MM[:SS[.fff]] (exclusive)"
)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?Z?")


def parse_moment(text: str, option: str) -> tuple[int, bool]:
    """(epoch ms, is_day) of one end: a day's midnight or the time given. `ConfigError`
    naming `option` when it is neither."""
    value = text.strip()
    try:
        if _DAY.fullmatch(value):
            return _ms(datetime.combine(date.fromisoformat(value), datetime.min.time())), True
        m = _TIME.fullmatch(value)
        if m is not None:
            day, hh, mm, ss, frac = m.groups()
            at = datetime.combine(date.fromisoformat(day), datetime.min.time()).replace(
                hour=int(hh), minute=int(mm), second=int(ss or 0)
            )
            return _ms(at) + int((frac or "0").ljust(3, "0")), False
    except ValueError:
        pass
    raise ConfigError(
        f"{option} {text!r} is not a day: give YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.fff]] (UTC)"
    )


def time_range(first: str | None, last: str | None) -> tuple[int | None, int | None]:
    """`--from first --to last` as (start_ms, end_ms): start_ms <= trade time < end_ms, None for
    an open end. `ConfigError` for text that is neither a day nor a time, or an empty range."""
    start = None if first is None else parse_moment(first, "--from")[0]
    end = None
    if last is not None:
        end, is_day = parse_moment(last, "--to")
        end += DAY_MS if is_day else 0
    if start is not None and end is not None and start >= end:
        if first is not None and last is not None and _DAY.fullmatch(last.strip()):
            raise ConfigError(f"--from {first.strip()} is after --to {last.strip()}")
        raise ConfigError(
            f"--from {first} is after --to {last} or equal to it (--to is exclusive for a "
            "time): the range holds no time"
        )
    return start, end


def utc_text(ms: int) -> str:
    """Epoch ms as ISO UTC text to the millisecond: 2019-05-25T00:00:01.234Z."""
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def describe(start: int | None, end: int | None) -> str:
    """The range for messages: ' from A to B' (end exclusive), ' from A on', ' before B'."""
    if start is not None and end is not None:
        return f" from {utc_text(start)} to {utc_text(end)} (excluded)"
    if start is not None:
        return f" from {utc_text(start)} on"
    return "" if end is None else f" before {utc_text(end)}"


def _ms(at: datetime) -> int:
    return int(at.replace(tzinfo=UTC).timestamp()) * 1000


__all__ = ["DAY_MS", "HELP_FROM", "HELP_TO", "describe", "parse_moment", "time_range", "utc_text"]
