"""Monitors (Down messages) and links (exit signals, trapping exits), as in OTP."""

from __future__ import annotations

from typing import Any

import pytest

from hedgehog.runtime import (
    KILLED,
    NOPROC,
    NORMAL,
    SHUTDOWN,
    Crash,
    Down,
    Exit,
    Process,
    Runtime,
)


class Watcher(Process):
    """Keeps every plain message it gets."""

    def init(self) -> None:
        self.got: list[Any] = []

    def handle_info(self, message: Any) -> None:
        self.got.append(message)


class Trapper(Watcher):
    trap_exits = True


class Worker(Process):
    """Exits on request: ("stop", reason) stops, "crash" raises. Records terminate."""

    def init(self, log: list[Any] | None = None) -> None:
        self.log = log if log is not None else []

    def handle_cast(self, message: Any) -> None:
        if message == "crash":
            raise RuntimeError("worker crashed")
        self.stop(message[1])

    def terminate(self, reason: Any) -> None:
        self.log.append((self.pid, reason))


async def end(rt: Runtime, proc: Process, how: str) -> Any:
    """End `proc` the way `how` says; returns the expected exit reason (Crash: its type)."""
    if how == "normal":
        rt.cast(proc, ("stop", NORMAL))
    elif how == "shutdown":
        await rt.stop(proc, SHUTDOWN)
    elif how == "killed":
        rt.kill(proc)
    elif how == "crash":
        rt.cast(proc, "crash")
    elif how == "custom":
        rt.cast(proc, ("stop", ("bad", 1)))
    await rt.quiesce()
    assert not proc.alive
    return proc.exit_reason


HOWS = ["normal", "shutdown", "killed", "crash", "custom"]
EXPECTED = {"normal": NORMAL, "shutdown": SHUTDOWN, "killed": KILLED, "custom": ("bad", 1)}


def check_reason(how: str, reason: Any) -> None:
    if how == "crash":
        assert isinstance(reason, Crash) and isinstance(reason.exception, RuntimeError)
    else:
        assert reason == EXPECTED[how]


# -- monitors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", HOWS)
async def test_down_for_each_exit_reason(rt: Runtime, how: str) -> None:
    watcher = await rt.start(Watcher)
    target = await rt.start(Worker)
    ref = rt.monitor(watcher, target)
    reason = await end(rt, target, how)
    check_reason(how, reason)
    assert watcher.got == [Down(ref, target, reason)]
    assert watcher._monitors == {}


async def test_monitor_by_name_including_tuples(rt: Runtime) -> None:
    watcher = await rt.start(Watcher)
    target = await rt.start(Worker, name=("trader", "XRPUSDT", 3))
    ref = rt.monitor(watcher, ("trader", "XRPUSDT", 3))
    rt.kill(("trader", "XRPUSDT", 3))
    await rt.quiesce()
    assert watcher.got == [Down(ref, target, KILLED)]


async def test_monitor_of_a_dead_process_gives_an_immediate_noproc_down(rt: Runtime) -> None:
    watcher = await rt.start(Watcher)
    target = await rt.start(Worker, name="short-lived")
    await rt.stop(target)
    ref1 = rt.monitor(watcher, target)
    ref2 = rt.monitor(watcher, "short-lived")
    ref3 = rt.monitor(watcher, ("never", "was"))
    await rt.quiesce()
    assert watcher.got == [
        Down(ref1, target, NOPROC),
        Down(ref2, None, NOPROC),
        Down(ref3, None, NOPROC),
    ]
    assert len({ref1, ref2, ref3}) == 3
    assert not watcher._monitors


async def test_each_monitor_gets_its_own_down(rt: Runtime) -> None:
    a = await rt.start(Watcher)
    b = await rt.start(Watcher)
    target = await rt.start(Worker)
    refs = [rt.monitor(a, target), rt.monitor(a, target), rt.monitor(b, target)]
    assert len(set(refs)) == 3
    rt.cast(target, "crash")
    await rt.quiesce()
    assert [d.ref for d in a.got] == refs[:2]
    assert [d.ref for d in b.got] == refs[2:]
    assert all(isinstance(d.reason, Crash) for d in a.got + b.got)


async def test_demonitor(rt: Runtime) -> None:
    watcher = await rt.start(Watcher)
    target = await rt.start(Worker)
    ref = rt.monitor(watcher, target)
    kept = rt.monitor(watcher, target)
    rt.demonitor(watcher, ref)
    rt.demonitor(watcher, ref)  # twice is harmless
    rt.demonitor(watcher, 123456789)  # unknown refs too
    assert target._monitored_by is not None and list(target._monitored_by) == [kept]
    rt.kill(target)
    await rt.quiesce()
    assert watcher.got == [Down(kept, target, KILLED)]


async def test_monitors_do_not_kill_and_vanish_with_the_watcher(rt: Runtime) -> None:
    watcher = await rt.start(Watcher)
    target = await rt.start(Worker)
    rt.monitor(watcher, target)
    rt.monitor(target, watcher)  # the other way round too
    rt.kill(watcher)
    await rt.quiesce()
    assert target.alive  # a monitor is not a link
    assert not target._monitored_by  # the watcher's monitors are gone with it
    assert len(target.mailbox) == 0


