"""DynamicSupervisor: children on demand, max_children, restart types, intensity."""

from __future__ import annotations

from typing import Any

import pytest

from hedgehog.runtime import (
    KILLED,
    NORMAL,
    SHUTDOWN,
    ChildSpec,
    Crash,
    DynamicSupervisor,
    InitError,
    Process,
    Runtime,
    Supervisor,
    SupervisorError,
    VirtualClock,
    count_children,
    start_child,
    supervisor_call,
    terminate_child,
    which_children,
)

Log = list[Any]


class Kid(Process):
    def init(self, log: Log, id: str, fail: bool = False) -> None:
        if fail:
            raise RuntimeError(f"{id} cannot start")
        self.id = id
        self.log = log
        log.append(("start", id))

    def handle_cast(self, message: Any) -> None:
        if message == "crash":
            raise RuntimeError(f"{self.id} crashed")
        self.stop(message)

    def terminate(self, reason: Any) -> None:
        self.log.append(("stop", self.id, reason))


def spec(log: Log, id: str, restart: str = "permanent", **kwargs: Any) -> ChildSpec:
    return ChildSpec(id, Kid, args=(log, id), restart=restart, **kwargs)  # type: ignore[arg-type]


async def end(rt: Runtime, pid: Process, how: Any) -> None:
    if how == "killed":
        rt.kill(pid)
    else:
        rt.cast(pid, how)
    await rt.quiesce()


async def test_start_which_count_terminate(rt: Runtime) -> None:
    log: Log = []
    sup = await rt.start(DynamicSupervisor, name="dyn")
    assert await which_children(rt, "dyn") == []
    a = await start_child(rt, "dyn", spec(log, "a"))
    b = await start_child(rt, "dyn", spec(log, "b", name=("kid", "b")))
    inner = await start_child(rt, "dyn", ChildSpec("inner", Supervisor, args=([],)))
    assert a.alive and b.alive and a.parent is sup
    assert rt.whereis(("kid", "b")) is b
    assert await which_children(rt, "dyn") == [
        ("a", a, "worker"),
        ("b", b, "worker"),
        ("inner", inner, "supervisor"),
    ]
    assert await count_children(rt, "dyn") == {
        "specs": 3,
        "active": 3,
        "supervisors": 1,
        "workers": 2,
    }
    await terminate_child(rt, "dyn", b)
    assert log[-1] == ("stop", "b", SHUTDOWN)
    assert not b.alive and rt.whereis(("kid", "b")) is None
    await rt.quiesce()
    assert [cid for cid, _, _ in await which_children(rt, "dyn")] == ["a", "inner"]
    with pytest.raises(SupervisorError, match="not a child"):
        await terminate_child(rt, "dyn", b)
    stranger = await rt.start(Kid, log, "stranger")
    with pytest.raises(SupervisorError, match="not a child"):
        await terminate_child(rt, "dyn", stranger)
    assert sup.alive and sup.restarts == 0


async def test_children_stop_in_reverse_start_order(rt: Runtime) -> None:
    log: Log = []
    sup = await rt.start(DynamicSupervisor)
    for cid in "abc":
        await start_child(rt, sup, spec(log, cid))
    log.clear()
    await rt.stop(sup, SHUTDOWN)
    assert log == [("stop", "c", SHUTDOWN), ("stop", "b", SHUTDOWN), ("stop", "a", SHUTDOWN)]
    assert not rt.processes


async def test_max_children(rt: Runtime) -> None:
    log: Log = []
    sup = await rt.start(DynamicSupervisor, max_children=2)
    a = await start_child(rt, sup, spec(log, "a"))
    await start_child(rt, sup, spec(log, "b", "temporary"))
    with pytest.raises(SupervisorError, match="max_children"):
        await start_child(rt, sup, spec(log, "c"))
    await terminate_child(rt, sup, a)
    c = await start_child(rt, sup, spec(log, "c"))  # a's slot is free again
    assert c.alive
    assert (await count_children(rt, sup))["active"] == 2


async def test_max_children_zero_and_bad_settings(rt: Runtime) -> None:
    log: Log = []
    sup = await rt.start(DynamicSupervisor, max_children=0)
    with pytest.raises(SupervisorError):
        await start_child(rt, sup, spec(log, "a"))
    with pytest.raises(InitError, match="max_children"):
        await rt.start(DynamicSupervisor, max_children=-1)


async def test_a_child_failing_in_init(rt: Runtime) -> None:
    log: Log = []
    sup = await rt.start(DynamicSupervisor, max_children=1)
    with pytest.raises(InitError):
        await start_child(rt, sup, ChildSpec("bad", Kid, args=(log, "bad", True)))
    assert await which_children(rt, sup) == []
    assert sup.alive and sup.restarts == 0
    assert (await start_child(rt, sup, spec(log, "ok"))).alive  # no slot was taken


