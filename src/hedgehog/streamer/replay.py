"""Replay recorded trades on the trade topics, for paper trading on recorded data.

`ReplayPublisher` merges the trades of `TradeTable`s in time order (ties: in the order the
tables were given, then by trade id) and publishes each on `TRADE_EVENTS:<SYMBOL>`, exactly
where the live streamer publishes. At `speed` s > 0, trades keep their own pace, s times
faster (a trade t ms after the first is published (t / 1000) / s seconds after the start), on
the runtime clock, so a `VirtualClock` replays deterministically. At speed 0 trades go as fast
as possible, `batch` at a time, yielding to the event loop between batches so the subscribers
keep up and the node stays responsive.

Calls: `"start"` (resume), `"pause"`, `("speed", s)`, `"info"`, `"wait"` (replies with the
number of trades published once the replay has finished).
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Iterator, Sequence
from typing import Any

from hedgehog.core.types import TradeEvent, trade_topic
from hedgehog.market.tables import TradeTable
from hedgehog.runtime import NOREPLY, Process
from hedgehog.runtime.pubsub import Broadcaster

_EPSILON = 1e-9  # float slack when comparing a trade's due time with the clock


class ReplayPublisher(Process):
    """`await rt.start(ReplayPublisher, pubsub, [table, ...], speed=1.0)`."""

    def init(
        self,
        pubsub: Broadcaster,
        tables: Sequence[TradeTable],
        speed: float = 1.0,
        batch: int = 1000,
        autostart: bool = True,
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0 (0: as fast as possible), got {speed}")
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self.pubsub = pubsub
        self.symbols = sorted({t.symbol for t in tables})
        self.total = sum(len(t) for t in tables)
        self.speed = speed
        self.batch = batch
        self.published = 0
        self.ticks = 0
        self.running = False
        self._events: Iterator[tuple[int, int, int, TradeEvent]] = heapq.merge(
            *(_keyed(i, t) for i, t in enumerate(tables))
        )
        self._next: TradeEvent | None = self._pull()
        self._gen = 0
        self._anchor = (0.0, 0)  # (clock reading, trade time in ms) that are "the same moment"
        self._waiters: list[asyncio.Future[Any]] = []
        if autostart:
            self._play()

    @property
    def done(self) -> bool:
        return self._next is None

    def handle_call(self, request: Any, from_: asyncio.Future[Any]) -> Any:
        match request:
            case "start":
                self._play()
                return self.info()
            case "pause":
                self._pause()
                return self.info()
            case ("speed", speed) if isinstance(speed, int | float) and speed >= 0:
                running = self.running
                self._pause()
                self.speed = float(speed)
                if running:
                    self._play()
                return self.info()
            case "info":
                return self.info()
            case "wait":
                if self.done:
                    return self.published
                self._waiters.append(from_)
                return NOREPLY
        raise ValueError(f"{self!r} got an unexpected call: {request!r}")

    def handle_info(self, message: Any) -> None:
        match message:
            case ("tick", gen) if gen == self._gen:
                self._tick()

    def info(self) -> dict[str, Any]:
        upcoming = self._next
        return {
            "symbols": self.symbols,
            "total": self.total,
            "published": self.published,
            "speed": self.speed,
            "running": self.running,
            "done": self.done,
            "next_trade_time": upcoming.trade_time if upcoming is not None else None,
        }

    # -- machinery --------------------------------------------------------------------------
    def _pull(self) -> TradeEvent | None:
        item = next(self._events, None)
        return item[3] if item is not None else None

    def _play(self) -> None:
        if self.running or self.done:
            return
        self.running = True
        self._gen += 1
        assert self._next is not None
        self._anchor = (self.rt.clock.monotonic(), self._next.trade_time)
        self.rt.send(self, ("tick", self._gen))

    def _pause(self) -> None:
        self.running = False
        self._gen += 1  # pending ticks are ignored

    def _tick(self) -> None:
        self.ticks += 1
        broadcast = self.pubsub.broadcast
        budget = self.batch
        speed = self.speed
        now = self.rt.clock.monotonic()
        anchor_clock, anchor_time = self._anchor
        trade = self._next
        while trade is not None:
            if speed > 0:
                due = anchor_clock + (trade.trade_time - anchor_time) / 1000.0 / speed
                if due > now + _EPSILON:
                    self._next = trade
                    self.rt.send_after(self, ("tick", self._gen), due - now)
                    return
            if budget == 0:
                self._next = trade
                self.rt.loop.call_soon(self.rt.send, self, ("tick", self._gen))
                return
            broadcast(trade_topic(trade.symbol), trade)
            self.published += 1
            budget -= 1
            trade = self._pull()
        self._next = None
        self.running = False
        for waiter in self._waiters:
            self.reply(waiter, self.published)
        self._waiters.clear()


def _keyed(index: int, table: TradeTable) -> Iterator[tuple[int, int, int, TradeEvent]]:
    for event in table.events():
        yield (event.trade_time, index, event.trade_id, event)
