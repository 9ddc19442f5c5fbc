"""Fixtures of the streamer tests: a runtime on a virtual clock (rotation and backoff-reset
timing move only when a test advances it; network I/O is real, on 127.0.0.1), a fake Binance
stream server and a trade collector process (`tests.helpers.eventually` waits on the network)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import pytest

from hedgehog.core.types import TradeEvent, trade_topic
from hedgehog.runtime import Process, Runtime, VirtualClock
from hedgehog.runtime.pubsub import PubSub
from hedgehog.streamer import ConnectionOptions
from tests.streamer.fake_binance import FakeBinance

# Tiny delays: reconnects in 10-80 ms, fast request pacing, no heartbeat unless a test wants it.
FAST = ConnectionOptions(
    backoff_base=0.01,
    backoff_max=0.08,
    backoff_jitter=0.0,
    stable_after=10.0,
    rotate_after=1000.0,
    rotation_overlap=0.05,
    connect_timeout=2.0,
    heartbeat=None,
    close_timeout=0.5,
    max_requests_per_window=50,
    request_window=0.05,
    log_interval=0.0,
)


class Collector(Process):
    """Subscribes to the trade topics of `symbols` and keeps every TradeEvent it gets."""

    def init(self, pubsub: PubSub, symbols: Iterable[str]) -> None:
        self.trades: list[TradeEvent] = []
        for symbol in symbols:
            pubsub.subscribe(self, trade_topic(symbol))

    def handle_info(self, message: Any) -> None:
        if isinstance(message, TradeEvent):
            self.trades.append(message)

    def ids(self, symbol: str | None = None) -> list[int]:
        return [t.trade_id for t in self.trades if symbol is None or t.symbol == symbol]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(1_700_000_000.0)


@pytest.fixture
async def rt(clock: VirtualClock) -> AsyncIterator[Runtime]:
    """A runtime on `clock`; at the end every process is stopped (so sockets close cleanly)
    and the tasks they leave finish."""
    runtime = Runtime(clock)
    yield runtime
    await runtime.shutdown(timeout=5.0)
    for proc in list(runtime.processes.values()):
        runtime.kill(proc)
    current = asyncio.current_task()
    rest = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    if rest:
        await asyncio.wait(rest, timeout=3.0)


@pytest.fixture
def pubsub(rt: Runtime) -> PubSub:
    return PubSub(rt)


@pytest.fixture
async def server(rt: Runtime) -> AsyncIterator[FakeBinance]:
    """A fake Binance stream server on 127.0.0.1. At the end the runtime's processes are
    stopped first, so that clients close their sockets before the server goes."""
    fake = FakeBinance()
    await fake.start()
    yield fake
    await rt.shutdown(timeout=5.0)
    await fake.close()


@pytest.fixture
async def collect(rt: Runtime, pubsub: PubSub) -> Callable[..., Any]:
    async def start(*symbols: str) -> Collector:
        return await rt.start(Collector, pubsub, symbols)

    return start
