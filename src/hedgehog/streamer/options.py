"""Tunables of the stream connections, and the two small tools they use: a jittered
exponential backoff and a rate-limited logger.

Defaults follow Binance's WebSocket market stream rules (spot `web-socket-streams.md`):
a connection lives at most 24 h, carries at most 1,024 streams, may receive at most 5 messages
a second from us (SUBSCRIBE/UNSUBSCRIBE requests, and our PING and PONG frames too, so
requests get 4 of the 5), and the server pings every 20 s and drops us if no pong comes back
within a minute. The URL of a combined stream is kept under ~8,000 characters, a limit the
server enforces; streams beyond it are added with SUBSCRIBE after connecting.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_STREAMS_PER_CONNECTION = 1024
"""Binance's limit of streams on one connection."""


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """How a `StreamConnection` connects, reconnects, rotates and paces its requests.

    Times are seconds. Tests pass tiny values; the defaults suit Binance.
    """

    backoff_base: float = 0.5
    """First reconnect delay; it doubles (`backoff_factor`) after each failure..."""
    backoff_max: float = 30.0
    """...up to this."""
    backoff_factor: float = 2.0
    backoff_jitter: float = 0.5
    """Each delay is multiplied by a random factor in [1 - jitter, 1], so that many clients
    cut off at once do not come back in lockstep."""
    stable_after: float = 60.0
    """A connection that stayed up this long (runtime clock) resets the backoff."""
    rotate_after: float = 23.5 * 3600
    """Open a fresh connection before Binance's 24 h cut-off (runtime clock)."""
    rotation_overlap: float = 2.0
    """During a rotation the old connection stays open this long after the new one is
    subscribed, so that no trade falls between the two; duplicates are dropped by trade id."""
    connect_timeout: float = 10.0
    """Budget of one connection attempt (TCP, TLS and WebSocket handshake)."""
    heartbeat: float | None = 30.0
    """When nothing (no trade, no server ping) arrived for this long, aiohttp pings the server
    and closes the connection if no pong comes within half of it: a dead peer is noticed in
    at most 1.5x this. Binance pings every 20 s, so on a healthy connection we never ping."""
    close_timeout: float = 2.0
    """How long a clean WebSocket close may take before the socket is simply dropped."""
    max_requests_per_window: int = 4
    """SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS requests sent per `request_window`."""
    request_window: float = 1.0
    max_params_per_request: int = 200
    """Streams named in one SUBSCRIBE/UNSUBSCRIBE (Binance silently refuses very long ones)."""
    max_url_length: int = 7_500
    """Streams that do not fit in a URL this long are subscribed after connecting."""
    log_interval: float = 10.0
    """The same kind of warning (malformed frame, gap of one symbol...) is logged at most once
    per interval (runtime clock); the ones in between are counted and reported with the next."""
    seed: int | None = None
    """Seed of the backoff jitter (tests); None draws from the system."""

    def __post_init__(self) -> None:
        if self.backoff_base <= 0 or self.backoff_max < self.backoff_base:
            raise ValueError("backoff_base must be > 0 and backoff_max >= backoff_base")
        if self.backoff_factor < 1 or not 0 <= self.backoff_jitter < 1:
            raise ValueError("backoff_factor must be >= 1 and backoff_jitter in [0, 1)")
        if self.rotate_after <= 0 or self.rotation_overlap < 0:
            raise ValueError("rotate_after must be > 0 and rotation_overlap >= 0")
        if self.max_requests_per_window < 1 or self.request_window <= 0:
            raise ValueError("max_requests_per_window must be >= 1 and request_window > 0")
        if self.max_params_per_request < 1:
            raise ValueError("max_params_per_request must be >= 1")


class Backoff:
    """Jittered exponential backoff: base, base*factor, base*factor^2 ... capped at `cap`."""

    def __init__(
        self,
        base: float,
        cap: float,
        factor: float = 2.0,
        jitter: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.base = base
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        self.rng = rng or random.Random()
        self.attempts = 0

    @classmethod
    def from_options(cls, options: ConnectionOptions) -> Backoff:
        return cls(
            options.backoff_base,
            options.backoff_max,
            options.backoff_factor,
            options.backoff_jitter,
            random.Random(options.seed),
        )

    def peek(self) -> float:
        """The un-jittered delay the next call to `next()` is based on."""
        return float(min(self.cap, self.base * self.factor**self.attempts))

    def next(self) -> float:
        """The delay before the next attempt; each call makes the following one longer."""
        delay = self.peek()
        if delay < self.cap:
            self.attempts += 1
        if self.jitter:
            delay *= 1.0 - self.jitter * self.rng.random()
        return delay

    def reset(self) -> None:
        self.attempts = 0


class LogLimiter:
    """Logs a kind of message (a key) at most once per `interval`; counts the ones it drops.

    A stream can turn bad at thousands of frames a second; the log must not drown in it.
    """

    def __init__(self, logger: logging.Logger, interval: float, now: Callable[[], float]) -> None:
        self.logger = logger
        self.interval = interval
        self.now = now
        self._last: dict[str, float] = {}
        self._dropped: dict[str, int] = {}

    def log(self, level: int, key: str, msg: str, *args: Any) -> bool:
        """Log unless `key` was logged less than `interval` ago. True if it was logged."""
        now = self.now()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._dropped[key] = self._dropped.get(key, 0) + 1
            return False
        self._last[key] = now
        dropped = self._dropped.pop(key, 0)
        if dropped:
            msg += " (%d more like this since the last report)"
            args = (*args, dropped)
        self.logger.log(level, msg, *args)
        return True

    def warning(self, key: str, msg: str, *args: Any) -> bool:
        return self.log(logging.WARNING, key, msg, *args)
