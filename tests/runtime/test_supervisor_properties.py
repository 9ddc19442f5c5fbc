"""State-machine tests of the supervisors against a small model.

Random sequences of child exits (crash, normal, shutdown, custom reason, kill; several at once,
before the supervisor gets to run), init failures armed for later restarts, supervisor requests
and virtual time moving by random amounts, over random restart types, strategies and
intensities. After every step the real supervisor must match the model: which children run and
which were restarted (pid identity), the order of every start and stop, restart counts, and
whether the supervisor gave up (exactly when more than max_restarts restarts fell within
max_seconds).

Each example runs on its own event loop (`asyncio.Runner`), made and closed by the machine.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from hedgehog.runtime import (
    KILLED,
    NORMAL,
    SHUTDOWN,
    CallExit,
    ChildSpec,
    Crash,
    DynamicSupervisor,
    InitError,
    Process,
    Runtime,
    Supervisor,
    SupervisorError,
    VirtualClock,
    supervisor_call,
)
from hedgehog.runtime.supervisor import SupervisorBase

REASONS: dict[str, Any] = {
    "crash": "crash",
    "normal": NORMAL,
    "shutdown": SHUTDOWN,
    "custom": ("custom", 1),
    "killed": KILLED,
}
HOWS = list(REASONS)
RESTARTS = ["permanent", "transient", "temporary"]
# time steps in quarters of max_seconds (exact in binary floating point, so restarts land right
# on the window's edge), or just past such a step
QUARTERS = [0, 1, 2, 3, 4, 5, 8]
SETTINGS = settings(max_examples=100, deadline=None, stateful_step_count=25)


class Kid(Process):
    """Logs ("start", id) and ("stop", id, reason); `fail[id] > 0` fails that many starts."""

    def init(self, log: list[Any], id: str, fail: dict[str, int]) -> None:
        if fail.get(id, 0) > 0:
            fail[id] -= 1
            log.append(("init failed", id))
            raise RuntimeError(f"{id} cannot start")
        self.id = id
        self.log = log
        log.append(("start", id))

    def handle_call(self, how: str, from_: Any) -> Any:
        if how == "crash":
            raise RuntimeError(f"{self.id} crashed")
        self.stop(REASONS[how])
        return "ok"

    def terminate(self, reason: Any) -> None:
        self.log.append(("stop", self.id, "crash" if isinstance(reason, Crash) else reason))


# -- the model -----------------------------------------------------------------------------------


@dataclass(eq=False)
class MChild:
    id: str
    restart: str
    gen: int = 0  # how many times it was started
    running: bool = False  # the supervisor's view: it has a pid
    alive: bool = False  # the real process is alive
    restarts: int = 0


class Model:
    """What OTP says a supervisor does, written as plainly as possible."""

    def __init__(self, strategy: str, max_restarts: int, max_seconds: float, dynamic: bool):
        self.strategy = strategy
        self.max_restarts = max_restarts
        self.max_seconds = max_seconds
        self.dynamic = dynamic
        self.children: list[MChild] = []
        self.alive = True
        self.restarts = 0
        self.times: list[float] = []
        self.now = 0.0
        self.fail: dict[str, int] = {}
        self.log: list[Any] = []

    def start(self, c: MChild) -> bool:
        if self.fail.get(c.id, 0) > 0:
            self.fail[c.id] -= 1
            self.log.append(("init failed", c.id))
            return False
        c.gen += 1
        c.running = c.alive = True
        self.log.append(("start", c.id))
        return True

    def stop(self, c: MChild) -> None:
        if c.alive:
            self.log.append(("stop", c.id, SHUTDOWN))
        c.running = c.alive = False

    def ended(self, c: MChild, how: str) -> None:
        """The real process ends by itself (its Exit is now on its way to the supervisor)."""
        if how != "killed":
            self.log.append(("stop", c.id, REASONS[how]))
        c.alive = False

    def on_exit(self, c: MChild, gen: int, how: str) -> None:
        """The supervisor handles the Exit of `c`'s `gen`-th process."""
        if not self.alive or c not in self.children or c.gen != gen or not c.running:
            return  # stale: already replaced, stopped or forgotten
        c.running = False
        if c.restart == "temporary":
            self.children.remove(c)
            return
        if c.restart == "transient" and how in ("normal", "shutdown"):
            if self.dynamic:
                self.children.remove(c)
            return
        self.restart(c)

    def restart(self, c: MChild) -> None:
        while True:
            self.times.append(self.now)
            self.times = [t for t in self.times if t >= self.now - self.max_seconds]
            if len(self.times) > self.max_restarts:
                self.give_up()
                return
            self.restarts += 1
            c.restarts += 1
            if self.restart_with_strategy(c):
                return

    def restart_with_strategy(self, c: MChild) -> bool:
        if self.strategy == "one_for_one":
            return self.start(c)
        i = self.children.index(c)
        affected = list(self.children) if self.strategy == "one_for_all" else self.children[i:]
        for other in reversed(affected):
            self.stop(other)
        for other in affected:
            if other.restart == "temporary" and other is not c:
                self.children.remove(other)
                continue
            if not self.start(other):
                return False
        return True

    def give_up(self) -> None:
        self.alive = False
        for other in reversed(self.children):
            self.stop(other)


