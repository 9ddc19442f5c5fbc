"""Binance's request rate limits as a policy without I/O (sans-io, in the manner of h11).

Why apart from the client: the rules are arithmetic on times and headers, so they are tested
with plain numbers, and the REST client (`rest.py`) only carries out what they decide: it
sleeps, logs, sends or raises. Nothing here awaits, logs or reads a clock; every time is an
argument, on one of two clocks:

- `now`: the local wall clock in seconds, on which a 429 hold and a 418 ban end;
- `server_ms`: the server's clock in milliseconds, whose minute the request weight counts in.

The rules, after Binance's spot API docs:

- Every `X-MBX-USED-WEIGHT-*` and `X-MBX-ORDER-COUNT-*` header is recorded. The 1-minute weight
  counts only in the server minute it was reported in (0 after a rollover).
- Above 90% of `max_weight_per_minute`, the next request waits for the minute to roll over.
- HTTP 429 holds every following request until `Retry-After` has passed (without one: until
  the next minute).
- HTTP 418 (IP ban) refuses every request until the ban ends: `Retry-After`, else the
  "banned until <ms>" of the message, else 2 minutes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

USED_WEIGHT_PREFIX = "X-MBX-USED-WEIGHT-"
ORDER_COUNT_PREFIX = "X-MBX-ORDER-COUNT-"
USED_WEIGHT_1M = "X-MBX-USED-WEIGHT-1M"
THROTTLE_FRACTION = 0.9  # wait for the next minute above this share of the weight limit
MINUTE_MS = 60_000
ROLLOVER_MARGIN = 0.05  # seconds past the minute boundary before sending again
DEFAULT_BAN_SECONDS = 120.0  # Binance bans last 2 minutes to 3 days
_BANNED_UNTIL = re.compile(r"banned until (\d{12,})")


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    """What Binance's rate-limit headers said last, and what the client is holding back for."""

    weight_used: int  # X-MBX-USED-WEIGHT-1M in the current minute (0 after a rollover)
    max_weight_per_minute: int
    counters: dict[str, int] = field(default_factory=dict)  # every header seen, by name
    retry_after: float = 0.0  # seconds until requests may go out again (after 429 or 418)
    banned: bool = False  # an IP ban (HTTP 418) is in force

    @property
    def weight_fraction(self) -> float:
        return self.weight_used / self.max_weight_per_minute if self.max_weight_per_minute else 0


@dataclass(frozen=True, slots=True)
class Hold:
    """A decision on a request: wait `seconds` (never negative) before sending it, or, when
    `banned`, do not send it at all (the ban ends in `seconds`)."""

    seconds: float = 0.0
    banned: bool = False


def seconds_to_next_minute(server_ms: int) -> float:
    """Seconds from `server_ms` to the start of the next server minute."""
    return ((server_ms // MINUTE_MS + 1) * MINUTE_MS - server_ms) / 1000


class Pacer:
    """The rate-limit state of one client: fed responses, asked before every request."""

    def __init__(self, max_weight_per_minute: int) -> None:
        self.max_weight_per_minute = max_weight_per_minute
        self.counters: dict[str, int] = {}  # the last value of every rate-limit header
        self.weight_minute = -1  # server minute of the last X-MBX-USED-WEIGHT-1M header
        self.retry_at = 0.0  # `now` before which no request is sent (HTTP 429)
        self.banned_until = 0.0  # `now` before which every request is refused (HTTP 418)

    # -- questions -----------------------------------------------------------------------
    def weight_used(self, server_ms: int) -> int:
        """Request weight used in the minute of `server_ms`, per the last 1-minute header."""
        if self.weight_minute != server_ms // MINUTE_MS:
            return 0
        return self.counters.get(USED_WEIGHT_1M, 0)

    def status(self, now: float, server_ms: int) -> RateLimitStatus:
        """The headers last seen, and any wait imposed by a 429 or a 418."""
        wait = max(self.retry_at, self.banned_until) - now
        return RateLimitStatus(
            weight_used=self.weight_used(server_ms),
            max_weight_per_minute=self.max_weight_per_minute,
            counters=dict(self.counters),
            retry_after=max(0.0, wait),
            banned=self.banned_until > now,
        )

    def before_send(self, now: float) -> Hold:
        """What Binance imposed: refuse during a ban (418), wait out a 429's hold."""
        if self.banned_until > now:
            return Hold(self.banned_until - now, banned=True)
        if self.retry_at > now:
            return Hold(self.retry_at - now)
        return Hold()

    def throttle(self, server_ms: int) -> float:
        """What the client imposes on itself: seconds to wait for the next minute when more
        than `THROTTLE_FRACTION` of the weight is used (0: send now). Asked after any hold
        from `before_send` has been waited out."""
        if self.weight_used(server_ms) > THROTTLE_FRACTION * self.max_weight_per_minute:
            return seconds_to_next_minute(server_ms) + ROLLOVER_MARGIN
        return 0.0

    # -- events --------------------------------------------------------------------------
    def record(self, headers: Mapping[str, str], server_ms: int) -> None:
        """Take the rate-limit headers of any answer, received at `server_ms`."""
        for name, value in headers.items():
            upper = name.upper()
            if upper.startswith((USED_WEIGHT_PREFIX, ORDER_COUNT_PREFIX)):
                try:
                    self.counters[upper] = int(value)
                except ValueError:
                    continue
                if upper == USED_WEIGHT_1M:
                    self.weight_minute = server_ms // MINUTE_MS

    def rate_limited(
        self, status: int, headers: Mapping[str, str], body: object, now: float, server_ms: int
    ) -> Hold:
        """Take a 429 or 418 answer (`body`: its parsed JSON); return the wait to report."""
        if status == 418:
            retry = retry_after(headers, body, server_ms, DEFAULT_BAN_SECONDS)
            self.banned_until = max(self.banned_until, now + retry)
            return Hold(retry, banned=True)
        retry = retry_after(headers, body, server_ms, seconds_to_next_minute(server_ms))
        self.retry_at = max(self.retry_at, now + retry)
        return Hold(retry)


MAX_WAIT = 3 * 24 * 3600.0
"""The longest wait believed: Binance's IP bans last from 2 minutes to 3 days, so a larger
`Retry-After` (or "banned until") is a broken answer, not a reason to sleep for ever."""


def retry_after(headers: Mapping[str, str], body: object, server_ms: int, default: float) -> float:
    """Seconds to wait, from a `Retry-After` header, else a "banned until <ms>" message; at
    most `MAX_WAIT`."""
    value = headers.get("Retry-After")
    if value is not None:
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if seconds >= 0:  # NaN is not
            return min(seconds, MAX_WAIT)
    if isinstance(body, dict):
        match = _BANNED_UNTIL.search(str(body.get("msg", "")))
        if match:
            return min(max(0.0, (int(match.group(1)) - server_ms) / 1000), MAX_WAIT)
    return default
