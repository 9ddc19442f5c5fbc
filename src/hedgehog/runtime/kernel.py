"""The runtime: the process table, starting and stopping processes, messages, calls,
monitors, links and exit signals. One `Runtime` per event loop (tests make their own).
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from hedgehog.runtime.clock import Clock, WallClock
from hedgehog.runtime.errors import (
    KILLED,
    NORMAL,
    CallExit,
    CallTimeout,
    Crash,
    InitError,
    NoProcess,
    ProcessError,
)
from hedgehog.runtime.process import (
    CALL,
    CAST,
    DEAD,
    IDLE,
    INFO,
    INIT,
    QUEUED,
    STOP,
    Down,
    Exit,
    Process,
    make_ref,
    noproc_down,
)
from hedgehog.runtime.registry import Registry
from hedgehog.runtime.scheduler import Scheduler

P = TypeVar("P", bound=Process)
Target = Process | Hashable
ExitListener = Callable[[Process, Any], None]

log = logging.getLogger("hedgehog.runtime")


class Runtime:
    """Processes on one asyncio loop, with an injected clock."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self.clock: Clock = clock or WallClock()
        self.registry = Registry()
        self.scheduler = Scheduler(self.loop)
        self.processes: dict[int, Process] = {}
        self._exit_listeners: list[ExitListener] = []
        self._pids = itertools.count(1)
        self.errors: deque[dict[str, Any]] = deque(maxlen=100)
        self.restarts = 0  # children restarted by supervisors, node-wide

    # -- lookup -----------------------------------------------------------------------------
    def whereis(self, target: Target) -> Process | None:
        """The live process behind a pid or a registered name, or None."""
        if isinstance(target, Process):
            return target if target.alive else None
        return self.registry.whereis(target)

    # -- starting and stopping --------------------------------------------------------------
    async def start(
        self,
        cls: type[P],
        *args: Any,
        name: Hashable | None = None,
        link: Process | None = None,
        **kwargs: Any,
    ) -> P:
        """Start a process and return it once its `init` has finished.

        Raises `InitError` when `init` fails (the process never existed for anyone else) and
        `AlreadyRegistered` when `name` is taken. With `link`, the new process is linked to it.
        """
        proc = cls()
        proc.rt = self
        proc.pid = next(self._pids)
        proc.name = None
        proc.alive = True
        proc.exit_reason = None
        proc.mailbox = deque()
        proc._state = IDLE
        proc._callers = None
        proc._links = None
        proc._monitors = None
        proc._monitored_by = None
        proc._resume = None
        proc._waiter = None
        proc._context = contextvars.Context()  # a clean one: nothing leaks in or out
        proc.started_at = self.clock.time()
        proc.parent = link
        if name is not None:
            self.registry.register(name, proc)
        self.processes[proc.pid] = proc
        proc._task = self.loop.create_task(
            proc._main(), name=f"hedgehog:{proc!r}", context=proc._context
        )
        if link is not None and link.alive:
            self._link(proc, link)
        done: asyncio.Future[Any] = self.loop.create_future()
        # resolved with the process once `init` returns, with Crash(exc) if it raises, or with
        # the exit reason by `_finalize` if the process dies before `init` has finished (killed
        # while an async init is suspended, say)
        proc.__dict__["_starting"] = done
        proc.mailbox.append((INIT, (args, kwargs), done))
        try:
            self.scheduler.run_process(proc)
            result = done.result() if done.done() else await done
        finally:
            proc.__dict__.pop("_starting", None)
        if result is not proc:
            raise InitError(f"{cls.__name__}{f' {name!r}' if name is not None else ''}", result)
        return proc

    async def stop(self, target: Target, reason: Any = NORMAL, timeout: float | None = 5.0) -> None:
        """Stop a process as OTP does: `terminate(reason)` runs after its current callback;
        if it has not exited within `timeout` seconds it is killed."""
        proc = self.whereis(target)
        if proc is None:
            return
        waiter = self.wait_exit(proc)
        proc.mailbox.appendleft((STOP, reason, None))
        if proc._state in (IDLE, QUEUED):
            self.scheduler.run_process(proc)  # not running: terminate right here
        if waiter.done():
            return
        timer = self.clock.call_later(timeout, self.kill, proc) if timeout is not None else None
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()

    def kill(self, target: Target) -> bool:
        """Kill a process at once: no `terminate`, exit reason "killed". True if it was alive."""
        proc = self.whereis(target)
        if proc is None:
            return False
        self._finalize(proc, KILLED)
        return True

    def exit(self, target: Target, reason: Any, sender: Process | None = None) -> None:
        """Send an exit signal (Erlang's `exit/2`): "kill" kills in any case; processes that
        trap exits get an `Exit` message; others die with `reason` ("normal" is ignored)."""
        proc = self.whereis(target)
        if proc is None:
            return
        if reason == "kill":
            self._finalize(proc, KILLED)
        elif proc.trap_exits:
            self.send(proc, Exit(sender if sender is not None else proc, reason))
        elif reason != NORMAL:
            self._finalize(proc, reason)

    def wait_exit(self, proc: Process) -> asyncio.Future[Any]:
        """A future resolved with the exit reason of `proc` (at once if it is dead)."""
        fut: asyncio.Future[Any] = self.loop.create_future()
        if not proc.alive:
            fut.set_result(proc.exit_reason)
        else:
            watchers = proc.__dict__.setdefault("_exit_waiters", [])
            watchers.append(fut)
        return fut

    # -- messages ---------------------------------------------------------------------------
    def send(self, target: Target, message: Any) -> None:
        """Put a plain message in a mailbox (`handle_info`). Never blocks; dropped if dead."""
        proc = target if isinstance(target, Process) else self.registry.whereis(target)
        if proc is None or not proc.alive:
            return
        proc.mailbox.append((INFO, message, None))
        if proc._state == IDLE:
            self.scheduler.enqueue(proc)

    def cast(self, target: Target, message: Any) -> None:
        """An asynchronous request (`handle_cast`). Never blocks; dropped if dead."""
        proc = target if isinstance(target, Process) else self.registry.whereis(target)
        if proc is None or not proc.alive:
            return
        proc.mailbox.append((CAST, message, None))
        if proc._state == IDLE:
            self.scheduler.enqueue(proc)

    async def call(self, target: Target, request: Any, timeout: float | None = 5.0) -> Any:
        """Send a request and wait for the reply (`handle_call`).

        Raises `NoProcess` if the target is not alive, `CallTimeout` after `timeout` seconds
        of the runtime's clock, `CallExit` if the target exits before replying. An idle target
        handles the call at once in the caller's stack, with no task switch.
        """
        proc = target if isinstance(target, Process) else self.registry.whereis(target)
        if proc is None or not proc.alive:
            raise NoProcess(target)
        if proc._task is asyncio.current_task(self.loop):
            raise ProcessError(f"{proc!r} called itself (that would deadlock)")
        fut: asyncio.Future[Any] = self.loop.create_future()
        callers = proc._callers
        if callers is None:
            callers = proc._callers = set()
        callers.add(fut)
        proc.mailbox.append((CALL, request, fut))
        if proc._state in (IDLE, QUEUED):
            # not running: handle its mail up to this call right here, in order (its place
            # in the run queue is skipped later), instead of a task switch per call
            self.scheduler.run_process(proc)
        if fut.done():
            return fut.result()
        timer = None
        if timeout is not None:
            timer = self.clock.call_later(timeout, _expire, fut, target, timeout)
        try:
            return await fut
        finally:
            if timer is not None:
                timer.cancel()
            callers.discard(fut)

    def send_after(self, target: Target, message: Any, delay: float) -> Any:
        """Send `message` to `target` after `delay` seconds of the runtime's clock."""
        return self.clock.call_later(delay, self.send, target, message)

    # -- monitors and links -----------------------------------------------------------------
    def monitor(self, watcher: Process, target: Target) -> int:
        """`watcher` gets `Down(ref, pid, reason)` when `target` exits (at once if gone)."""
        ref = make_ref()
        proc = self.whereis(target)
        if proc is None:
            self.send(watcher, noproc_down(ref, target))
            return ref
        if proc._monitored_by is None:
            proc._monitored_by = {}
        proc._monitored_by[ref] = watcher
        if watcher._monitors is None:
            watcher._monitors = {}
        watcher._monitors[ref] = proc
        return ref

    def demonitor(self, watcher: Process, ref: int) -> None:
        """Remove a monitor; no `Down` will arrive for it (unless one is already queued)."""
        if watcher._monitors is None:
            return
        proc = watcher._monitors.pop(ref, None)
        if proc is not None and proc._monitored_by is not None:
            proc._monitored_by.pop(ref, None)

    def link(self, a: Process, b: Target) -> None:
        """Link two processes: when one exits abnormally, the other gets its exit signal."""
        proc = self.whereis(b)
        if proc is None:
            # the Exit names the dead process (OTP's {'EXIT', Pid, noproc}), not `a` itself
            self.exit(a, "noproc", sender=b if isinstance(b, Process) else a)
            return
        self._link(a, proc)

    def unlink(self, a: Process, b: Process) -> None:
        if a._links is not None:
            a._links.discard(b)
        if b._links is not None:
            b._links.discard(a)

    def _link(self, a: Process, b: Process) -> None:
        if a._links is None:
            a._links = set()
        if b._links is None:
            b._links = set()
        a._links.add(b)
        b._links.add(a)

    def add_exit_listener(self, listener: ExitListener) -> None:
        """Call `listener(proc, reason)` after every process exit (pub/sub cleans up so)."""
        self._exit_listeners.append(listener)

    # -- exit -------------------------------------------------------------------------------
    def _finalize(self, proc: Process, reason: Any, propagate: bool = True) -> None:
        """The moment a process dies: free its name, fail its callers, notify its watchers."""
        if not proc.alive:
            return
        proc.alive = False
        proc._state = DEAD
        proc.exit_reason = reason
        self.processes.pop(proc.pid, None)
        if proc.name is not None:
            self.registry.unregister(proc.name)
        if isinstance(reason, Crash) and propagate:
            self.log_error(proc, "crashed", reason.exception)
        mailbox = proc.mailbox
        if proc._callers:
            for fut in proc._callers:
                if not fut.done():
                    fut.set_exception(CallExit(proc, reason))
            proc._callers = None
        starting = proc.__dict__.pop("_starting", None)
        if starting is not None and not starting.done():
            starting.set_result(reason)  # died before its init finished: start() raises
        mailbox.clear()
        if proc._monitors:
            for ref, target in proc._monitors.items():
                if target._monitored_by is not None:
                    target._monitored_by.pop(ref, None)
            proc._monitors = None
        if proc._monitored_by:
            watchers, proc._monitored_by = proc._monitored_by, None
            for ref, watcher in watchers.items():
                if watcher._monitors is not None:
                    watcher._monitors.pop(ref, None)
                self.send(watcher, Down(ref, proc, reason))
        if proc._links:
            links, proc._links = proc._links, None
            for other in links:
                if other._links is not None:
                    other._links.discard(proc)
                if other.parent is proc:
                    # a child outlives its parent only while it handles the parent's exit
                    # signal; close that window, or a restarted parent would find the old
                    # child's name still taken
                    self._finalize(other, KILLED)
                elif propagate:
                    self.exit(other, reason, sender=proc)
        for listener in self._exit_listeners:
            listener(proc, reason)
        waiters = proc.__dict__.pop("_exit_waiters", None)
        if waiters:
            for fut in waiters:
                if not fut.done():
                    fut.set_result(reason)
        if proc._resume is not None:  # handed off, but its task never picked it up
            coro = proc._resume[0]
            proc._resume = None
            try:  # in its own context: a `with localcontext()` it leaves restores its own
                proc._context.run(coro.close)
            except RuntimeError:  # its context is running this very code
                coro.close()
        self.scheduler.task_done(proc)
        task = proc._task
        if task is not None and not task.done():
            task.cancel()

    def log_error(self, proc: Process, what: str, exc: BaseException) -> None:
        self.errors.append(
            {"time": self.clock.time(), "process": repr(proc), "what": what, "error": repr(exc)}
        )
        log.error("%r %s: %r", proc, what, exc, exc_info=exc)

    # -- tools ------------------------------------------------------------------------------
    async def quiesce(self, strict: bool = False) -> None:
        """Wait until every process has handled every message it has and no callback is
        suspended; `strict` raises `NotQuiescent` if one awaits something outside (see
        Scheduler.quiesce)."""
        await self.scheduler.quiesce(strict)

    async def settle(self) -> None:
        """Run until nothing moves without outside input; callbacks may stay suspended
        (tests use it to reach a process blocked on a gate; see Scheduler.settle)."""
        await self.scheduler.settle()

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Stop every process: top-level ones newest first (supervisors stop their own
        children in order), then anything left."""
        for roots_only in (True, False):
            for proc in sorted(self.processes.values(), key=lambda p: -p.pid):
                if proc.alive and (proc.parent is None or not roots_only):
                    await self.stop(proc, "shutdown", timeout)


def _expire(fut: asyncio.Future[Any], target: Any, timeout: float) -> None:
    if not fut.done():
        fut.set_exception(CallTimeout(target, timeout))


__all__ = ["Runtime"]