# -- the machines --------------------------------------------------------------------------------


class SupervisorMachineBase(RuleBasedStateMachine):
    dynamic = False

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.clock = VirtualClock()
        self.log: list[Any] = []
        self.fail: dict[str, int] = {}
        self.pids: dict[str, Process | None] = {}  # id -> the pid the model's gen stands for
        self.gens: dict[str, int] = {}
        self.model: Model
        self.rt: Runtime
        self.sup: SupervisorBase
        self.checked = 0  # how much of the real log was checked

    def teardown(self) -> None:
        async def kill_all() -> None:
            for proc in sorted(self.rt.processes.values(), key=lambda p: -p.pid):
                self.rt.kill(proc)
            await self.rt.quiesce()

        try:
            if hasattr(self, "rt"):
                self.runner.run(kill_all())
        finally:
            self.runner.close()

    def run(self, coro: Any) -> Any:
        return self.runner.run(coro)

    def spec(self, id: str, restart: str) -> ChildSpec:
        return ChildSpec(id, Kid, args=(self.log, id, self.fail), restart=restart)  # type: ignore[arg-type]

    def real_children(self) -> dict[str, Process | None]:
        return {str(c.spec.id): c.pid for c in self.sup.children}

    # -- rules shared by both machines ------------------------------------------------------------

    @precondition(lambda self: self.model.alive)
    @rule(
        picks=st.lists(st.tuples(st.integers(0, 9), st.sampled_from(HOWS)), min_size=1, max_size=3)
    )
    def end_children(self, picks: list[tuple[int, str]]) -> None:
        """One to three children end before the supervisor runs: their Exits queue up."""

        async def go() -> None:
            pending = []
            for index, how in picks:
                alive = [c for c in self.model.children if c.alive]
                if not alive:
                    break
                c = alive[index % len(alive)]
                pid = self.real_children()[c.id]
                assert pid is not None and pid.alive
                if how == "killed":
                    self.rt.kill(pid)
                else:
                    try:
                        await self.rt.call(pid, how)  # handled inline: it exits right here
                    except CallExit:
                        assert how == "crash"
                assert not pid.alive
                self.model.ended(c, how)
                pending.append((c, c.gen, how))
            await self.rt.quiesce()
            for c, gen, how in pending:
                self.model.on_exit(c, gen, how)

        self.run(go())

    @rule(quarters=st.sampled_from(QUARTERS), past=st.booleans())
    def advance(self, quarters: int, past: bool) -> None:
        self.clock.advance(self.model.max_seconds * quarters / 4 + (0.001 if past else 0.0))
        self.model.now = self.clock.monotonic()

    @precondition(lambda self: self.model.alive and self.model.times)
    @rule(which=st.integers(0, 9))
    def advance_to_the_window_edge(self, which: int) -> None:
        """Move time so that a recorded restart is exactly max_seconds old (still counted)."""
        times = self.model.times
        edge = times[which % len(times)] + self.model.max_seconds
        self.clock.advance_to(edge)
        self.model.now = self.clock.monotonic()

    @precondition(lambda self: self.model.alive and self.model.children)
    @rule(index=st.integers(0, 9), times=st.integers(1, 3))
    def arm_init_failures(self, index: int, times: int) -> None:
        """The next `times` starts of a child fail in init."""
        c = self.model.children[index % len(self.model.children)]
        self.fail[c.id] = self.model.fail[c.id] = times

    # -- checks --------------------------------------------------------------------------------

    @invariant()
    def matches_the_model(self) -> None:
        model, sup = self.model, self.sup
        real_log = self.log[self.checked :]
        self.checked = len(self.log)
        expected_log = model.log
        model.log = []
        assert real_log == expected_log
        assert sup.alive is model.alive
        if not model.alive:
            assert sup.exit_reason == SHUTDOWN
            assert not self.rt.processes
            return
        assert sup.restarts == model.restarts
        real = self.real_children()
        assert list(real) == [c.id for c in model.children]
        for c, child in zip(model.children, sup.children, strict=True):
            pid = real[c.id]
            assert child.restarts == c.restarts
            assert (pid is not None and pid.alive) is c.running
            if c.gen != self.gens.get(c.id):  # (re)started since the last check: a new pid
                assert pid is not self.pids.get(c.id)
                self.gens[c.id] = c.gen
            else:
                assert pid is self.pids.get(c.id) or (pid is None and not c.running)
            self.pids[c.id] = pid
        assert len(self.rt.processes) == 1 + sum(c.running for c in model.children)


