"""The registry (names of any hashable, freed the moment a process exits) and the clocks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from hedgehog.runtime import (
    AlreadyRegistered,
    Down,
    NoProcess,
    Process,
    Runtime,
    VirtualClock,
    WallClock,
)
from hedgehog.runtime.registry import Registry


class Echo(Process):
    def init(self) -> None:
        self.got: list[Any] = []

    def handle_call(self, request: Any, from_: Any) -> Any:
        return request

    def handle_cast(self, message: Any) -> None:
        if message == "crash":
            raise RuntimeError("crash")
        self.got.append(("cast", message))

    def handle_info(self, message: Any) -> None:
        self.got.append(("info", message))


NAMES = ["plain", ("leader", "XRPUSDT"), ("trader", "XRPUSDT", 2), 42, frozenset({"a", "b"})]


@pytest.mark.parametrize("name", NAMES, ids=repr)
async def test_names_of_any_hashable(rt: Runtime, name: Any) -> None:
    proc = await rt.start(Echo, name=name)
    assert proc.name == name
    assert rt.whereis(name) is proc
    assert await rt.call(name, "hi") == "hi"
    rt.cast(name, 1)
    rt.send(name, 2)
    watcher = await rt.start(Echo)
    ref = rt.monitor(watcher, name)
    await rt.quiesce()
    assert proc.got == [("cast", 1), ("info", 2)]
    await rt.stop(name)
    await rt.quiesce()
    assert watcher.got == [("info", Down(ref, proc, "normal"))]
    assert rt.whereis(name) is None
    with pytest.raises(NoProcess):
        await rt.call(name, "hi")


async def test_kill_by_name(rt: Runtime) -> None:
    proc = await rt.start(Echo, name=("x", 1))
    assert rt.kill(("x", 1)) is True
    assert rt.kill(("x", 1)) is False
    assert not proc.alive


async def test_already_registered(rt: Runtime) -> None:
    owner = await rt.start(Echo, name=("leader", "XRPUSDT"))
    before = dict(rt.processes)
    tasks_before = len(asyncio.all_tasks())
    with pytest.raises(AlreadyRegistered) as info:
        await rt.start(Echo, name=("leader", "XRPUSDT"))
    assert info.value.name == ("leader", "XRPUSDT")
    assert info.value.owner is owner
    assert rt.processes == before  # the refused process never existed
    assert len(asyncio.all_tasks()) == tasks_before
    assert rt.whereis(("leader", "XRPUSDT")) is owner


@pytest.mark.parametrize("how", ["stop", "kill", "crash", "exit"])
async def test_a_name_is_freed_the_moment_its_process_exits(rt: Runtime, how: str) -> None:
    old = await rt.start(Echo, name="svc")
    if how == "stop":
        await rt.stop("svc")
    elif how == "kill":
        rt.kill("svc")
    elif how == "crash":
        rt.cast(old, "crash")
        await rt.quiesce()
    else:
        rt.exit("svc", "bad")
    assert not old.alive
    assert rt.whereis("svc") is None
    new = await rt.start(Echo, name="svc")  # at once, no quiesce needed
    assert rt.whereis("svc") is new
    assert old.name is None


async def test_the_registry_does_not_grow(rt: Runtime) -> None:
    baseline_names = len(rt.registry)
    baseline_procs = len(rt.processes)
    for i in range(1000):
        proc = await rt.start(Echo, name=("once", i))
        if i % 3 == 0:
            await rt.stop(proc)
        elif i % 3 == 1:
            rt.kill(proc)
        else:
            rt.exit(proc, "gone")
    await rt.quiesce()
    assert len(rt.registry) == baseline_names
    assert len(rt.processes) == baseline_procs
    assert list(rt.registry.names()) == []


async def test_registry_rules(rt: Runtime) -> None:
    registry = Registry()
    proc = await rt.start(Echo, name="first")
    with pytest.raises(ValueError, match="already has the name"):
        registry.register("second", proc)
    registry.unregister("unknown")  # harmless
    assert registry.whereis("first") is None
    assert len(registry) == 0


# -- clocks --------------------------------------------------------------------------------------


def test_virtual_clock_fires_timers_in_deadline_order_ties_in_scheduling_order() -> None:
    clock = VirtualClock(start=100.0)
    fired: list[Any] = []
    clock.call_later(2.0, fired.append, "b")
    clock.call_later(1.0, fired.append, "a1")
    clock.call_later(1.0, fired.append, "a2")
    cancelled = clock.call_later(0.5, fired.append, "cancelled")
    clock.call_later(-5.0, fired.append, "now")  # negative delays are due at once
    cancelled.cancel()
    assert clock.time() == clock.monotonic() == 100.0
    assert clock.next_deadline() == 100.0
    assert clock.advance(0) == 1
    assert fired == ["now"]
    assert clock.next_deadline() == 101.0  # the cancelled timer is skipped
    assert clock.advance(1.5) == 2
    assert fired == ["now", "a1", "a2"]
    assert clock.time() == 101.5
    assert clock.advance_to(50.0) == 0  # never backwards
    assert clock.time() == 101.5
    assert clock.advance_to(200.0) == 1
    assert fired == ["now", "a1", "a2", "b"]
    assert clock.next_deadline() is None
    assert clock.time() == 200.0


def test_virtual_clock_time_is_the_deadline_inside_a_timer() -> None:
    clock = VirtualClock()
    seen: list[float] = []

    def tick(n: int) -> None:
        seen.append(clock.time())
        if n:
            clock.call_later(1.0, tick, n - 1)  # timers scheduled by timers fire if due

    clock.call_later(1.0, tick, 3)
    assert clock.advance(10) == 4
    assert seen == [1.0, 2.0, 3.0, 4.0]
    assert clock.time() == 10.0


async def test_send_after_on_virtual_time(rt: Runtime, clock: VirtualClock) -> None:
    proc = await rt.start(Echo, name="e")
    rt.send_after("e", "tick", 5.0)
    timer = rt.send_after(proc, "cancelled", 1.0)
    timer.cancel()
    clock.advance(4.999)
    await rt.quiesce()
    assert proc.got == []
    clock.advance(0.001)
    await rt.quiesce()
    assert proc.got == [("info", "tick")]
    rt.send_after("e", "late", 1.0)
    await rt.stop(proc)
    clock.advance(1.0)  # the target is gone: dropped
    await rt.quiesce()
    assert proc.got == [("info", "tick")]


async def test_wall_clock() -> None:
    clock = WallClock()
    assert abs(clock.time() - time.time()) < 60
    assert clock.monotonic() <= clock.monotonic()
    done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    clock.call_later(-1, done.set_result, "fired")
    assert await done == "fired"
    handle = clock.call_later(3600, done.set_result, "never")
    handle.cancel()
