"""Errors and exit reasons of the process runtime.

Exit reasons follow OTP: the strings ``"normal"``, ``"shutdown"``, ``"killed"`` and ``"noproc"``,
or a `Crash` carrying the exception that ended the process.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

NORMAL = "normal"
SHUTDOWN = "shutdown"
KILLED = "killed"
NOPROC = "noproc"


@dataclass(frozen=True, slots=True)
class Crash:
    """Exit reason of a process whose callback raised `exception`."""

    exception: BaseException

    def __str__(self) -> str:
        return f"crash: {type(self.exception).__name__}: {self.exception}"


def is_normal_exit(reason: Any) -> bool:
    """True for the reasons a transient child is not restarted for (normal and shutdown)."""
    return reason in (NORMAL, SHUTDOWN) or (
        isinstance(reason, tuple) and len(reason) == 2 and reason[0] == SHUTDOWN
    )


class ProcessError(Exception):
    """Base of the runtime's errors."""


class NoProcess(ProcessError):
    """The target of a call is not alive (or the name is not registered)."""

    def __init__(self, target: Hashable) -> None:
        self.target = target
        super().__init__(f"no process: {target!r} is not alive")


class CallTimeout(ProcessError, TimeoutError):
    """A call got no reply within its timeout."""

    def __init__(self, target: Hashable, timeout: float) -> None:
        self.target = target
        self.timeout = timeout
        super().__init__(f"call to {target!r} timed out after {timeout:g}s")


class CallExit(ProcessError):
    """The called process exited before it replied."""

    def __init__(self, target: Hashable, reason: Any) -> None:
        self.target = target
        self.reason = reason
        super().__init__(f"{target!r} exited before replying: {reason}")


class InitError(ProcessError):
    """A process failed in `init`; it was never started."""

    def __init__(self, what: str, reason: Any) -> None:
        self.reason = reason
        super().__init__(f"{what} failed to start: {reason}")


class NotQuiescent(ProcessError):
    """A strict `quiesce` found callbacks suspended on something the event loop will not do
    by itself (I/O, a timer, an event nobody sets): a backtest cannot go on deterministically."""

    def __init__(self, suspended: list[Any]) -> None:
        self.suspended = suspended
        names = ", ".join(repr(p) for p in suspended)
        super().__init__(
            f"not quiescent: {names} suspended in a callback that awaits something outside "
            "the runtime (I/O, a timer, an event nobody sets); a backtest needs callbacks "
            "that finish without outside input"
        )


class AlreadyRegistered(ProcessError):
    """A name is taken by a live process."""

    def __init__(self, name: Hashable, owner: Any) -> None:
        self.name = name
        self.owner = owner
        super().__init__(f"name {name!r} is already registered to {owner!r}")