@pytest.mark.parametrize(
    ("restart", "how", "restarted"),
    [
        ("permanent", NORMAL, True),
        ("permanent", "crash", True),
        ("permanent", "killed", True),
        ("transient", NORMAL, False),
        ("transient", SHUTDOWN, False),
        ("transient", "crash", True),
        ("transient", "killed", True),
        ("temporary", NORMAL, False),
        ("temporary", "crash", False),
        ("temporary", "killed", False),
    ],
)
async def test_restart_types(rt: Runtime, restart: str, how: Any, restarted: bool) -> None:
    log: Log = []
    sup = await rt.start(DynamicSupervisor, max_children=1)
    old = await start_child(rt, sup, spec(log, "x", restart))
    await end(rt, old, how)
    which = await which_children(rt, sup)
    if restarted:
        assert len(which) == 1
        cid, pid, _ = which[0]
        assert cid == "x" and pid is not None and pid.alive and pid is not old
        assert sup.restarts == 1
    else:
        # Bug fixed in supervisor.py: a transient child that ended normally stayed in a
        # DynamicSupervisor's list with no pid, forever, taking a max_children slot.
        assert which == []
        assert sup.restarts == 0
        assert (await start_child(rt, sup, spec(log, "y"))).alive  # its slot is free


async def test_temporary_children_do_not_accumulate(rt: Runtime) -> None:
    log: Log = []
    sup = await rt.start(DynamicSupervisor)
    for i in range(300):
        pid = await start_child(rt, sup, spec(log, f"t{i}", "temporary"))
        await end(rt, pid, "crash" if i % 2 else NORMAL)
    assert sup.children == []
    assert sup.restarts == 0


async def test_intensity(rt: Runtime, clock: VirtualClock) -> None:
    log: Log = []
    sup = await rt.start(DynamicSupervisor, name="dyn")
    keep = await start_child(rt, sup, spec(log, "keep"))
    await start_child(rt, sup, spec(log, "x"))
    for i in range(3):
        pid = next(p for cid, p, _ in await which_children(rt, sup) if cid == "x")
        assert pid is not None
        await end(rt, pid, "crash")
        assert sup.alive and sup.restarts == i + 1
        clock.advance(1.0)
    pid = next(p for cid, p, _ in await which_children(rt, sup) if cid == "x")
    assert pid is not None
    log.clear()
    await end(rt, pid, "crash")
    assert not sup.alive and sup.exit_reason == SHUTDOWN
    assert log[1:] == [("stop", "keep", SHUTDOWN)]
    assert not keep.alive and not rt.processes


async def test_intensity_window_slides(rt: Runtime, clock: VirtualClock) -> None:
    log: Log = []
    sup = await rt.start(DynamicSupervisor, max_restarts=1, max_seconds=10.0)
    await start_child(rt, sup, spec(log, "x"))
    for _ in range(10):
        pid = (await which_children(rt, sup))[0][1]
        assert pid is not None
        await end(rt, pid, "killed")
        clock.advance(10.5)
    assert sup.alive and sup.restarts == 10


async def test_a_failed_restart_counts_and_the_child_is_dropped_when_given_up(
    rt: Runtime, clock: VirtualClock
) -> None:
    log: Log = []

    class Fragile(Kid):
        starts = 0

        def init(self, log: Log, id: str, fail: bool = False) -> None:
            type(self).starts += 1
            super().init(log, id, fail=type(self).starts > 1)  # only the first start works

    parent = await rt.start(Supervisor, [ChildSpec("dyn", DynamicSupervisor, name="dyn")])
    sup = rt.whereis("dyn")
    assert sup is not None
    pid = await start_child(rt, "dyn", ChildSpec("f", Fragile, args=(log, "f")))
    await end(rt, pid, "crash")
    assert Fragile.starts == 4  # the first start, then 3 failing restarts
    assert not sup.alive and sup.exit_reason == SHUTDOWN
    new_sup = rt.whereis("dyn")
    assert new_sup is not None and new_sup is not sup  # the parent restarted it, empty
    assert await which_children(rt, "dyn") == []
    assert parent.restarts == 1


async def test_killed_dynamic_supervisor_takes_its_children(rt: Runtime) -> None:
    log: Log = []
    sup = await rt.start(DynamicSupervisor)
    kids = [await start_child(rt, sup, spec(log, f"k{i}")) for i in range(5)]
    rt.kill(sup)
    assert all(k.exit_reason == KILLED for k in kids)
    assert not rt.processes


async def test_bad_requests(rt: Runtime) -> None:
    sup = await rt.start(DynamicSupervisor)
    for request in [("start_child", "not a spec"), ("terminate_child", "a name"), ("nope",)]:
        with pytest.raises(SupervisorError):
            await supervisor_call(rt, sup, *request)
    assert sup.alive


async def test_crash_reason_reaches_terminate(rt: Runtime) -> None:
    log: Log = []
    sup = await rt.start(DynamicSupervisor)
    pid = await start_child(rt, sup, spec(log, "x"))
    await end(rt, pid, "crash")
    stop = [e for e in log if e[0] == "stop"]
    assert len(stop) == 1 and isinstance(stop[0][2], Crash)
