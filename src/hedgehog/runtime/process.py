"""Processes: the GenServer role on asyncio.

A process owns a mailbox and handles one message at a time with its callbacks: `init` (which may
return `Continue(x)` to run `handle_continue(x)` right after start), `handle_call` (its return
value is the reply; return `NOREPLY` and answer later with `reply`), `handle_cast`, `handle_info`
and `terminate(reason)`. Callbacks may be plain functions or coroutines.

Scheduling (see `scheduler.py`): messages are handled inline by the runtime's scheduler, in
batches, without an asyncio task switch per message. Each process also owns an asyncio task that
sleeps until a callback really suspends (awaits I/O); the rest of that callback, and the messages
after it, then run in that task until the mailbox is empty again. `asyncio.current_task()`
inside a callback is always the process's own task, so `asyncio.timeout` and aiohttp work.
Each process has its own `contextvars.Context`: context variables (the Decimal context among
them) set by one process are never seen by another.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import itertools
from collections import deque
from collections.abc import Coroutine, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from hedgehog.runtime.errors import NOPROC, Crash

if TYPE_CHECKING:
    from hedgehog.runtime.kernel import Runtime

# Mailbox entry kinds: (kind, payload, extra)
INFO, CAST, CALL, CONTINUE, STOP, INIT = range(6)
# Scheduling states
IDLE, QUEUED, RUNNING, IN_TASK, EXITING, DEAD = range(6)
STATE_NAMES = ("waiting", "runnable", "running", "running", "exiting", "dead")

_CALLBACKS = ("init", "handle_call", "handle_cast", "handle_info", "handle_continue", "terminate")
_refs = itertools.count(1)


def make_ref() -> int:
    """A unique reference (monitors, timers)."""
    return next(_refs)


class _NoReply:
    def __repr__(self) -> str:
        return "NOREPLY"


NOREPLY: Any = _NoReply()
"""Return this from `handle_call` to reply later with `Process.reply(from_, value)`."""


@dataclass(frozen=True, slots=True)
class Continue:
    """Return from `init` to have `handle_continue(payload)` run right after start."""

    payload: Any = None


@dataclass(frozen=True, slots=True)
class Down:
    """Sent to a monitoring process when the monitored one exits."""

    ref: int
    pid: Process | None
    reason: Any


@dataclass(frozen=True, slots=True)
class Exit:
    """An exit signal of a linked process, delivered as a message to processes that trap exits."""

    pid: Process
    reason: Any


class Process:
    """Base class of every process. Subclass it and override the callbacks you need."""

    trap_exits: ClassVar[bool] = False
    kind: ClassVar[str] = "worker"
    _async: ClassVar[frozenset[str]] = frozenset()

    __slots__ = (
        "__dict__",
        "_callers",
        "_context",
        "_links",
        "_monitored_by",
        "_monitors",
        "_resume",
        "_state",
        "_task",
        "_waiter",
        "alive",
        "exit_reason",
        "mailbox",
        "name",
        "parent",
        "pid",
        "rt",
        "started_at",
    )

    # Set by `Runtime.start` (slots, so no class defaults).
    rt: Runtime
    pid: int
    name: Hashable | None
    alive: bool
    exit_reason: Any
    mailbox: deque[tuple[int, Any, Any]]
    parent: Process | None
    started_at: float
    _state: int
    _task: asyncio.Task[None]
    _callers: set[asyncio.Future[Any]] | None
    _context: contextvars.Context  # its own: inline batches and its task run in it
    _links: set[Process] | None
    _monitors: dict[int, Process] | None
    _monitored_by: dict[int, Process] | None
    _resume: tuple[Coroutine[Any, Any, Any], Any] | None
    _waiter: asyncio.Future[None] | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._async = frozenset(
            n for n in _CALLBACKS if inspect.iscoroutinefunction(getattr(cls, n))
        )

    # -- callbacks (override) --------------------------------------------------------------
    def init(self, *args: Any, **kwargs: Any) -> Any:
        """Set up state. Raise to refuse to start; return `Continue(x)` to continue async."""
        return None

    def handle_call(self, request: Any, from_: asyncio.Future[Any]) -> Any:
        raise NotImplementedError(f"{type(self).__name__} got an unexpected call: {request!r}")

    def handle_cast(self, message: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} got an unexpected cast: {message!r}")

    def handle_info(self, message: Any) -> Any:
        """Plain messages (pub/sub, Down, Exit, timers). Unexpected ones are dropped."""
        return None

    def handle_continue(self, payload: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} returned Continue without handler")

    def terminate(self, reason: Any) -> Any:
        """Called when the process stops or crashes (not when killed)."""
        return None

    # -- helpers for use inside callbacks ---------------------------------------------------
    def stop(self, reason: Any = "normal") -> None:
        """Stop this process after the current callback: `terminate(reason)` runs, then exit."""
        if self.alive:
            self.mailbox.appendleft((STOP, reason, None))
            if self._state == IDLE:
                self.rt.scheduler.enqueue(self)

    def reply(self, from_: asyncio.Future[Any], value: Any) -> None:
        """Answer a call that `handle_call` left open with `NOREPLY`."""
        if not from_.done():
            from_.set_result(value)
        if self._callers is not None:
            self._callers.discard(from_)

    def info(self) -> dict[str, Any]:
        """The process's user-visible state, for `hedgehog status` and the dashboard."""
        return {}

    def describe(self) -> dict[str, Any]:
        """This process as data: id, name, kind, status (and children, for supervisors)."""
        return {
            "pid": self.pid,
            "name": _label(self.name) if self.name is not None else None,
            "module": type(self).__name__,
            "kind": self.kind,
            "status": STATE_NAMES[self._state],
            "started_at": self.started_at,
            "mailbox": len(self.mailbox),
        }

    @property
    def status(self) -> str:
        return STATE_NAMES[self._state]

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name is not None else ""
        return f"<{type(self).__name__} #{getattr(self, 'pid', '?')}{label}>"

    # -- machinery --------------------------------------------------------------------------
    def _dispatch(self, entry: tuple[int, Any, Any]) -> Coroutine[Any, Any, Any] | None:
        """Handle one mailbox entry. Returns a coroutine when the callback is async."""
        kind, payload, extra = entry
        if kind == INFO:
            return self.handle_info(payload)  # type: ignore[no-any-return]
        if kind == CAST:
            return self.handle_cast(payload)  # type: ignore[no-any-return]
        if kind == CALL:
            if self._callers is not None and extra not in self._callers:
                return None  # the caller gave up (timeout) before we got to it
            if "handle_call" in self._async:
                return self._call_async(payload, extra)
            self._replied(extra, self.handle_call(payload, extra))
            return None
        if kind == CONTINUE:
            return self.handle_continue(payload)  # type: ignore[no-any-return]
        if kind == STOP:
            return self._stop(payload)
        if kind == INIT:
            return self._init(payload, extra)
        raise AssertionError(f"unknown mailbox entry {kind}")

    def _replied(self, from_: asyncio.Future[Any], value: Any) -> None:
        if value is not NOREPLY:
            self.reply(from_, value)

    async def _call_async(self, request: Any, from_: asyncio.Future[Any]) -> None:
        self._replied(from_, await self.handle_call(request, from_))

    def _init(self, args: Any, done: asyncio.Future[Any]) -> Coroutine[Any, Any, Any] | None:
        if "init" in self._async:
            return self._init_async(args, done)
        try:
            result = self.init(*args[0], **args[1])
        except Exception as exc:
            self._init_failed(exc, done)
            return None
        self._init_ok(result, done)
        return None

    async def _init_async(self, args: Any, done: asyncio.Future[Any]) -> None:
        try:
            result = await self.init(*args[0], **args[1])
        except Exception as exc:
            self._init_failed(exc, done)
            return
        self._init_ok(result, done)

    def _init_ok(self, result: Any, done: asyncio.Future[Any]) -> None:
        if isinstance(result, Continue):
            self.mailbox.appendleft((CONTINUE, result.payload, None))
        if not done.done():
            done.set_result(self)

    def _init_failed(self, exc: BaseException, done: asyncio.Future[Any]) -> None:
        if not done.done():
            done.set_result(Crash(exc))
        self.rt._finalize(self, Crash(exc), propagate=False)

    def _stop(self, reason: Any) -> Coroutine[Any, Any, Any] | None:
        if not self.alive:
            return None
        self._state = EXITING
        if "terminate" in self._async:
            return self._stop_async(reason)
        try:
            self.terminate(reason)
        except Exception as exc:
            self.rt.log_error(self, "terminate failed", exc)
        self.rt._finalize(self, reason)
        return None

    async def _stop_async(self, reason: Any) -> None:
        try:
            await self.terminate(reason)
        except Exception as exc:
            self.rt.log_error(self, "terminate failed", exc)
        self.rt._finalize(self, reason)

    async def _main(self) -> None:
        """The process's own task: sleeps until a callback suspends, then finishes its work."""
        loop = self.rt.loop
        while self.alive:
            resume = self._resume
            if resume is None:
                waiter = self._waiter = loop.create_future()
                try:
                    await waiter
                except asyncio.CancelledError:
                    if not self.alive or self._resume is None:
                        return
                    coro, _ = self._resume
                    self._resume = (coro, _Throw(asyncio.CancelledError()))
                finally:
                    self._waiter = None
                continue
            self._resume = None
            await self._finish_in_task(*resume)

    async def _finish_in_task(self, coro: Coroutine[Any, Any, Any], yielded: Any) -> None:
        """Continue a suspended callback, then drain the mailbox, in this task."""
        scheduler = self.rt.scheduler
        try:
            try:
                await _Resume(coro, yielded)
            except BaseException as exc:
                if not self.alive:
                    return
                self.mailbox.appendleft((STOP, Crash(exc), None))
            mailbox = self.mailbox
            while self.alive and mailbox:
                entry = mailbox.popleft()
                scheduler.handled += 1
                try:
                    pending = self._dispatch(entry)
                    if pending is not None:
                        await pending
                except BaseException as exc:
                    if not self.alive:
                        return
                    mailbox.appendleft((STOP, Crash(exc), None))
            if self.alive:
                self._state = IDLE
        finally:
            scheduler.task_done(self)


class _Throw:
    """Marks a resumption that must throw an exception into the suspended callback."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Resume:
    """Await a coroutine that already ran up to its first suspension (it yielded `yielded`).

    The asyncio task awaiting this sees the same future the coroutine is blocked on, so
    cancellation and timeouts reach the coroutine as usual.
    """

    __slots__ = ("coro", "yielded")

    def __init__(self, coro: Coroutine[Any, Any, Any], yielded: Any) -> None:
        self.coro = coro
        self.yielded = yielded

    def __await__(self) -> Any:
        coro, value = self.coro, self.yielded
        if isinstance(value, _Throw):
            try:
                value = coro.throw(value.exc)
            except StopIteration as stop:
                return stop.value
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


def _label(name: Hashable) -> str:
    if isinstance(name, tuple):
        return ":".join(str(p) for p in name)
    return str(name)


def noproc_down(ref: int, target: Any) -> Down:
    """The Down message for a monitor of a process that is already gone."""
    return Down(ref, target if isinstance(target, Process) else None, NOPROC)


__all__ = [
    "NOREPLY",
    "Continue",
    "Down",
    "Exit",
    "Process",
    "make_ref",
]