class SupervisorMachine(SupervisorMachineBase):
    @initialize(
        strategy=st.sampled_from(["one_for_one", "one_for_all", "rest_for_one"]),
        restarts=st.lists(st.sampled_from(RESTARTS), min_size=1, max_size=5),
        max_restarts=st.integers(0, 4),
        max_seconds=st.sampled_from([1.0, 5.0, 10.0]),
    )
    def start_supervisor(
        self, strategy: str, restarts: list[str], max_restarts: int, max_seconds: float
    ) -> None:
        self.model = Model(strategy, max_restarts, max_seconds, dynamic=False)
        specs = []
        for i, restart in enumerate(restarts):
            c = MChild(f"c{i}", restart)
            self.model.children.append(c)
            self.model.start(c)
            specs.append(self.spec(c.id, restart))

        async def go() -> None:
            self.rt = Runtime(self.clock)
            self.sup = await self.rt.start(
                Supervisor,
                specs,
                strategy=strategy,
                max_restarts=max_restarts,
                max_seconds=max_seconds,
            )

        self.run(go())

    @precondition(lambda self: self.model.alive and self.model.children)
    @rule(index=st.integers(0, 9), request=st.sampled_from(["terminate", "restart", "delete"]))
    def supervisor_request(self, index: int, request: str) -> None:
        model = self.model
        c = model.children[index % len(model.children)]

        async def go() -> None:
            if request == "terminate":
                assert await supervisor_call(self.rt, self.sup, "terminate_child", c.id) == "ok"
                model.stop(c)
            elif c.running:
                try:
                    await supervisor_call(self.rt, self.sup, f"{request}_child", c.id)
                except SupervisorError:
                    pass
                else:
                    raise AssertionError(f"{request}_child of a running child was accepted")
            elif request == "restart":
                try:
                    pid = await supervisor_call(self.rt, self.sup, "restart_child", c.id)
                except InitError:
                    assert not model.start(c)
                else:
                    assert model.start(c) and pid.alive
            else:
                assert await supervisor_call(self.rt, self.sup, "delete_child", c.id) == "ok"
                model.children.remove(c)
            await self.rt.quiesce()

        self.run(go())


class DynamicSupervisorMachine(SupervisorMachineBase):
    dynamic = True

    @initialize(
        max_children=st.one_of(st.none(), st.integers(0, 4)),
        max_restarts=st.integers(0, 4),
        max_seconds=st.sampled_from([1.0, 5.0, 10.0]),
    )
    def start_supervisor(
        self, max_children: int | None, max_restarts: int, max_seconds: float
    ) -> None:
        self.model = Model("one_for_one", max_restarts, max_seconds, dynamic=True)
        self.max_children = max_children
        self.ids = (f"d{i}" for i in itertools.count())

        async def go() -> None:
            self.rt = Runtime(self.clock)
            self.sup = await self.rt.start(
                DynamicSupervisor,
                max_children=max_children,
                max_restarts=max_restarts,
                max_seconds=max_seconds,
            )

        self.run(go())

    @precondition(lambda self: self.model.alive)
    @rule(restart=st.sampled_from(RESTARTS), fails=st.booleans())
    def start_child(self, restart: str, fails: bool) -> None:
        model = self.model
        c = MChild(next(self.ids), restart)
        if fails:
            self.fail[c.id] = model.fail[c.id] = 1

        async def go() -> None:
            full = self.max_children is not None and len(model.children) >= self.max_children
            try:
                pid = await supervisor_call(
                    self.rt, self.sup, "start_child", self.spec(c.id, restart)
                )
            except SupervisorError:
                assert full
            except InitError:
                assert not full and not model.start(c)
            else:
                assert not full and model.start(c) and pid.alive
                model.children.append(c)
            await self.rt.quiesce()

        self.run(go())

    @precondition(lambda self: self.model.alive and self.model.children)
    @rule(index=st.integers(0, 9))
    def terminate_child(self, index: int) -> None:
        model = self.model
        c = model.children[index % len(model.children)]

        async def go() -> None:
            pid = self.real_children()[c.id]
            assert pid is not None
            assert await supervisor_call(self.rt, self.sup, "terminate_child", pid) == "ok"
            model.stop(c)
            model.children.remove(c)
            await self.rt.quiesce()

        self.run(go())


TestSupervisorMachine = SupervisorMachine.TestCase
TestSupervisorMachine.settings = SETTINGS
TestDynamicSupervisorMachine = DynamicSupervisorMachine.TestCase
TestDynamicSupervisorMachine.settings = SETTINGS
