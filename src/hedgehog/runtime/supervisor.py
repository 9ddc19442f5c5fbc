"""Supervisors, as in OTP: child specs, restart strategies and restart intensity.

- `ChildSpec`: how to start a child (a `Process` class and its arguments), its restart type
  (permanent: always restarted; transient: only after an abnormal exit; temporary: never) and
  its shutdown timeout (seconds to run `terminate` before it is killed; 0 kills at once).
- `Supervisor`: a static list of children, started in order and stopped in reverse order, with
  the strategies one_for_one, one_for_all and rest_for_one.
- Restart intensity: more than `max_restarts` restarts within `max_seconds` (OTP's defaults: 3
  in 5 s) make the supervisor stop its children and exit with reason "shutdown", so that its own
  supervisor sees the failure.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from hedgehog.runtime.errors import SHUTDOWN, InitError, ProcessError, is_normal_exit
from hedgehog.runtime.process import Exit, Process

if TYPE_CHECKING:
    from hedgehog.runtime.kernel import Runtime

Restart = Literal["permanent", "transient", "temporary"]
Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]


@dataclass(frozen=True)
class ChildSpec:
    """How a supervisor starts, restarts and stops one child."""

    id: Hashable
    start: type[Process]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    name: Hashable | None = None
    restart: Restart = "permanent"
    shutdown: float | None = 5.0

    def __post_init__(self) -> None:
        if self.restart not in ("permanent", "transient", "temporary"):
            raise ValueError(f"unknown restart type {self.restart!r}")


@dataclass
class Child:
    """A supervisor's record of one child."""

    spec: ChildSpec
    pid: Process | None = None
    restarts: int = 0


class SupervisorBase(Process):
    """What both supervisors share: starting, stopping and restarting children, intensity."""

    trap_exits = True
    kind = "supervisor"

    def _setup(self, max_restarts: int, max_seconds: float) -> None:
        if max_restarts < 0 or max_seconds <= 0:
            raise ValueError("max_restarts must be >= 0 and max_seconds > 0")
        self.max_restarts = max_restarts
        self.max_seconds = max_seconds
        self.children: list[Child] = []
        self._restart_times: deque[float] = deque()
        self.restarts = 0

    async def _start_child(self, child: Child) -> Process:
        spec = child.spec
        pid = await self.rt.start(spec.start, *spec.args, name=spec.name, link=self, **spec.kwargs)
        child.pid = pid
        return pid

    async def _stop_child(self, child: Child) -> None:
        pid, child.pid = child.pid, None
        if pid is None or not pid.alive:
            return
        self.rt.unlink(self, pid)
        if child.spec.shutdown == 0:
            self.rt.kill(pid)
        else:
            await self.rt.stop(pid, SHUTDOWN, child.spec.shutdown)

    def _child_of(self, pid: Process) -> Child | None:
        for child in self.children:
            if child.pid is pid:
                return child
        return None

    def _intensity_exceeded(self) -> bool:
        """Record one restart; True when there were more than allowed within the period."""
        now = self.rt.clock.monotonic()
        times = self._restart_times
        times.append(now)
        while times and times[0] < now - self.max_seconds:
            times.popleft()
        return len(times) > self.max_restarts

    async def handle_info(self, message: Any) -> None:
        if not isinstance(message, Exit):
            return
        if message.pid is self.parent:
            self.stop(message.reason)
            return
        child = self._child_of(message.pid)
        if child is None:
            return  # a child we stopped on purpose, or an unknown link
        child.pid = None
        spec = child.spec
        if spec.restart == "temporary":
            self.children.remove(child)
            return
        if spec.restart == "transient" and is_normal_exit(message.reason):
            self._ended(child)
            return
        await self._restart(child)

    def _ended(self, child: Child) -> None:
        """A transient child ended normally and is not restarted: a static supervisor keeps
        its spec (for `restart_child`); a dynamic one forgets it."""

    async def _restart(self, child: Child) -> None:
        while True:
            if self._intensity_exceeded():
                self.rt.log_error(
                    self,
                    "reached max restart intensity",
                    RuntimeError(
                        f"more than {self.max_restarts} restarts in {self.max_seconds:g}s"
                    ),
                )
                self.stop(SHUTDOWN)
                return
            self.restarts += 1
            child.restarts += 1
            self.rt.restarts += 1
            try:
                await self._restart_with_strategy(child)
                return
            except InitError as exc:
                self.rt.log_error(self, f"failed to restart {child.spec.id!r}", exc)

    async def _restart_with_strategy(self, child: Child) -> None:
        await self._start_child(child)

    async def terminate(self, reason: Any) -> None:
        for child in reversed(self.children):
            await self._stop_child(child)

    def describe(self) -> dict[str, Any]:
        data = super().describe()
        data["restarts"] = self.restarts
        data["children"] = [
            {**c.pid.describe(), "id": str(c.spec.id), "restarts": c.restarts}
            if c.pid is not None and c.pid.alive
            else {"id": str(c.spec.id), "status": "stopped", "restarts": c.restarts}
            for c in self.children
        ]
        return data