async def test_monitors_do_not_grow(rt: Runtime) -> None:
    target = await rt.start(Worker)
    for _ in range(1000):
        watcher = await rt.start(Watcher)
        rt.monitor(watcher, target)
        await rt.stop(watcher)
    assert not target._monitored_by


# -- links ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["shutdown", "killed", "crash", "custom"])
async def test_an_abnormal_exit_kills_linked_processes(rt: Runtime, how: str) -> None:
    log: list[Any] = []
    a = await rt.start(Worker, log)
    b = await rt.start(Worker, log)
    c = await rt.start(Worker, log)
    rt.link(b, a)
    rt.link(c, b)
    reason = await end(rt, a, how)
    check_reason(how, reason)
    assert not b.alive and not c.alive
    assert b.exit_reason == reason and c.exit_reason == reason
    # only the process that ended by itself ran terminate; exit signals do not run it
    assert [pid for pid, _ in log] == ([a.pid] if how not in ("killed",) else [])


async def test_a_normal_exit_does_not_propagate(rt: Runtime) -> None:
    a = await rt.start(Worker)
    b = await rt.start(Worker)
    rt.link(a, b)
    rt.cast(a, ("stop", NORMAL))
    await rt.quiesce()
    assert not a.alive and b.alive
    assert not b._links


@pytest.mark.parametrize("how", HOWS)
async def test_trapping_processes_get_exit_messages(rt: Runtime, how: str) -> None:
    trapper = await rt.start(Trapper)
    worker = await rt.start(Worker)
    rt.link(trapper, worker)
    reason = await end(rt, worker, how)
    assert trapper.alive
    assert trapper.got == [Exit(worker, reason)]
    assert not trapper._links


async def test_kill_propagates_killed_along_a_chain(rt: Runtime) -> None:
    a = await rt.start(Worker)
    b = await rt.start(Worker)
    c = await rt.start(Worker)
    rt.link(a, b)
    rt.link(b, c)
    trapper = await rt.start(Trapper)
    rt.link(trapper, c)
    rt.kill(a)
    await rt.quiesce()
    assert [p.exit_reason for p in (a, b, c)] == [KILLED, KILLED, KILLED]
    assert trapper.got == [Exit(c, KILLED)]
    assert trapper.alive


async def test_exit_signals(rt: Runtime) -> None:
    worker = await rt.start(Worker)
    trapper = await rt.start(Trapper)
    rt.exit(worker, NORMAL)  # ignored by a process that does not trap exits
    assert worker.alive
    rt.exit(trapper, NORMAL, sender=worker)
    rt.exit(trapper, "bad", sender=worker)
    await rt.quiesce()
    assert trapper.alive
    assert trapper.got == [Exit(worker, NORMAL), Exit(worker, "bad")]
    rt.exit(worker, "bad")
    assert not worker.alive and worker.exit_reason == "bad"
    rt.exit(trapper, "kill")  # "kill" cannot be trapped
    assert not trapper.alive and trapper.exit_reason == KILLED


async def test_unlink_stops_propagation(rt: Runtime) -> None:
    a = await rt.start(Worker)
    b = await rt.start(Worker)
    rt.link(b, a)
    rt.unlink(a, b)
    rt.kill(a)
    assert b.alive
    assert not b._links


async def test_links_are_bidirectional(rt: Runtime) -> None:
    a = await rt.start(Worker)
    b = await rt.start(Worker, link=a)
    rt.cast(b, "crash")  # the child crashes: the parent dies too
    await rt.quiesce()
    assert not a.alive and isinstance(a.exit_reason, Crash)
    assert a.exit_reason is b.exit_reason


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("child_cls", [Worker, Trapper])
async def test_a_child_dies_with_its_parent_whatever_the_reason(
    rt: Runtime, how: str, child_cls: type[Process]
) -> None:
    # `start(..., link=parent)` makes a child: it is killed the moment its parent exits, even
    # normally and even when it traps exits (kernel.py: a restarted parent must find the old
    # child's name free). `Runtime.link` between peers keeps the OTP rules (tests above).
    parent = await rt.start(Worker)
    child = await rt.start(child_cls, name="child", link=parent)
    assert child.parent is parent
    await end(rt, parent, how)
    assert not child.alive and child.exit_reason == KILLED
    assert rt.whereis("child") is None


async def test_link_to_a_dead_process(rt: Runtime) -> None:
    dead = await rt.start(Worker)
    rt.kill(dead)
    worker = await rt.start(Worker)
    rt.link(worker, dead)
    assert not worker.alive and worker.exit_reason == NOPROC
    trapper = await rt.start(Trapper)
    rt.link(trapper, dead)
    await rt.quiesce()
    assert trapper.alive
    # Bug fixed in kernel.py: the Exit named the trapping process itself instead of `dead`.
    assert trapper.got == [Exit(dead, NOPROC)]


async def test_init_failure_sends_no_exit_signal_to_the_link(rt: Runtime) -> None:
    class Refuses(Process):
        def init(self) -> None:
            raise ValueError("no")

    parent = await rt.start(Worker)
    trapper = await rt.start(Trapper)
    for link in (parent, trapper):
        with pytest.raises(Exception, match="failed to start"):
            await rt.start(Refuses, link=link)
    await rt.quiesce()
    assert parent.alive and trapper.alive and trapper.got == []
