"""Supervisor: start and stop order, strategies, restart types, restart intensity, failures in
init, shutdown while restarting, a killed supervisor, and the supervisor_call requests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hedgehog.runtime import (
    KILLED,
    NORMAL,
    SHUTDOWN,
    ChildSpec,
    Crash,
    Down,
    InitError,
    Process,
    Runtime,
    Supervisor,
    SupervisorError,
    VirtualClock,
    supervisor_call,
)

Log = list[Any]


class Kid(Process):
    """A worker that logs ("start", id) and ("stop", id, reason); cast a reason to make it stop
    with it, or "crash". `fail[id] > 0` makes that many starts fail in init."""

    def init(self, log: Log, id: str, fail: dict[str, int] | None = None) -> None:
        self.id = id
        self.log = log
        if fail is not None and fail.get(id, 0) > 0:
            fail[id] -= 1
            log.append(("init failed", id))
            raise RuntimeError(f"{id} cannot start")
        log.append(("start", id))

    def handle_call(self, request: Any, from_: Any) -> Any:
        return self.id

    def handle_cast(self, message: Any) -> None:
        if message == "crash":
            raise RuntimeError(f"{self.id} crashed")
        self.stop(message)

    def terminate(self, reason: Any) -> None:
        self.log.append(("stop", self.id, reason))


class SlowKid(Kid):
    """A Kid whose init waits for `gates[id]` when there is one (to be restarting for a while)."""

    async def init(  # type: ignore[override]
        self,
        log: Log,
        id: str,
        fail: dict[str, int] | None = None,
        gates: dict[str, asyncio.Future[Any]] | None = None,
    ) -> None:
        if gates and id in gates:
            await gates[id]
        super().init(log, id, fail)


class Hangs(Kid):
    """A Kid whose terminate never returns."""

    async def terminate(self, reason: Any) -> None:  # type: ignore[override]
        self.log.append(("stop", self.id, reason))
        await asyncio.get_running_loop().create_future()


class Watcher(Process):
    def init(self) -> None:
        self.got: list[Any] = []

    def handle_info(self, message: Any) -> None:
        self.got.append(message)


def spec(
    log: Log,
    id: str,
    restart: str = "permanent",
    fail: dict[str, int] | None = None,
    cls: type[Process] = Kid,
    **kwargs: Any,
) -> ChildSpec:
    return ChildSpec(id, cls, args=(log, id, fail), restart=restart, **kwargs)  # type: ignore[arg-type]


async def children(rt: Runtime, sup: Any) -> dict[Any, Process | None]:
    return {cid: pid for cid, pid, _ in await supervisor_call(rt, sup, "which_children")}


async def crash(rt: Runtime, sup: Any, cid: str, how: Any = "crash") -> None:
    pid = (await children(rt, sup))[cid]
    assert pid is not None
    if how == "killed":
        rt.kill(pid)
    else:
        rt.cast(pid, how)
    await rt.settle()


# -- order ---------------------------------------------------------------------------------------


async def test_children_start_in_order_and_stop_in_reverse(rt: Runtime) -> None:
    log: Log = []
    sup = await rt.start(Supervisor, [spec(log, "a"), spec(log, "b"), spec(log, "c")], name="sup")
    assert log == [("start", "a"), ("start", "b"), ("start", "c")]
    kids = await children(rt, "sup")
    assert list(kids) == ["a", "b", "c"]
    assert all(p is not None and p.alive and p.parent is sup for p in kids.values())
    log.clear()
    await rt.stop("sup", SHUTDOWN)
    assert log == [("stop", "c", SHUTDOWN), ("stop", "b", SHUTDOWN), ("stop", "a", SHUTDOWN)]
    assert sup.exit_reason == SHUTDOWN
    assert not rt.processes


# -- strategies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "expected", "restarted"),
    [
        ("one_for_one", [("start", "b")], {"b"}),
        (
            "one_for_all",
            [
                ("stop", "c", SHUTDOWN),
                ("stop", "a", SHUTDOWN),
                ("start", "a"),
                ("start", "b"),
                ("start", "c"),
            ],
            {"a", "b", "c"},
        ),
        ("rest_for_one", [("stop", "c", SHUTDOWN), ("start", "b"), ("start", "c")], {"b", "c"}),
    ],
)
async def test_strategies_restart_the_right_children(
    rt: Runtime, strategy: str, expected: Log, restarted: set[str]
) -> None:
    log: Log = []
    specs = [spec(log, "a"), spec(log, "b"), spec(log, "c")]
    sup = await rt.start(Supervisor, specs, strategy=strategy)
    before = await children(rt, sup)
    log.clear()
    await crash(rt, sup, "b")
    assert log[0][:2] == ("stop", "b") and isinstance(log[0][2], Crash)
    assert log[1:] == expected
    after = await children(rt, sup)
    changed = {cid for cid in after if after[cid] is not before[cid]}
    assert changed == restarted
    assert all(p is not None and p.alive for p in after.values())
    assert sup.restarts == 1
    assert [c.restarts for c in sup.children] == [0, 1, 0]


async def test_first_and_last_child_under_rest_for_one(rt: Runtime) -> None:
    log: Log = []
    specs = [spec(log, "a"), spec(log, "b"), spec(log, "c")]
    sup = await rt.start(Supervisor, specs, strategy="rest_for_one")
    before = await children(rt, sup)
    await crash(rt, sup, "c")
    after = await children(rt, sup)
    assert [after[c] is before[c] for c in "abc"] == [True, True, False]
    await crash(rt, sup, "a")
    final = await children(rt, sup)
    assert all(final[c] is not after[c] for c in "abc")


@pytest.mark.parametrize("strategy", ["one_for_all", "rest_for_one"])
async def test_temporary_siblings_are_stopped_and_not_restarted(rt: Runtime, strategy: str) -> None:
    log: Log = []
    specs = [spec(log, "a"), spec(log, "b"), spec(log, "t", "temporary"), spec(log, "c")]
    sup = await rt.start(Supervisor, specs, strategy=strategy)
    await crash(rt, sup, "b" if strategy == "rest_for_one" else "c")
    kids = await children(rt, sup)
    assert list(kids) == ["a", "b", "c"]
    assert ("stop", "t", SHUTDOWN) in log
    assert log.count(("start", "t")) == 1


# -- restart types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("restart", "how", "restarted"),
    [
        ("permanent", NORMAL, True),
        ("permanent", SHUTDOWN, True),
        ("permanent", "crash", True),
        ("permanent", "killed", True),
        ("transient", NORMAL, False),
        ("transient", SHUTDOWN, False),
        ("transient", (SHUTDOWN, "done"), False),
        ("transient", "crash", True),
        ("transient", "killed", True),
        ("transient", "odd reason", True),
        ("temporary", NORMAL, False),
        ("temporary", SHUTDOWN, False),
        ("temporary", "crash", False),
        ("temporary", "killed", False),
    ],
)
async def test_restart_types(rt: Runtime, restart: str, how: Any, restarted: bool) -> None:
    log: Log = []
    sup = await rt.start(Supervisor, [spec(log, "x", restart), spec(log, "other")])
    old = (await children(rt, sup))["x"]
    await crash(rt, sup, "x", how)
    assert old is not None and not old.alive
    kids = await children(rt, sup)
    if restarted:
        assert kids["x"] is not None and kids["x"].alive and kids["x"] is not old
        assert sup.restarts == 1
    elif restart == "temporary":
        assert "x" not in kids  # a temporary child's spec goes with it
        assert sup.restarts == 0
    else:
        assert kids["x"] is None  # a transient child that ended normally stays stopped
        assert sup.restarts == 0
        counts = await supervisor_call(rt, sup, "count_children")
        assert counts == {"specs": 2, "active": 1, "supervisors": 0, "workers": 1}
    assert sup.alive


# -- restart intensity ---------------------------------------------------------------------------


async def test_intensity_default_three_in_five_seconds(rt: Runtime, clock: VirtualClock) -> None:
    log: Log = []
    sup = await rt.start(Supervisor, [spec(log, "a"), spec(log, "b")], name="sup")
    watcher = await rt.start(Watcher)
    ref = rt.monitor(watcher, sup)
    for i in range(3):
        clock.advance(1.0)
        await crash(rt, sup, "b")
        assert sup.alive and sup.restarts == i + 1
    log.clear()
    clock.advance(1.0)  # the 4th crash within 5 s
    await crash(rt, sup, "b")
    assert not sup.alive and sup.exit_reason == SHUTDOWN
    assert log[0][:2] == ("stop", "b")
    assert log[1:] == [("stop", "a", SHUTDOWN)]
    assert watcher.got == [Down(ref, sup, SHUTDOWN)]
    assert rt.whereis("sup") is None
    assert list(rt.processes.values()) == [watcher]
    assert rt.errors[-1]["what"] == "reached max restart intensity"


async def test_a_parent_supervisor_sees_the_intensity_exit(
    rt: Runtime, clock: VirtualClock
) -> None:
    log: Log = []
    inner = ChildSpec("inner", Supervisor, args=([spec(log, "w")],), name="inner")
    top = await rt.start(Supervisor, [spec(log, "first"), inner], name="top")
    first = (await children(rt, top))["first"]
    old_inner = rt.whereis("inner")
    assert old_inner is not None
    for _ in range(4):
        await crash(rt, "inner", "w")
    assert not old_inner.alive and old_inner.exit_reason == SHUTDOWN
    new_inner = rt.whereis("inner")
    assert new_inner is not None and new_inner is not old_inner  # restarted by `top`
    assert top.restarts == 1 and top.alive
    assert (await children(rt, top))["first"] is first
    assert (await children(rt, "inner"))["w"] is not None


async def test_a_transient_child_supervisor_that_gives_up_is_not_restarted(
    rt: Runtime,
) -> None:
    log: Log = []
    inner = ChildSpec(
        "inner", Supervisor, args=([spec(log, "w")],), name="inner", restart="transient"
    )
    top = await rt.start(Supervisor, [inner])
    for _ in range(4):
        await crash(rt, "inner", "w")
    assert rt.whereis("inner") is None  # "shutdown" counts as a normal exit
    assert top.alive and top.restarts == 0


async def test_intensity_window_slides(rt: Runtime, clock: VirtualClock) -> None:
    log: Log = []
    sup = await rt.start(Supervisor, [spec(log, "a")])
    for _ in range(20):  # every 2 s: never more than 3 restarts within any 5 s
        await crash(rt, sup, "a")
        clock.advance(2.0)
    assert sup.alive and sup.restarts == 20


@pytest.mark.parametrize(("gap", "survives"), [(5.0, False), (5.001, True)])
async def test_intensity_window_boundary(
    rt: Runtime, clock: VirtualClock, gap: float, survives: bool
) -> None:
    # as OTP: a restart exactly max_seconds ago still counts
    log: Log = []
    sup = await rt.start(Supervisor, [spec(log, "a")], max_restarts=3, max_seconds=5.0)
    await crash(rt, sup, "a")
    clock.advance(1.0)
    await crash(rt, sup, "a")
    await crash(rt, sup, "a")
    clock.advance(gap - 1.0)
    await crash(rt, sup, "a")
    assert sup.alive is survives


@pytest.mark.parametrize(("max_restarts", "max_seconds"), [(0, 1.0), (1, 10.0), (5, 60.0)])
async def test_custom_intensity(
    rt: Runtime, clock: VirtualClock, max_restarts: int, max_seconds: float
) -> None:
    log: Log = []
    sup = await rt.start(
        Supervisor, [spec(log, "a")], max_restarts=max_restarts, max_seconds=max_seconds
    )
    for _ in range(max_restarts):
        await crash(rt, sup, "a")
        clock.advance(max_seconds / (max_restarts + 1))
    assert sup.alive
    await crash(rt, sup, "a")
    assert not sup.alive and sup.exit_reason == SHUTDOWN


async def test_bad_intensity_settings(rt: Runtime) -> None:
    with pytest.raises(InitError, match="max_restarts"):
        await rt.start(Supervisor, [], max_restarts=-1)
    with pytest.raises(InitError, match="max_seconds"):
        await rt.start(Supervisor, [], max_seconds=0)


# -- failures in init ----------------------------------------------------------------------------


async def test_a_child_failing_in_init_at_start_fails_the_supervisor(rt: Runtime) -> None:
    log: Log = []
    fail = {"c": 1}
    specs = [spec(log, "a", fail=fail), spec(log, "b", fail=fail), spec(log, "c", fail=fail)]
    specs.append(spec(log, "d", fail=fail))
    with pytest.raises(InitError) as info:
        await rt.start(Supervisor, specs, name="sup")
    assert isinstance(info.value.reason, Crash)
    assert isinstance(info.value.reason.exception, InitError)
    assert log == [
        ("start", "a"),
        ("start", "b"),
        ("init failed", "c"),
        ("stop", "b", SHUTDOWN),
        ("stop", "a", SHUTDOWN),
    ]
    assert not rt.processes and rt.whereis("sup") is None
    sup = await rt.start(Supervisor, specs, name="sup")  # c starts now: the name is free
    assert list(await children(rt, sup)) == ["a", "b", "c", "d"]


@pytest.mark.parametrize(("failures", "survives"), [(1, True), (2, True), (3, False)])
async def test_a_child_failing_in_init_at_restart_counts_toward_intensity(
    rt: Runtime, failures: int, survives: bool
) -> None:
    log: Log = []
    fail: dict[str, int] = {}
    sup = await rt.start(Supervisor, [spec(log, "a"), spec(log, "b", fail=fail)])
    fail["b"] = failures
    await crash(rt, sup, "b")
    assert log.count(("init failed", "b")) == failures
    assert sup.alive is survives
    if survives:
        assert sup.restarts == failures + 1
        kids = await children(rt, sup)
        assert kids["b"] is not None and kids["b"].alive
    else:
        assert sup.exit_reason == SHUTDOWN
        assert log[-1] == ("stop", "a", SHUTDOWN)
        assert not rt.processes


async def test_one_for_all_retries_the_whole_group_when_a_restart_fails(rt: Runtime) -> None:
    log: Log = []
    fail: dict[str, int] = {}
    specs = [spec(log, "a"), spec(log, "b", fail=fail), spec(log, "c")]
    sup = await rt.start(Supervisor, specs, strategy="one_for_all")
    fail["b"] = 1
    log.clear()
    await crash(rt, sup, "c")
    assert log[0][:2] == ("stop", "c")
    assert log[1:] == [
        ("stop", "b", SHUTDOWN),
        ("stop", "a", SHUTDOWN),
        ("start", "a"),
        ("init failed", "b"),
        ("stop", "a", SHUTDOWN),
        ("start", "a"),
        ("start", "b"),
        ("start", "c"),
    ]
    assert sup.restarts == 2
    assert all(p is not None and p.alive for p in (await children(rt, sup)).values())


# -- shutdown while restarting, killed supervisor ------------------------------------------------


async def test_a_supervisor_shut_down_while_restarting(rt: Runtime, clock: VirtualClock) -> None:
    log: Log = []
    gates: dict[str, asyncio.Future[Any]] = {}
    specs = [
        spec(log, "a"),
        ChildSpec("b", SlowKid, args=(log, "b", None, gates)),
    ]
    sup = await rt.start(Supervisor, specs, name="sup")
    gates["b"] = asyncio.get_running_loop().create_future()
    await crash(rt, sup, "b")  # b's restart waits in init
    stopping = asyncio.create_task(rt.stop(sup, SHUTDOWN, timeout=60))
    await rt.settle()
    assert not stopping.done() and sup.alive
    gates["b"].set_result(None)
    await stopping
    assert sup.exit_reason == SHUTDOWN
    assert log[-3:] == [("start", "b"), ("stop", "b", SHUTDOWN), ("stop", "a", SHUTDOWN)]
    assert not rt.processes
    assert rt.scheduler.in_task == 0


async def test_a_supervisor_killed_while_restarting(rt: Runtime, clock: VirtualClock) -> None:
    log: Log = []
    gates: dict[str, asyncio.Future[Any]] = {}
    specs = [spec(log, "a"), ChildSpec("b", SlowKid, args=(log, "b", None, gates), name="b")]
    sup = await rt.start(Supervisor, specs, name="sup")
    gates["b"] = asyncio.get_running_loop().create_future()
    await crash(rt, sup, "b")
    restarting = rt.whereis("b")
    assert restarting is not None and restarting.alive  # in init
    stopping = asyncio.create_task(rt.stop(sup, SHUTDOWN, timeout=2))
    await rt.settle()
    clock.advance(2)  # the shutdown timeout: the supervisor is killed
    await stopping
    await rt.settle()
    assert sup.exit_reason == KILLED
    assert not restarting.alive and restarting.exit_reason == KILLED
    assert not rt.processes
    assert rt.scheduler.in_task == 0
    assert rt.whereis("b") is None and rt.whereis("sup") is None


async def test_a_killed_supervisor_takes_its_tree_with_it(rt: Runtime) -> None:
    log: Log = []
    inner = ChildSpec("inner", Supervisor, args=([spec(log, "x"), spec(log, "y")],))
    top = await rt.start(Supervisor, [spec(log, "a"), inner, spec(log, "b")])
    assert len(rt.processes) == 6
    log.clear()
    rt.kill(top)
    await rt.settle()
    assert not rt.processes
    assert log == []  # killed: nobody runs terminate


async def test_a_supervisor_stopped_by_its_parent_stops_its_children_in_order(
    rt: Runtime,
) -> None:
    log: Log = []
    inner = ChildSpec("inner", Supervisor, args=([spec(log, "x"), spec(log, "y")],))
    top = await rt.start(Supervisor, [spec(log, "a"), inner, spec(log, "b")])
    log.clear()
    await rt.stop(top, SHUTDOWN)
    assert log == [
        ("stop", "b", SHUTDOWN),
        ("stop", "y", SHUTDOWN),
        ("stop", "x", SHUTDOWN),
        ("stop", "a", SHUTDOWN),
    ]
    assert not rt.processes


async def test_child_shutdown_timeouts(rt: Runtime, clock: VirtualClock) -> None:
    log: Log = []
    specs = [
        spec(log, "brutal", shutdown=0),
        spec(log, "hangs", cls=Hangs, shutdown=3.0),
        spec(log, "last"),
    ]
    sup = await rt.start(Supervisor, specs)
    kids = await children(rt, sup)
    stopping = asyncio.create_task(rt.stop(sup, SHUTDOWN, timeout=60))
    await rt.settle()
    assert log[-2:] == [("stop", "last", SHUTDOWN), ("stop", "hangs", SHUTDOWN)]
    assert not stopping.done()
    clock.advance(3.0)
    await stopping
    assert kids["hangs"] is not None and kids["hangs"].exit_reason == KILLED
    assert kids["brutal"] is not None and kids["brutal"].exit_reason == KILLED
    assert ("stop", "brutal", SHUTDOWN) not in log
    assert sup.exit_reason == SHUTDOWN


# -- requests ------------------------------------------------------------------------------------


async def test_which_and_count_children(rt: Runtime) -> None:
    log: Log = []
    inner = ChildSpec("inner", Supervisor, args=([],))
    sup = await rt.start(Supervisor, [spec(log, "a"), inner, spec(log, "t", "temporary")])
    which = await supervisor_call(rt, sup, "which_children")
    assert [(cid, kind) for cid, _, kind in which] == [
        ("a", "worker"),
        ("inner", "supervisor"),
        ("t", "worker"),
    ]
    assert all(isinstance(pid, Process) for _, pid, _ in which)
    assert await supervisor_call(rt, sup, "count_children") == {
        "specs": 3,
        "active": 3,
        "supervisors": 1,
        "workers": 2,
    }


async def test_terminate_restart_and_delete_child(rt: Runtime) -> None:
    log: Log = []
    sup = await rt.start(Supervisor, [spec(log, "a"), spec(log, "b")], name="sup")
    old = (await children(rt, "sup"))["a"]
    assert await supervisor_call(rt, "sup", "terminate_child", "a") == "ok"
    assert log[-1] == ("stop", "a", SHUTDOWN)
    await rt.settle()
    assert (await children(rt, "sup"))["a"] is None  # stopped on purpose: not restarted
    assert sup.restarts == 0
    assert await supervisor_call(rt, "sup", "terminate_child", "a") == "ok"  # again: harmless
    with pytest.raises(SupervisorError, match="running"):
        await supervisor_call(rt, "sup", "delete_child", "b")
    with pytest.raises(SupervisorError, match="running"):
        await supervisor_call(rt, "sup", "restart_child", "b")
    new = await supervisor_call(rt, "sup", "restart_child", "a")
    assert isinstance(new, Kid) and new.alive and new is not old
    assert (await children(rt, "sup"))["a"] is new
    await supervisor_call(rt, "sup", "terminate_child", "a")
    assert await supervisor_call(rt, "sup", "delete_child", "a") == "ok"
    assert list(await children(rt, "sup")) == ["b"]
    assert sup.alive


async def test_restart_child_that_fails_in_init(rt: Runtime) -> None:
    log: Log = []
    fail: dict[str, int] = {}
    sup = await rt.start(Supervisor, [spec(log, "a", fail=fail)])
    await supervisor_call(rt, sup, "terminate_child", "a")
    fail["a"] = 1
    with pytest.raises(InitError):
        await supervisor_call(rt, sup, "restart_child", "a")
    assert sup.alive
    assert isinstance(await supervisor_call(rt, sup, "restart_child", "a"), Kid)


@pytest.mark.parametrize(
    "request_",
    [
        ("terminate_child", "nope"),
        ("restart_child", "nope"),
        ("delete_child", "nope"),
        ("which_children", "extra"),
        ("start_child", "x"),
        ("bogus",),
        (),
    ],
)
async def test_bad_requests_are_refused_and_the_supervisor_survives(
    rt: Runtime, request_: tuple[Any, ...]
) -> None:
    log: Log = []
    sup = await rt.start(Supervisor, [spec(log, "a")])
    with pytest.raises(SupervisorError):
        await supervisor_call(rt, sup, *request_)
    assert sup.alive
    assert list(await children(rt, sup)) == ["a"]


async def test_plain_messages_and_unknown_exits_are_ignored(rt: Runtime) -> None:
    log: Log = []
    sup = await rt.start(Supervisor, [spec(log, "a")])
    stranger = await rt.start(Kid, log, "stranger")
    rt.link(sup, stranger)
    rt.send(sup, "hello")
    rt.cast(stranger, "crash")
    await rt.settle()
    assert sup.alive and sup.restarts == 0


async def test_bad_specs(rt: Runtime) -> None:
    log: Log = []
    with pytest.raises(ValueError, match="restart type"):
        ChildSpec("x", Kid, restart="sometimes")  # type: ignore[arg-type]
    with pytest.raises(InitError, match="strategy"):
        await rt.start(Supervisor, [spec(log, "a")], strategy="all_for_none")
    with pytest.raises(InitError, match="duplicate"):
        await rt.start(Supervisor, [spec(log, "a"), spec(log, "a")])
    assert log == [] and not rt.processes


async def test_describe_the_tree(rt: Runtime) -> None:
    log: Log = []
    inner = ChildSpec("inner", Supervisor, args=([spec(log, "x")],), name=("sup", "inner"))
    top = await rt.start(Supervisor, [spec(log, "a"), inner], name="top")
    await crash(rt, top, "a")
    await supervisor_call(rt, ("sup", "inner"), "terminate_child", "x")
    tree = top.describe()
    assert tree["name"] == "top" and tree["kind"] == "supervisor" and tree["restarts"] == 1
    a, inner_data = tree["children"]
    assert a["id"] == "a" and a["restarts"] == 1 and a["status"] == "waiting"
    assert inner_data["name"] == "sup:inner" and inner_data["kind"] == "supervisor"
    assert inner_data["children"] == [{"id": "x", "status": "stopped", "restarts": 0}]
