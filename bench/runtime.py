"""Benchmark of the process runtime (issue 2): casts, broadcasts, calls, spawns, memory.

    python bench/runtime.py [--quick] [--json] [--uvloop]

Goals on a 2-core machine: >= 1,000,000 casts/s delivered and handled, call round trip
<= 20 µs median, >= 20,000 process start+stop per second, <= 4 KiB per idle process.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import statistics
import sys
import time
import tracemalloc
from typing import Any

from hedgehog.runtime import Process, Runtime
from hedgehog.runtime.pubsub import PubSub


class Sink(Process):
    """Counts what it receives; tells a future when it has seen `expect` messages."""

    def init(self) -> None:
        self.count = 0
        self.expect = 0
        self.done: asyncio.Future[None] | None = None

    def handle_cast(self, message: Any) -> None:
        self.count += 1
        if self.count == self.expect and self.done is not None:
            self.done.set_result(None)

    handle_info = handle_cast

    def handle_call(self, request: Any, from_: Any) -> Any:
        return request


class Sender(Process):
    """Casts `n` messages to a target from inside a callback (process to process)."""

    def handle_cast(self, message: Any) -> None:
        target, n = message
        cast = self.rt.cast
        for i in range(n):
            cast(target, i)


class Pinger(Process):
    """Calls a target `n` times in a row and records each round trip."""

    async def handle_call(self, request: Any, from_: Any) -> list[float]:
        target, n = request
        call = self.rt.call
        clock = time.perf_counter
        times = []
        for i in range(n):
            t0 = clock()
            await call(target, i)
            times.append(clock() - t0)
        return times


class Idle(Process):
    def init(self) -> None:
        self.state = 0


async def bench_cast(rt: Runtime, n: int) -> float:
    sink = await rt.start(Sink)
    sender = await rt.start(Sender)
    sink.expect = n
    sink.done = rt.loop.create_future()
    t0 = time.perf_counter()
    rt.cast(sender, (sink, n))
    await sink.done
    return n / (time.perf_counter() - t0)


async def bench_queue_baseline(n: int) -> float:
    """The yardstick: a plain asyncio.Queue from one task to a consumer task."""
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    count = 0

    async def consume() -> None:
        nonlocal count
        while (item := await queue.get()) is not None:
            count += item

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0)
    t0 = time.perf_counter()
    put = queue.put_nowait
    for _ in range(n):
        put(1)
    put(None)
    await consumer
    return n / (time.perf_counter() - t0)


async def bench_broadcast(rt: Runtime, subscribers: int, n: int) -> float:
    pubsub = PubSub(rt)
    sinks = [await rt.start(Sink) for _ in range(subscribers)]
    for s in sinks:
        pubsub.subscribe(s, "T")
        s.expect = n
        s.done = rt.loop.create_future()
    t0 = time.perf_counter()
    broadcast = pubsub.broadcast
    for i in range(n):
        broadcast("T", i)
        if i % 1000 == 999:
            await asyncio.sleep(0)
    await asyncio.gather(*(s.done for s in sinks if s.done is not None))
    return n / (time.perf_counter() - t0)  # messages published per second


async def bench_call(rt: Runtime, n: int) -> tuple[float, float]:
    sink = await rt.start(Sink)
    pinger = await rt.start(Pinger)
    times = await rt.call(pinger, (sink, n), timeout=None)
    # a call from a plain task to a busy process (forces the slow path)
    slow = []
    for i in range(n // 10):
        rt.cast(sink, i)  # the sink is queued, so the call waits its turn
        t0 = time.perf_counter()
        await rt.call(sink, i)
        slow.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6, statistics.median(slow) * 1e6


async def bench_spawn(rt: Runtime, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        p = await rt.start(Idle)
        await rt.stop(p)
        if i % 100 == 99:
            await asyncio.sleep(0)  # let the stopped processes' tasks finish, as they must
    await asyncio.sleep(0)
    return n / (time.perf_counter() - t0)


async def bench_memory(rt: Runtime, n: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    procs = [await rt.start(Idle) for _ in range(n)]
    await asyncio.sleep(0)  # let each process's task park
    await asyncio.sleep(0)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    for p in procs:
        rt.kill(p)
    await asyncio.sleep(0)
    return (after - before) / n


async def main(quick: bool) -> dict[str, Any]:
    scale = 10 if quick else 1
    rt = Runtime()
    results: dict[str, Any] = {}
    results["cast_per_s"] = max([await bench_cast(rt, 1_000_000 // scale) for _ in range(3)])
    results["asyncio_queue_per_s"] = max(
        [await bench_queue_baseline(1_000_000 // scale) for _ in range(3)]
    )
    for subs in (1, 5, 50):
        n = (1_000_000 // subs) // scale
        rate = max([await bench_broadcast(rt, subs, n) for _ in range(2)])
        results[f"broadcast_{subs}_msgs_per_s"] = rate
        results[f"broadcast_{subs}_deliveries_per_s"] = rate * subs
    fast, slow = await bench_call(rt, 100_000 // scale)
    results["call_us_median_idle_target"] = fast
    results["call_us_median_busy_target"] = slow
    results["spawn_stop_per_s"] = max([await bench_spawn(rt, 20_000 // scale) for _ in range(3)])
    results["bytes_per_idle_process"] = await bench_memory(rt, 10_000 // scale)
    await rt.shutdown()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer iterations (CI)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        uvloop.install()
    res = asyncio.run(main(args.quick))
    res["python"] = sys.version.split()[0]
    res["loop"] = "uvloop" if args.uvloop else "asyncio"
    res["machine"] = platform.machine()
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:36s} {v:,.1f}" if isinstance(v, float) else f"{k:36s} {v}")
