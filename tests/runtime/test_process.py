"""Processes: init and Continue, call/cast/send, timeouts, NOREPLY, message order, callbacks that
suspend, the task identity inside callbacks, terminate, stop/kill and exit reasons.

Time is a `VirtualClock` advanced by the tests; `await rt.settle()` lets queued work run.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hedgehog.runtime import (
    KILLED,
    NOREPLY,
    NORMAL,
    SHUTDOWN,
    CallExit,
    CallTimeout,
    Continue,
    Crash,
    InitError,
    NoProcess,
    Process,
    ProcessError,
    Runtime,
    VirtualClock,
    is_normal_exit,
)

Log = list[Any]


class Recorder(Process):
    """Records every callback in `log` (synchronous callbacks)."""

    def init(self, log: Log, cont: Any = None) -> Any:
        self.log = log
        log.append("init")
        return Continue(cont) if cont is not None else None

    def handle_continue(self, payload: Any) -> None:
        self.log.append(("continue", payload))

    def handle_call(self, request: Any, from_: Any) -> Any:
        self.log.append(("call", request))
        if request == "crash":
            raise RuntimeError("boom in call")
        if request == "stop":
            self.stop()
            return NOREPLY
        return ("reply", request)

    def handle_cast(self, message: Any) -> None:
        self.log.append(("cast", message))
        if message == "crash":
            raise RuntimeError("boom in cast")
        if isinstance(message, tuple) and message[0] == "stop":
            self.stop(message[1])

    def handle_info(self, message: Any) -> None:
        self.log.append(("info", message))

    def terminate(self, reason: Any) -> None:
        self.log.append(("terminate", reason))


class AsyncRecorder(Process):
    """The same as `Recorder` with coroutine callbacks (that do not suspend)."""

    async def init(self, log: Log, cont: Any = None) -> Any:
        self.log = log
        log.append("init")
        return Continue(cont) if cont is not None else None

    async def handle_continue(self, payload: Any) -> None:
        self.log.append(("continue", payload))

    async def handle_call(self, request: Any, from_: Any) -> Any:
        self.log.append(("call", request))
        if request == "crash":
            raise RuntimeError("boom in call")
        if request == "stop":
            self.stop()
            return NOREPLY
        return ("reply", request)

    async def handle_cast(self, message: Any) -> None:
        self.log.append(("cast", message))
        if message == "crash":
            raise RuntimeError("boom in cast")
        if isinstance(message, tuple) and message[0] == "stop":
            self.stop(message[1])

    async def handle_info(self, message: Any) -> None:
        self.log.append(("info", message))

    async def terminate(self, reason: Any) -> None:
        self.log.append(("terminate", reason))


RECORDERS = [Recorder, AsyncRecorder]


class Gated(Process):
    """Callbacks that suspend on futures the test resolves (`gates[key]`)."""

    def init(self, log: Log, gates: dict[Any, asyncio.Future[Any]]) -> None:
        self.log = log
        self.gates = gates

    async def handle_call(self, request: Any, from_: Any) -> Any:
        self.log.append(("call", request, asyncio.current_task() is self._task))
        if request in self.gates:
            await self.gates[request]
            self.log.append(("resumed", request, asyncio.current_task() is self._task))
        return ("reply", request)

    async def handle_cast(self, message: Any) -> None:
        self.log.append(("cast", message, asyncio.current_task() is self._task))
        if message in self.gates:
            await self.gates[message]
            self.log.append(("resumed", message, asyncio.current_task() is self._task))

    def handle_info(self, message: Any) -> None:
        self.log.append(("info", message, asyncio.current_task() is self._task))

    async def terminate(self, reason: Any) -> None:
        self.log.append(("terminate", reason))
        if "terminate" in self.gates:
            try:
                await self.gates["terminate"]
            except asyncio.CancelledError:
                self.log.append("terminate cancelled")
                raise


def gate() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


# -- init and Continue ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", RECORDERS)
async def test_init_runs_before_start_returns(rt: Runtime, cls: type[Process]) -> None:
    log: Log = []
    proc = await rt.start(cls, log)
    assert log == ["init"]
    assert proc.alive and proc.status == "waiting"
    assert rt.processes[proc.pid] is proc


async def test_start_waits_for_an_init_that_suspends(rt: Runtime) -> None:
    opened = gate()

    class SlowInit(Process):
        async def init(self) -> None:
            self.before = asyncio.current_task() is self._task
            await opened
            self.after = asyncio.current_task() is self._task

    starting = asyncio.create_task(rt.start(SlowInit))
    while not rt.scheduler.suspended:  # its init has suspended (quiesce would wait for it)
        await asyncio.sleep(0)
    assert not starting.done()
    opened.set_result(None)
    proc = await starting
    assert proc.alive and proc.before and proc.after


@pytest.mark.parametrize("cls", RECORDERS)
async def test_continue_runs_before_any_other_message(rt: Runtime, cls: type[Process]) -> None:
    log: Log = []
    proc = await rt.start(cls, log, cont="boot")
    rt.send(proc, "hello")
    rt.cast(proc, "world")
    assert await rt.call(proc, "ping") == ("reply", "ping")
    await rt.settle()
    assert log == [
        "init",
        ("continue", "boot"),
        ("info", "hello"),
        ("cast", "world"),
        ("call", "ping"),
    ]


async def test_continue_that_suspends_holds_back_later_messages(rt: Runtime) -> None:
    log: Log = []
    opened = gate()

    class Booting(Process):
        def init(self) -> Continue:
            log.append("init")
            return Continue("boot")

        async def handle_continue(self, payload: Any) -> None:
            log.append(("continue", payload))
            await opened
            log.append("booted")

        def handle_info(self, message: Any) -> None:
            log.append(("info", message))

        def handle_call(self, request: Any, from_: Any) -> Any:
            log.append(("call", request))
            return "pong"

    proc = await rt.start(Booting)
    rt.send(proc, 1)
    rt.send(proc, 2)
    calling = asyncio.create_task(rt.call(proc, "ping"))
    await rt.settle()
    assert log == ["init", ("continue", "boot")]
    assert not calling.done()
    opened.set_result(None)
    assert await calling == "pong"
    await rt.settle()
    assert log == [
        "init",
        ("continue", "boot"),
        "booted",
        ("info", 1),
        ("info", 2),
        ("call", "ping"),
    ]


async def test_continue_goes_ahead_of_messages_sent_during_an_async_init(rt: Runtime) -> None:
    log: Log = []
    opened = gate()

    class SlowBoot(Process):
        async def init(self) -> Continue:
            await opened
            log.append("init")
            return Continue("boot")

        def handle_continue(self, payload: Any) -> None:
            log.append(("continue", payload))

        def handle_info(self, message: Any) -> None:
            log.append(("info", message))

    starting = asyncio.create_task(rt.start(SlowBoot, name="slow"))
    while not rt.scheduler.suspended:  # its init has suspended (quiesce would wait for it)
        await asyncio.sleep(0)
    rt.send("slow", "early")  # reachable by name while init is suspended
    opened.set_result(None)
    await starting
    await rt.settle()
    assert log == ["init", ("continue", "boot"), ("info", "early")]


@pytest.mark.parametrize("cls", ["sync", "async"])
async def test_init_failure_raises_init_error_and_frees_the_name(rt: Runtime, cls: str) -> None:
    terminated: Log = []

    class Refuses(Process):
        def init(self) -> None:
            raise ValueError("no thanks")

        def terminate(self, reason: Any) -> None:
            terminated.append(reason)

    class AsyncRefuses(Refuses):
        async def init(self) -> None:  # type: ignore[override]
            await asyncio.sleep(0)
            raise ValueError("no thanks")

    before = dict(rt.processes)
    with pytest.raises(InitError) as info:
        await rt.start(Refuses if cls == "sync" else AsyncRefuses, name=("svc", 1))
    assert isinstance(info.value.reason, Crash)
    assert isinstance(info.value.reason.exception, ValueError)
    assert rt.whereis(("svc", 1)) is None
    assert rt.processes == before
    assert terminated == []  # terminate is not called when init fails (OTP)
    log: Log = []
    proc = await rt.start(Recorder, log, name=("svc", 1))
    assert rt.whereis(("svc", 1)) is proc


async def test_init_failure_sends_down_to_monitors_but_no_exit_to_links(rt: Runtime) -> None:
    log: Log = []
    opened = gate()

    class TrapsExits(Recorder):
        trap_exits = True

    class FailsLater(Process):
        async def init(self) -> None:
            await opened
            raise ValueError("late")

    parent = await rt.start(TrapsExits, log)
    starting = asyncio.create_task(rt.start(FailsLater, name="late", link=parent))
    while not rt.scheduler.suspended:  # its init has suspended
        await asyncio.sleep(0)
    ref = rt.monitor(parent, "late")
    opened.set_result(None)
    with pytest.raises(InitError):
        await starting
    await rt.settle()
    downs = [m for k, m in log[1:] if k == "info"]
    assert len(downs) == 1 and downs[0].ref == ref and isinstance(downs[0].reason, Crash)
    assert parent.alive


async def test_killed_during_an_init_that_suspends_raises_init_error(rt: Runtime) -> None:
    # Bug fixed in kernel.py: a process killed (or crashing with CancelledError) while its
    # async init was suspended never resolved the starter's future, so `rt.start` hung forever.
    never = gate()

    class Stuck(Process):
        async def init(self) -> None:
            await never

    starting = asyncio.create_task(rt.start(Stuck, name="stuck"))
    while not rt.scheduler.suspended:  # its init has suspended
        await asyncio.sleep(0)
    assert rt.kill("stuck")
    await rt.settle()
    assert starting.done()
    with pytest.raises(InitError) as info:
        await starting
    assert info.value.reason == KILLED
    assert rt.whereis("stuck") is None and not rt.processes


# -- call, cast, send ----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", RECORDERS)
async def test_call_cast_send(rt: Runtime, cls: type[Process]) -> None:
    log: Log = []
    proc = await rt.start(cls, log, name="rec")
    assert await rt.call(proc, "a") == ("reply", "a")
    assert await rt.call("rec", "b") == ("reply", "b")
    assert rt.cast("rec", "c") is None
    assert rt.send(proc, "d") is None
    await rt.settle()
    assert log == ["init", ("call", "a"), ("call", "b"), ("cast", "c"), ("info", "d")]


async def test_cast_and_send_are_not_handled_in_the_senders_stack(rt: Runtime) -> None:
    log: Log = []
    proc = await rt.start(Recorder, log)
    rt.cast(proc, 1)
    rt.send(proc, 2)
    assert log == ["init"]
    assert proc.status == "runnable"
    await rt.settle()
    assert log == ["init", ("cast", 1), ("info", 2)]


@pytest.mark.parametrize("cls", RECORDERS)
async def test_call_timeout(rt: Runtime, clock: VirtualClock, cls: type[Process]) -> None:
    class Silent(cls):  # type: ignore[valid-type, misc]
        def handle_call(self, request: Any, from_: Any) -> Any:
            self.log.append(("call", request))
            return NOREPLY

    log: Log = []
    proc = await rt.start(Silent, log)
    calling = asyncio.create_task(rt.call(proc, "hello?", timeout=2.0))
    await rt.settle()
    clock.advance(1.999)
    await rt.settle()
    assert not calling.done()
    clock.advance(0.001)
    await rt.settle()
    with pytest.raises(CallTimeout) as info:
        await calling
    assert isinstance(info.value, TimeoutError)
    assert info.value.timeout == 2.0
    assert proc.alive
    assert proc._callers == set()  # the timed-out call is forgotten


async def test_a_call_that_timed_out_in_the_mailbox_is_not_handled(
    rt: Runtime, clock: VirtualClock
) -> None:
    log: Log = []
    gates = {"busy": gate()}
    proc = await rt.start(Gated, log, gates)
    rt.cast(proc, "busy")
    await rt.settle()  # "busy" stays suspended on its gate
    calling = asyncio.create_task(rt.call(proc, "late", timeout=1.0))
    await rt.settle()  # "busy" stays suspended on its gate
    clock.advance(1.0)
    with pytest.raises(CallTimeout):
        await calling
    gates["busy"].set_result(None)
    assert await rt.call(proc, "next") == ("reply", "next")
    assert [entry[:2] for entry in log] == [("cast", "busy"), ("resumed", "busy"), ("call", "next")]


async def test_call_to_dead_process_or_unknown_name_raises_no_process(rt: Runtime) -> None:
    log: Log = []
    proc = await rt.start(Recorder, log, name="gone")
    await rt.stop(proc)
    with pytest.raises(NoProcess):
        await rt.call(proc, "x")
    with pytest.raises(NoProcess) as info:
        await rt.call("gone", "x")
    assert info.value.target == "gone"
    with pytest.raises(NoProcess):
        await rt.call(("never", "registered"), "x")


@pytest.mark.parametrize("cls", RECORDERS)
async def test_call_to_a_process_that_crashes_handling_it_raises_call_exit(
    rt: Runtime, cls: type[Process]
) -> None:
    log: Log = []
    proc = await rt.start(cls, log)
    with pytest.raises(CallExit) as info:
        await rt.call(proc, "crash")
    assert isinstance(info.value.reason, Crash)
    assert str(info.value.reason.exception) == "boom in call"
    assert not proc.alive
    assert log[-1] == ("terminate", info.value.reason)


async def test_call_to_a_process_that_stops_without_replying_raises_call_exit(
    rt: Runtime,
) -> None:
    log: Log = []
    proc = await rt.start(Recorder, log)
    with pytest.raises(CallExit) as info:
        await rt.call(proc, "stop")
    assert info.value.reason == NORMAL


async def test_call_to_a_process_killed_while_handling_it_raises_call_exit(rt: Runtime) -> None:
    log: Log = []
    gates = {"slow": gate()}
    proc = await rt.start(Gated, log, gates)
    calling = asyncio.create_task(rt.call(proc, "slow"))
    queued = asyncio.create_task(rt.call(proc, "queued"))
    await rt.settle()
    assert not calling.done()
    rt.kill(proc)
    for task in (calling, queued):
        with pytest.raises(CallExit) as info:
            await task
        assert info.value.reason == KILLED
    assert not proc.alive


async def test_noreply_and_a_later_reply(rt: Runtime) -> None:
    class Deferred(Process):
        def init(self) -> None:
            self.waiting: list[Any] = []

        def handle_call(self, request: Any, from_: Any) -> Any:
            if request == "wait":
                self.waiting.append(from_)
                return NOREPLY
            return len(self.waiting)

        def handle_cast(self, message: Any) -> None:
            for from_ in self.waiting:
                self.reply(from_, message)
            self.waiting.clear()

    proc = await rt.start(Deferred)
    first = asyncio.create_task(rt.call(proc, "wait"))
    second = asyncio.create_task(rt.call(proc, "wait"))
    await rt.settle()
    assert await rt.call(proc, "count") == 2  # the process keeps working meanwhile
    assert not first.done() and not second.done()
    rt.cast(proc, 42)
    assert await first == 42
    assert await second == 42
    assert proc._callers == set()


async def test_self_call_is_refused(rt: Runtime) -> None:
    class SelfCaller(Process):
        async def handle_call(self, request: Any, from_: Any) -> Any:
            if request == "self":
                try:
                    await self.rt.call(self, "inner")
                except ProcessError as exc:
                    return type(exc).__name__
            return "inner"

    proc = await rt.start(SelfCaller)
    assert await rt.call(proc, "self") == "ProcessError"


async def test_cast_and_send_never_block_and_are_dropped_for_dead_targets(rt: Runtime) -> None:
    log: Log = []
    proc = await rt.start(Recorder, log, name="dead")
    await rt.stop(proc)
    assert rt.cast(proc, "x") is None
    assert rt.send(proc, "x") is None
    assert rt.cast("dead", "x") is None
    assert rt.send(("no", "such"), "x") is None
    assert len(proc.mailbox) == 0
    # a busy target: cast/send return at once, the messages wait in the mailbox
    gates = {"busy": gate()}
    busy = await rt.start(Gated, [], gates)
    rt.cast(busy, "busy")
    await rt.settle()
    for i in range(100):
        rt.cast(busy, i)
        rt.send(busy, i)
    assert len(busy.mailbox) == 200
    gates["busy"].set_result(None)
    await rt.settle()
    assert len(busy.mailbox) == 0


async def test_messages_from_one_sender_arrive_in_order(rt: Runtime) -> None:
    log: Log = []
    proc = await rt.start(Recorder, log)
    for i in range(1000):  # more than a scheduler batch
        if i % 3 == 0:
            rt.cast(proc, i)
        else:
            rt.send(proc, i)
    await rt.settle()
    assert [m for _, m in log[1:]] == list(range(1000))


async def test_messages_from_processes_arrive_in_order_per_sender(rt: Runtime) -> None:
    log: Log = []
    sink = await rt.start(Recorder, log)

    class Sender(Process):
        def init(self, tag: str) -> None:
            self.tag = tag

        def handle_cast(self, n: int) -> None:
            for i in range(n):
                self.rt.send(sink, (self.tag, i))

    a = await rt.start(Sender, "a")
    b = await rt.start(Sender, "b")
    for _ in range(3):
        rt.cast(a, 100)
        rt.cast(b, 100)
    await rt.settle()
    received = [m for _, m in log[1:]]
    assert [i for tag, i in received if tag == "a"] == list(range(100)) * 3
    assert [i for tag, i in received if tag == "b"] == list(range(100)) * 3


async def test_a_flood_handled_inline_is_scheduled_later(rt: Runtime) -> None:
    # Bug fixed in scheduler.py: a process that got more than a batch of messages while it ran
    # inline in `start`/`call`/`stop` (not from the scheduler's turn) was put back on the run
    # queue without arming the scheduler, so it starved until some other process was woken.
    class Flooder(Process):
        def init(self) -> None:
            self.seen = 0

        def handle_call(self, request: Any, from_: Any) -> Any:
            if request == "flood":
                for i in range(1000):
                    self.rt.send(self, i)
                return "ok"
            return self.seen

        def handle_info(self, message: Any) -> None:
            self.seen += 1

    proc = await rt.start(Flooder)
    assert await rt.call(proc, "flood") == "ok"
    # no quiesce here: the event loop alone must get the work done (wall-clock guard only)
    assert await asyncio.wait_for(rt.call(proc, "seen"), 5) == 1000


# -- callbacks that suspend ----------------------------------------------------------------------


async def test_a_suspended_callback_continues_in_its_task_and_later_messages_wait(
    rt: Runtime,
) -> None:
    log: Log = []
    gates = {"slow": gate()}
    proc = await rt.start(Gated, log, gates)
    rt.cast(proc, "slow")
    rt.send(proc, "after-1")
    rt.cast(proc, "after-2")
    await rt.settle()
    assert log == [("cast", "slow", True)]
    assert proc.status == "running"
    assert len(proc.mailbox) == 2
    rt.send(proc, "after-3")
    gates["slow"].set_result(None)
    await rt.settle()
    assert log == [
        ("cast", "slow", True),
        ("resumed", "slow", True),
        ("info", "after-1", True),
        ("cast", "after-2", True),
        ("info", "after-3", True),
    ]
    assert proc.status == "waiting"
    # back to inline handling afterwards
    assert await rt.call(proc, "inline") == ("reply", "inline")
    assert log[-1] == ("call", "inline", True)
    assert rt.scheduler.in_task == 0


async def test_current_task_is_the_process_task_inline_and_after_suspension(
    rt: Runtime,
) -> None:
    seen: Log = []

    # coroutine callbacks run as the process's task (plain functions cannot await: they run
    # as they are, in the caller's task, see scheduler.py)
    class Where(Process):
        async def init(self) -> None:
            seen.append(("init", asyncio.current_task() is self._task))

        async def handle_call(self, request: Any, from_: Any) -> Any:
            seen.append(("inline", asyncio.current_task() is self._task))
            await asyncio.sleep(0)
            seen.append(("suspended", asyncio.current_task() is self._task))
            return "done"

        async def handle_info(self, message: Any) -> None:
            seen.append(("info", asyncio.current_task() is self._task))

    caller_task = asyncio.current_task()
    proc = await rt.start(Where)
    rt.send(proc, "x")
    assert await rt.call(proc, "go") == "done"
    await rt.settle()
    assert asyncio.current_task() is caller_task  # the caller's task is restored
    assert seen == [
        ("init", True),
        ("info", True),
        ("inline", True),
        ("suspended", True),
    ]


async def test_nested_inline_calls_keep_task_identity(rt: Runtime) -> None:
    seen: Log = []

    class Inner(Process):
        async def handle_call(self, request: Any, from_: Any) -> Any:
            seen.append(("inner", asyncio.current_task() is self._task))
            return "inner"

    class Outer(Process):
        def init(self, inner: Process) -> None:
            self.inner = inner

        async def handle_call(self, request: Any, from_: Any) -> Any:
            seen.append(("outer-before", asyncio.current_task() is self._task))
            answer = await self.rt.call(self.inner, request)
            seen.append(("outer-after", asyncio.current_task() is self._task))
            return answer

    inner = await rt.start(Inner)
    outer = await rt.start(Outer, inner)
    assert await rt.call(outer, "x") == "inner"
    assert seen == [("outer-before", True), ("inner", True), ("outer-after", True)]


async def test_asyncio_timeout_works_inside_an_async_callback(rt: Runtime) -> None:
    opened = gate()

    class Timed(Process):
        async def handle_call(self, request: Any, from_: Any) -> Any:
            task = asyncio.current_task()
            assert task is self._task
            never = gate()
            if request == "inline-entered":
                try:
                    async with asyncio.timeout(0):  # entered inline, expires once suspended
                        await never
                except TimeoutError:
                    return ("timed out", task.cancelling())
            if request == "entered-in-task":
                await asyncio.sleep(0)  # now in the process's task
                try:
                    async with asyncio.timeout(0):
                        await never
                except TimeoutError:
                    return ("timed out", task.cancelling())
            if request == "in-time":
                async with asyncio.timeout(3600):
                    await opened
                return ("in time", task.cancelling())
            return ("plain", task.cancelling())

    proc = await rt.start(Timed)
    assert await rt.call(proc, "inline-entered") == ("timed out", 0)
    assert await rt.call(proc, "entered-in-task") == ("timed out", 0)
    calling = asyncio.create_task(rt.call(proc, "in-time"))
    await rt.settle()
    assert not calling.done()
    opened.set_result(None)
    assert await calling == ("in time", 0)
    assert await rt.call(proc, "after") == ("plain", 0)
    assert proc.alive


async def test_a_crash_after_suspension_is_a_crash(rt: Runtime) -> None:
    log: Log = []
    opened = gate()

    class LateCrash(Recorder):
        async def handle_cast(self, message: Any) -> None:  # type: ignore[override]
            await opened
            raise RuntimeError("late boom")

    proc = await rt.start(LateCrash, log)
    rt.cast(proc, "x")
    rt.send(proc, "never handled")
    await rt.settle()
    opened.set_result(None)
    await rt.settle()
    assert isinstance(proc.exit_reason, Crash)
    assert str(proc.exit_reason.exception) == "late boom"
    assert log == ["init", ("terminate", proc.exit_reason)]
    assert rt.scheduler.in_task == 0


# -- terminate, stop, kill, exit reasons ---------------------------------------------------------


@pytest.mark.parametrize("cls", RECORDERS)
async def test_terminate_runs_on_stop(rt: Runtime, cls: type[Process]) -> None:
    log: Log = []
    proc = await rt.start(cls, log)
    await rt.stop(proc)
    assert log == ["init", ("terminate", NORMAL)]
    assert proc.exit_reason == NORMAL and not proc.alive and proc.status == "dead"
    proc = await rt.start(cls, log)
    await rt.stop(proc, SHUTDOWN)
    assert log[-1] == ("terminate", SHUTDOWN)
    assert proc.exit_reason == SHUTDOWN


@pytest.mark.parametrize("cls", RECORDERS)
async def test_terminate_runs_on_crash(rt: Runtime, cls: type[Process]) -> None:
    log: Log = []
    proc = await rt.start(cls, log)
    rt.cast(proc, "crash")
    rt.cast(proc, "never handled")
    await rt.settle()
    assert not proc.alive
    assert isinstance(proc.exit_reason, Crash)
    assert isinstance(proc.exit_reason.exception, RuntimeError)
    assert log == ["init", ("cast", "crash"), ("terminate", proc.exit_reason)]
    assert rt.errors and rt.errors[-1]["what"] == "crashed"


@pytest.mark.parametrize("cls", RECORDERS)
async def test_terminate_does_not_run_on_kill(rt: Runtime, cls: type[Process]) -> None:
    log: Log = []
    proc = await rt.start(cls, log)
    rt.cast(proc, "queued")
    assert rt.kill(proc) is True
    assert rt.kill(proc) is False
    await rt.settle()
    assert log == ["init"]
    assert proc.exit_reason == KILLED


async def test_stop_inside_a_callback_takes_effect_after_it(rt: Runtime) -> None:
    log: Log = []
    proc = await rt.start(Recorder, log)
    rt.cast(proc, ("stop", "bye"))
    rt.cast(proc, "dropped")
    await rt.settle()
    assert log == ["init", ("cast", ("stop", "bye")), ("terminate", "bye")]
    assert proc.exit_reason == "bye"


async def test_stop_waits_for_the_current_callback(rt: Runtime, clock: VirtualClock) -> None:
    log: Log = []
    gates = {"slow": gate()}
    proc = await rt.start(Gated, log, gates)
    rt.cast(proc, "slow")
    rt.cast(proc, "queued")
    await rt.settle()
    stopping = asyncio.create_task(rt.stop(proc, SHUTDOWN, timeout=10))
    await rt.settle()
    assert not stopping.done() and proc.alive
    gates["slow"].set_result(None)
    await stopping
    # stop goes ahead of queued messages: they are dropped
    assert [e[:2] for e in log] == [("cast", "slow"), ("resumed", "slow"), ("terminate", SHUTDOWN)]
    assert proc.exit_reason == SHUTDOWN


async def test_stop_with_a_hanging_terminate_kills_after_the_timeout(
    rt: Runtime, clock: VirtualClock
) -> None:
    log: Log = []
    gates = {"terminate": gate()}
    proc = await rt.start(Gated, log, gates)
    stopping = asyncio.create_task(rt.stop(proc, SHUTDOWN, timeout=3.0))
    await rt.settle()
    assert not stopping.done() and proc.alive
    assert proc.status == "running"
    clock.advance(2.999)
    await rt.settle()
    assert not stopping.done() and proc.alive
    clock.advance(0.001)
    await stopping
    await rt.settle()
    assert proc.exit_reason == KILLED
    assert log == [("terminate", SHUTDOWN), "terminate cancelled"]
    assert rt.scheduler.in_task == 0
    assert clock.next_deadline() is None


async def test_kill_during_terminate(rt: Runtime, clock: VirtualClock) -> None:
    log: Log = []
    gates = {"terminate": gate()}
    proc = await rt.start(Gated, log, gates, name="t")
    stopping = asyncio.create_task(rt.stop(proc, SHUTDOWN, timeout=60))
    await rt.settle()
    assert proc.alive
    assert rt.kill("t")
    await stopping
    await rt.settle()
    assert proc.exit_reason == KILLED
    assert log == [("terminate", SHUTDOWN), "terminate cancelled"]
    assert rt.whereis("t") is None
    assert clock.next_deadline() is None  # the kill timer of stop was cancelled


async def test_a_failing_terminate_still_exits_with_the_reason(rt: Runtime) -> None:
    class BadTerminate(Process):
        def terminate(self, reason: Any) -> None:
            raise RuntimeError("terminate broke")

    proc = await rt.start(BadTerminate)
    await rt.stop(proc, SHUTDOWN)
    assert proc.exit_reason == SHUTDOWN
    assert rt.errors[-1]["what"] == "terminate failed"


async def test_stop_of_a_dead_process_returns(rt: Runtime) -> None:
    log: Log = []
    proc = await rt.start(Recorder, log)
    await rt.stop(proc)
    await rt.stop(proc)
    await rt.stop("no such name")
    assert log == ["init", ("terminate", NORMAL)]


async def test_exit_reasons(rt: Runtime) -> None:
    log: Log = []
    normal = await rt.start(Recorder, log)
    rt.cast(normal, ("stop", NORMAL))
    shutdown = await rt.start(Recorder, log)
    await rt.stop(shutdown, SHUTDOWN)
    killed = await rt.start(Recorder, log)
    rt.kill(killed)
    crashed = await rt.start(Recorder, log)
    rt.cast(crashed, "crash")
    custom = await rt.start(Recorder, log)
    rt.cast(custom, ("stop", (SHUTDOWN, "maintenance")))
    await rt.settle()
    assert normal.exit_reason == NORMAL
    assert shutdown.exit_reason == SHUTDOWN
    assert killed.exit_reason == KILLED
    assert isinstance(crashed.exit_reason, Crash)
    assert "boom in cast" in str(crashed.exit_reason)
    assert custom.exit_reason == (SHUTDOWN, "maintenance")
    assert [is_normal_exit(p.exit_reason) for p in (normal, shutdown, killed, crashed, custom)] == [
        True,
        True,
        False,
        False,
        True,
    ]
    assert not rt.processes


async def test_describe_and_status(rt: Runtime) -> None:
    log: Log = []
    proc = await rt.start(Recorder, log, name=("leader", "XRPUSDT"))
    data = proc.describe()
    assert data["pid"] == proc.pid
    assert data["name"] == "leader:XRPUSDT"
    assert data["module"] == "Recorder"
    assert data["kind"] == "worker"
    assert data["status"] == "waiting"
    assert data["mailbox"] == 0
    rt.cast(proc, 1)
    assert proc.describe()["status"] == "runnable"
    assert proc.describe()["mailbox"] == 1
    assert "leader" in repr(proc)
