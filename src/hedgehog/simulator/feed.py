"""The market feed of the simulator: recorded or synthetic trades, replayed at a chosen pace.

A source is an iterator of `(offset, trade)`: `offset` is the trade's time in seconds from the
start of the feed at speed 1. Recorded tables keep their own pace (several symbols merged in
time order); a synthetic market prints `rate` trades per second per symbol, generated in chunks
from a seed, so it can run for hours in little memory and always gives the same trades.
`Replayer` publishes a source at `speed` times its pace, or as fast as possible at speed 0,
yielding to the event loop after every batch (and awaiting `throttle`, if given, to go at the
pace of the slowest client).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from decimal import Decimal

import numpy as np

from hedgehog.core.types import TradeEvent
from hedgehog.market.merge import merged_events
from hedgehog.market.synthetic import synthetic_trades
from hedgehog.market.tables import TradeTable

Source = Iterator[tuple[float, TradeEvent]]
SYNTHETIC_RATE = 10.0  # trades per second per symbol at speed 1
SYNTHETIC_CHUNK = 65_536
BATCH = 512
log = logging.getLogger(__name__)


def recorded_source(tables: Iterable[TradeTable]) -> Source:
    """The trades of all tables in the one merge order (`hedgehog.market.merge`: time, then
    symbol), as offsets in seconds from the first trade."""
    tables = [t for t in tables if len(t)]
    if not tables:
        return
    start = min(int(t.time[0]) for t in tables)
    for event in merged_events(tables):
        yield (event.trade_time - start) / 1000, event


def synthetic_source(
    symbols: Sequence[str],
    seed: int,
    rate: float = SYNTHETIC_RATE,
    chunk: int = SYNTHETIC_CHUNK,
) -> Source:
    """An endless synthetic market: one trade per symbol every 1/rate s (symbol i: seed + i)."""
    if rate <= 0 or chunk < 1 or seed < 0:
        raise ValueError("rate and chunk must be positive, seed >= 0")
    walks = [synthetic_walk(s, seed + i, chunk) for i, s in enumerate(symbols)]
    if not walks:
        return
    for step in itertools.count():
        offset = step / rate
        for walk in walks:
            yield offset, next(walk)


def synthetic_walk(symbol: str, seed: int, chunk: int = SYNTHETIC_CHUNK) -> Iterator[TradeEvent]:
    """`synthetic_trades` continued chunk after chunk: chunk 0 is `synthetic_trades(symbol,
    chunk, seed)`; each next chunk starts at the last price, id and time of the one before."""
    price, first_id, start_ms = Decimal("1.0"), 1, 1_700_000_000_000
    for k in itertools.count():
        chunk_seed = seed if k == 0 else int(np.random.SeedSequence([seed, k]).generate_state(1)[0])
        table = synthetic_trades(
            symbol, chunk, chunk_seed, start_price=price, first_id=first_id,
            start_time_ms=start_ms,
        )  # fmt: skip
        yield from table.events()
        price = table.price_decimal(len(table) - 1)
        first_id += len(table)
        start_ms = int(table.time[-1]) + 1


class Replayer:
    """Publishes a source at `speed` x its pace (0: as fast as possible); pause and resume."""

    def __init__(
        self,
        source: Source,
        speed: float,
        publish: Callable[[TradeEvent], object],
        batch: int = BATCH,
        paused: bool = False,
        throttle: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`clock` and `sleep` pace the replay (injectable: tests check the pace on a virtual
        clock instead of timing it)."""
        if not math.isfinite(speed) or speed < 0:
            raise ValueError(f"speed must be a finite number >= 0, not {speed}")
        self.speed = speed
        self.done = asyncio.Event()
        self._source = source
        self._publish = publish
        self._batch = max(1, batch)
        self._throttle = throttle
        self._clock, self._sleep = clock, sleep
        self._running = asyncio.Event()
        if not paused:
            self._running.set()
        self._anchor: tuple[float, float] | None = None  # (monotonic time, feed offset)
        self._task: asyncio.Task[None] | None = None

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sim-replay")

    def pause(self) -> None:
        """No trade is published after this returns, until `resume`."""
        self._running.clear()

    def resume(self) -> None:
        """Continue from the next trade, at the same pace from now on (no catching up)."""
        if not self._running.is_set():
            self._anchor = None
            self._running.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        source, publish, batch = self._source, self._publish, self._batch
        pending = next(source, None)
        try:
            while pending is not None:
                await self._running.wait()
                if self.speed == 0:
                    for _ in range(batch):
                        publish(pending[1])
                        pending = next(source, None)
                        if pending is None:
                            break
                    await asyncio.sleep(0)
                    if self._throttle is not None:
                        await self._throttle()
                    continue
                now = self._clock()
                if self._anchor is None:
                    self._anchor = (now, pending[0])
                wall, offset = self._anchor
                sent = 0
                while pending is not None and sent < batch:
                    due = wall + (pending[0] - offset) / self.speed
                    if due > now:
                        break
                    publish(pending[1])
                    sent += 1
                    pending = next(source, None)
                if sent or pending is None:
                    await asyncio.sleep(0)
                else:
                    await self._sleep(min(due - now, 1.0))
        except Exception:
            log.exception("the replay of the market feed failed")
            raise
        finally:
            self.done.set()
