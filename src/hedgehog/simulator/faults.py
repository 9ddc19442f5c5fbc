"""Faults injected on demand into the simulator (`POST /_sim/faults`).

`Faults` holds what is pending and counts what was injected; the REST middleware, the order
handler and the control endpoints consume it. It never sleeps or touches a socket itself.

Accepted keys of a request (any combination, counts add up):
- `{"drop_streams": true}`: close every trade-stream connection now (abruptly, as a network drop);
- `{"drop_user_streams": true}`: the same for every WebSocket API connection;
- `{"delay_ms": N, "count": k}`: the next k REST requests wait N ms before they are handled;
- `{"timeout_next_orders": k}`: the next k order placements are executed but never answered;
- `{"http_5xx_next": k, "execute": false}`: the next k REST requests answer HTTP 503 (after
  executing the request when `execute` is true: the "unknown outcome" case);
- `{"http_429_next": k, "retry_after": s}`: the next k REST requests answer HTTP 429;
- `{"malformed_frames": k}`: send k garbage frames on every trade-stream connection now.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_COUNTS = ("count", "timeout_next_orders", "http_5xx_next", "http_429_next", "malformed_frames")
_KEYS = frozenset(
    ("drop_streams", "drop_user_streams", "delay_ms", "execute", "retry_after", *_COUNTS)
)

GARBAGE_FRAMES = (
    '{"e":"trade","E":',  # truncated JSON
    "\x00\x01 not json at all",
    '{"e":"trade","s":"???","t":"x","p":null}',  # JSON of the wrong shape
    "[]",
)


class FaultError(ValueError):
    """A fault request that cannot be understood; answered with HTTP 400."""


@dataclass
class FaultRequest:
    """A validated `POST /_sim/faults` body."""

    drop_streams: bool = False
    drop_user_streams: bool = False
    delay_ms: int = 0
    count: int = 0
    timeout_next_orders: int = 0
    http_5xx_next: int = 0
    execute: bool = False
    http_429_next: int = 0
    retry_after: int = 1
    malformed_frames: int = 0

    @classmethod
    def parse(cls, body: Any) -> FaultRequest:
        if not isinstance(body, dict) or not body:
            raise FaultError("expected a non-empty JSON object")
        unknown = sorted(set(body) - _KEYS)
        if unknown:
            raise FaultError(f"unknown fault keys {unknown}; known: {sorted(_KEYS)}")
        request = cls()
        for key, value in body.items():
            if key in ("drop_streams", "drop_user_streams", "execute"):
                if not isinstance(value, bool):
                    raise FaultError(f"{key} must be true or false")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise FaultError(f"{key} must be an integer >= 0")
            setattr(request, key, value)
        if request.delay_ms and not request.count:
            request.count = 1
        return request


@dataclass
class Faults:
    """Pending faults and the count of injected ones, by kind."""

    delay_ms: int = 0
    delays_left: int = 0
    timeouts_left: int = 0
    errors_left: int = 0
    errors_execute: bool = False
    throttles_left: int = 0
    retry_after: int = 1
    injected: Counter[str] = field(default_factory=Counter)

    def add(self, request: FaultRequest) -> None:
        """Arm the counted faults of a request (the immediate ones are the caller's job)."""
        if request.count and request.delay_ms:
            self.delay_ms = request.delay_ms
            self.delays_left += request.count
        self.timeouts_left += request.timeout_next_orders
        if request.http_5xx_next:
            self.errors_left += request.http_5xx_next
            self.errors_execute = request.execute
        if request.http_429_next:
            self.throttles_left += request.http_429_next
            self.retry_after = request.retry_after or 1

    def take_delay(self) -> float:
        """Seconds to delay the current REST request (0: none)."""
        if not self.delays_left:
            return 0.0
        self.delays_left -= 1
        self.injected["delay"] += 1
        return self.delay_ms / 1000

    def take_throttle(self) -> int | None:
        """Retry-After seconds when the current request must answer 429."""
        if not self.throttles_left:
            return None
        self.throttles_left -= 1
        self.injected["http_429"] += 1
        return self.retry_after

    def take_error(self) -> bool | None:
        """None, or whether the current request is executed before it answers 503."""
        if not self.errors_left:
            return None
        self.errors_left -= 1
        self.injected["http_5xx"] += 1
        return self.errors_execute

    def take_timeout(self) -> bool:
        """True when the current order placement must never be answered."""
        if not self.timeouts_left:
            return False
        self.timeouts_left -= 1
        self.injected["timeout_order"] += 1
        return True

    def count(self, kind: str, n: int = 1) -> None:
        self.injected[kind] += n

    def pending(self) -> dict[str, int]:
        return {
            "delay_ms": self.delay_ms if self.delays_left else 0,
            "delays_left": self.delays_left,
            "timeouts_left": self.timeouts_left,
            "http_5xx_left": self.errors_left,
            "http_429_left": self.throttles_left,
        }
