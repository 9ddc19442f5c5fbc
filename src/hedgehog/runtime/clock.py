"""Injected clocks. Timers and timeouts go through a clock so tests and backtests run on
virtual time and never `sleep` to synchronise.

- `WallClock`: the event loop's timers and the system time.
- `VirtualClock`: time moves only when `advance`/`advance_to` is called; due timers fire then,
  in deadline order (ties in scheduling order).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any, Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the runtime needs to know about time."""

    def time(self) -> float:
        """Seconds since the Unix epoch (virtual in backtests)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for intervals."""
        ...

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> TimerHandle:
        """Run `callback(*args)` after `delay` seconds of this clock's time."""
        ...


class WallClock:
    """Real time: asyncio's loop timers and `time.time()`."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def call_later(
        self, delay: float, callback: Callable[..., Any], *args: Any
    ) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback, *args)


class VirtualTimer:
    """A timer of the virtual clock; cancelling it is O(1) (it is skipped when due)."""

    __slots__ = ("args", "callback", "cancelled", "deadline")

    def __init__(self, deadline: float, callback: Callable[..., Any], args: tuple[Any, ...]):
        self.deadline = deadline
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """Time that moves only when told to. Both `time()` and `monotonic()` read it."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, VirtualTimer]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> VirtualTimer:
        timer = VirtualTimer(self._now + max(0.0, delay), callback, args)
        heapq.heappush(self._timers, (timer.deadline, next(self._seq), timer))
        return timer

    def next_deadline(self) -> float | None:
        """Deadline of the earliest pending timer, or None."""
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def advance_to(self, when: float) -> int:
        """Move time to `when` (never backwards), firing due timers in order. Returns how many."""
        fired = 0
        timers = self._timers
        while timers and timers[0][0] <= when:
            deadline, _, timer = heapq.heappop(timers)
            if timer.cancelled:
                continue
            self._now = max(self._now, deadline)
            timer.cancelled = True
            timer.callback(*timer.args)
            fired += 1
        self._now = max(self._now, when)
        return fired

    def advance(self, seconds: float) -> int:
        """Move time forward by `seconds`, firing due timers."""
        return self.advance_to(self._now + seconds)
