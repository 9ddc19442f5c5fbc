"""DynamicSupervisor: children started on demand (one_for_one), as in Elixir.

`start_child(spec)`, `terminate_child(pid)`, `which_children()`, `count_children()`, and an
optional `max_children`. Children are restarted by their spec's restart type, within the same
restart intensity rules as `Supervisor`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hedgehog.runtime.errors import InitError
from hedgehog.runtime.process import Process
from hedgehog.runtime.supervisor import (
    Child,
    ChildSpec,
    SupervisorBase,
    SupervisorError,
    _counts,
    supervisor_call,
)

if TYPE_CHECKING:
    from hedgehog.runtime.kernel import Runtime


class DynamicSupervisor(SupervisorBase):
    """`await rt.start(DynamicSupervisor, max_children=..., name=...)`."""

    def init(
        self, max_children: int | None = None, max_restarts: int = 3, max_seconds: float = 5.0
    ) -> None:
        if max_children is not None and max_children < 0:
            raise ValueError("max_children must be >= 0")
        self._setup(max_restarts, max_seconds)
        self.max_children = max_children

    async def handle_call(self, request: Any, from_: Any) -> Any:
        match request:
            case ("start_child", ChildSpec() as spec):
                if self.max_children is not None and len(self.children) >= self.max_children:
                    return SupervisorError(f"max_children ({self.max_children}) reached")
                child = Child(spec)
                try:
                    pid = await self._start_child(child)
                except InitError as exc:
                    return exc
                self.children.append(child)
                return pid
            case ("terminate_child", Process() as pid):
                found = self._child_of(pid)
                if found is None:
                    return SupervisorError(f"{pid!r} is not a child of {self!r}")
                self.children.remove(found)
                await self._stop_child(found)
                return "ok"
            case ("which_children",):
                return [(c.spec.id, c.pid, c.spec.start.kind) for c in self.children]
            case ("count_children",):
                return _counts(self.children)
        return SupervisorError(f"unknown request {request!r}")

    def _ended(self, child: Child) -> None:
        self.children.remove(child)  # or it would stay, pid-less, holding a max_children slot

    async def _restart(self, child: Child) -> None:
        await super()._restart(child)
        if child.pid is None and child in self.children and self.alive:
            self.children.remove(child)


async def start_child(rt: Runtime, sup: Any, spec: ChildSpec) -> Process:
    """Start a child under a DynamicSupervisor; raises `InitError` or `SupervisorError`."""
    pid: Process = await supervisor_call(rt, sup, "start_child", spec)
    return pid


async def terminate_child(rt: Runtime, sup: Any, pid: Process) -> None:
    await supervisor_call(rt, sup, "terminate_child", pid)


async def which_children(rt: Runtime, sup: Any) -> list[tuple[Any, Process | None, str]]:
    result: list[tuple[Any, Process | None, str]] = await supervisor_call(rt, sup, "which_children")
    return result


async def count_children(rt: Runtime, sup: Any) -> dict[str, int]:
    result: dict[str, int] = await supervisor_call(rt, sup, "count_children")
    return result