class Supervisor(SupervisorBase):
    """A static supervisor: `await rt.start(Supervisor, children, strategy=...)`."""

    async def init(
        self,
        children: Sequence[ChildSpec],
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
    ) -> None:
        if strategy not in ("one_for_one", "one_for_all", "rest_for_one"):
            raise ValueError(f"unknown strategy {strategy!r}")
        ids = [spec.id for spec in children]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate child ids in {ids!r}")
        self._setup(max_restarts, max_seconds)
        self.strategy = strategy
        self.children = [Child(spec) for spec in children]
        for child in self.children:
            try:
                await self._start_child(child)
            except InitError:
                await self.terminate(SHUTDOWN)
                raise

    async def _restart_with_strategy(self, child: Child) -> None:
        if self.strategy == "one_for_one":
            await self._start_child(child)
            return
        index = self.children.index(child)
        affected = self.children if self.strategy == "one_for_all" else self.children[index:]
        for other in reversed(affected):
            await self._stop_child(other)
        for other in list(affected):
            if other.spec.restart == "temporary" and other is not child:
                self.children.remove(other)
                continue
            await self._start_child(other)

    async def handle_call(self, request: Any, from_: Any) -> Any:
        match request:
            case ("which_children",):
                return [(c.spec.id, c.pid, c.spec.start.kind) for c in self.children]
            case ("count_children",):
                return _counts(self.children)
            case ("terminate_child", child_id):
                child = self._find(child_id)
                if child is None:
                    return SupervisorError(f"no child {child_id!r}")
                await self._stop_child(child)
                return "ok"
            case ("restart_child", child_id):
                child = self._find(child_id)
                if child is None:
                    return SupervisorError(f"no child {child_id!r}")
                if child.pid is not None and child.pid.alive:
                    return SupervisorError(f"child {child_id!r} is running")
                try:
                    return await self._start_child(child)
                except InitError as exc:
                    return exc
            case ("delete_child", child_id):
                child = self._find(child_id)
                if child is None:
                    return SupervisorError(f"no child {child_id!r}")
                if child.pid is not None and child.pid.alive:
                    return SupervisorError(f"child {child_id!r} is running")
                self.children.remove(child)
                return "ok"
        return SupervisorError(f"unknown request {request!r}")

    def _find(self, child_id: Hashable) -> Child | None:
        for child in self.children:
            if child.spec.id == child_id:
                return child
        return None


class SupervisorError(ProcessError):
    """A supervisor refused a request (unknown child, child running, max_children...)."""


async def supervisor_call(rt: Runtime, sup: Any, *request: Any, timeout: float = 30.0) -> Any:
    """Ask a supervisor something; its refusals are raised as `SupervisorError`."""
    result = await rt.call(sup, request, timeout)
    if isinstance(result, Exception):
        raise result
    return result


def _counts(children: Sequence[Child]) -> dict[str, int]:
    active = [c for c in children if c.pid is not None and c.pid.alive]
    return {
        "specs": len(children),
        "active": len(active),
        "supervisors": sum(1 for c in active if c.spec.start.kind == "supervisor"),
        "workers": sum(1 for c in active if c.spec.start.kind != "supervisor"),
    }
