"""ReplayPublisher on a virtual clock: trades of several tables in time order on their topics,
at their own pace times `speed`, as fast as possible (in batches that yield to the loop) at
speed 0, pause/resume and speed changes, waiting for the end."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from hedgehog.market.tables import SCALE, TradeTable
from hedgehog.runtime import InitError, Runtime, VirtualClock
from hedgehog.runtime.pubsub import PubSub
from hedgehog.streamer.replay import ReplayPublisher
from tests.streamer.conftest import Collector

T0 = 1_700_000_000_000


def table(symbol: str, times_ms: list[int], first_id: int = 1) -> TradeTable:
    n = len(times_ms)
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    price = (np.arange(n, dtype=np.int64) + 100) * SCALE // 100  # 1.00, 1.01, ...
    qty = np.full(n, 2 * SCALE, dtype=np.int64)
    time = np.array([T0 + t for t in times_ms], dtype=np.int64)
    return TradeTable(symbol, ids, price, qty, time, np.zeros(n, dtype=np.bool_))


def published(got: Collector) -> list[tuple[str, int]]:
    return [(t.symbol, t.trade_time - T0) for t in got.trades]


async def test_tables_are_merged_in_time_order_on_their_topics(
    rt: Runtime, pubsub: PubSub, collect: Any
) -> None:
    got = await collect("XRPUSDT", "BTCUSDT")
    xrp = table("XRPUSDT", [0, 2000, 4000])
    btc = table("BTCUSDT", [1000, 2000, 3000], first_id=50)
    replay = await rt.start(ReplayPublisher, pubsub, [xrp, btc], speed=0)
    assert await rt.call(replay, "wait") == 6
    await rt.quiesce()
    assert published(got) == [
        ("XRPUSDT", 0),
        ("BTCUSDT", 1000),
        ("XRPUSDT", 2000),  # a tie: the tables' order decides
        ("BTCUSDT", 2000),
        ("BTCUSDT", 3000),
        ("XRPUSDT", 4000),
    ]
    first = got.trades[0]
    assert first.price == Decimal("1") and first.quantity == Decimal("2")
    assert got.trades[1].trade_id == 50 and got.trades[2].price == Decimal("1.01")
    info = replay.info()
    assert info["done"] and info["published"] == info["total"] == 6 and not info["running"]


async def test_trades_keep_their_pace_times_speed(
    rt: Runtime, clock: VirtualClock, pubsub: PubSub, collect: Any
) -> None:
    got = await collect("XRPUSDT")
    start = clock.monotonic()
    replay = await rt.start(
        ReplayPublisher, pubsub, [table("XRPUSDT", [0, 1000, 1000, 3000, 9000])], speed=2.0
    )
    await rt.quiesce()
    assert got.ids() == [1]  # the first trade at once

    async def at(seconds: float) -> list[int]:
        clock.advance_to(start + seconds)
        await rt.quiesce()
        return got.ids()

    assert await at(0.49) == [1]
    assert await at(0.5) == [1, 2, 3]  # 1 s of market time at 2x
    assert await at(1.49) == [1, 2, 3]
    assert await at(1.5) == [1, 2, 3, 4]
    assert await at(4.49) == [1, 2, 3, 4]
    assert await at(4.5) == [1, 2, 3, 4, 5]
    assert replay.done
    assert await rt.call(replay, "wait") == 5


async def test_pause_resume_and_speed_change(
    rt: Runtime, clock: VirtualClock, pubsub: PubSub, collect: Any
) -> None:
    got = await collect("XRPUSDT")
    replay = await rt.start(
        ReplayPublisher,
        pubsub,
        [table("XRPUSDT", [0, 1000, 2000, 3000])],
        speed=1.0,
        autostart=False,
    )
    clock.advance(10)
    await rt.quiesce()
    assert got.ids() == [] and not replay.info()["running"]

    await rt.call(replay, "start")
    await rt.quiesce()
    assert got.ids() == [1]
    clock.advance(1.0)
    await rt.quiesce()
    assert got.ids() == [1, 2]

    await rt.call(replay, "pause")
    clock.advance(100)
    await rt.quiesce()
    assert got.ids() == [1, 2]

    await rt.call(replay, "start")  # resumes with the next trade now...
    await rt.quiesce()
    assert got.ids() == [1, 2, 3]
    await rt.call(replay, ("speed", 10.0))  # ...and the rest 10x faster
    clock.advance(0.1)
    await rt.quiesce()
    assert got.ids() == [1, 2, 3, 4] and replay.done


async def test_speed_zero_publishes_in_batches_that_yield_to_the_loop(
    rt: Runtime, pubsub: PubSub, collect: Any
) -> None:
    got = await collect("XRPUSDT")
    loop = asyncio.get_running_loop()
    seen: list[int] = []
    replay = await rt.start(
        ReplayPublisher, pubsub, [table("XRPUSDT", list(range(100)))], speed=0, batch=10
    )
    loop.call_soon(lambda: seen.append(replay.published))  # runs between two batches
    assert await rt.call(replay, "wait") == 100
    await rt.quiesce()
    assert got.ids() == list(range(1, 101))
    assert seen and 0 < seen[0] < 100
    assert replay.ticks == 10


async def test_bad_arguments_are_refused(rt: Runtime, pubsub: PubSub) -> None:
    with pytest.raises(InitError, match="speed"):
        await rt.start(ReplayPublisher, pubsub, [], speed=-1)
    empty = await rt.start(ReplayPublisher, pubsub, [TradeTable.empty("XRPUSDT")])
    assert empty.done and await rt.call(empty, "wait") == 0
