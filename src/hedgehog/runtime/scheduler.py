"""The scheduler: runs processes' callbacks inline, in batches, from one run queue.

Sending to an idle process puts it on the run queue; one `loop.call_soon` drains the queue, so a
burst of messages costs one event-loop turn, not a task switch per message. While a process's
coroutine callback runs, `asyncio.current_task()` is the process's own task (swapped in with
asyncio's `_enter_task`/`_leave_task`, the hooks its own tasks use), so code inside it behaves
as if it ran in that task (plain-function callbacks run as they are: they cannot await).
When a callback really suspends, the process's task takes over (`Process._finish_in_task`)
and the scheduler moves on. A plain `handle_info`/`handle_cast` may also return a coroutine
to continue asynchronously only when it must (the trader does: most trades need no await).

Guarantees (issue 11):
- Each process runs in its own `contextvars.Context`, its inline batches (`Context.run`) and its
  task (created with that context) alike: a `decimal.localcontext` or a `ContextVar` set in one
  process is never seen by another, nor by the code that happened to drive the scheduler.
- A process killed during its own inline step is gone at once: its suspended callback is closed
  instead of being handed to its (cancelled) task.
- `suspended` holds exactly the processes whose callback is suspended in their task; `quiesce()`
  returns when the run queue is empty and `suspended` is, and its strict form (the backtest's)
  raises `NotQuiescent` when a suspended callback waits on something the loop will not do by
  itself (I/O, a timer, an event nobody sets).
"""

from __future__ import annotations

import asyncio
import contextlib
from asyncio.tasks import _enter_task, _leave_task
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from hedgehog.runtime.errors import Crash, NotQuiescent
from hedgehog.runtime.process import IDLE, IN_TASK, INFO, QUEUED, RUNNING, STOP

if TYPE_CHECKING:
    from hedgehog.runtime.process import Process

BATCH = 256  # messages a process handles before others get a turn
TURN = 20_000  # messages one scheduler turn handles before yielding to the event loop


class Scheduler:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.runq: deque[Process] = deque()
        self.suspended: set[Process] = set()  # callback suspended, finishing in their task
        self.in_task = 0  # len(suspended), read on the backtest's hot path
        self.handled = 0  # messages handled inline, for stats
        self._armed = False
        self._idle_waiters: list[asyncio.Future[None]] = []

    def enqueue(self, proc: Process) -> None:
        """Make an idle process runnable."""
        proc._state = QUEUED
        self.runq.append(proc)
        if not self._armed:
            self._armed = True
            self.loop.call_soon(self._turn)

    def arm(self) -> None:
        """Make sure the run queue is drained soon (after appending to it directly)."""
        if not self._armed:
            self._armed = True
            self.loop.call_soon(self._turn)

    def _turn(self) -> None:
        self._armed = False
        self.run(TURN)
        if self.runq and not self._armed:
            self._armed = True
            self.loop.call_soon(self._turn)

    def run(self, budget: int | None = None) -> None:
        """Run queued processes until the queue is empty (or `budget` messages were handled)."""
        runq = self.runq
        start = self.handled
        run_batch = self._run_batch
        while runq:
            proc = runq.popleft()
            if proc._state == QUEUED:
                proc._context.run(run_batch, proc)  # run_process, one frame less
            if budget is not None and self.handled - start >= budget:
                return

    def run_process(self, proc: Process) -> None:
        """Handle a batch of `proc`'s messages now, in the caller's stack and `proc`'s context."""
        proc._context.run(self._run_batch, proc)

    def _run_batch(self, proc: Process) -> None:
        proc._state = RUNNING
        mailbox = proc.mailbox
        handled = 0
        try:
            while mailbox:
                entry = mailbox.popleft()
                handled += 1
                try:
                    if entry[0] == INFO:  # the hot path: no extra call
                        coro = proc.handle_info(entry[1])
                    else:
                        coro = proc._dispatch(entry)
                    if coro is not None and self._step(proc, coro):
                        return  # suspended: its task carries on
                except (Exception, asyncio.CancelledError) as exc:
                    if not proc.alive:
                        return
                    mailbox.appendleft((STOP, Crash(exc), None))
                if not proc.alive:
                    return
                if handled >= BATCH and mailbox:
                    proc._state = QUEUED
                    self.runq.append(proc)
                    self.arm()  # we may run inline (start/call/stop), not from a turn
                    return
            proc._state = IDLE
        finally:
            self.handled += handled

    def _step(self, proc: Process, coro: Any) -> bool:
        """Run an async callback up to its first real suspension, as the process's own task.

        Returns True when it suspended (the process's task then carries on with it)."""
        loop = self.loop
        previous = asyncio.current_task(loop)
        if previous is not None:
            _leave_task(loop, previous)
        task = proc._task
        _enter_task(loop, task)
        try:
            yielded = coro.send(None)
        except StopIteration:
            return False
        finally:
            _leave_task(loop, task)
            if previous is not None:
                _enter_task(loop, previous)
        self._hand_off(proc, coro, yielded)
        return True

    def _hand_off(self, proc: Process, coro: Coroutine[Any, Any, Any], yielded: object) -> None:
        if not proc.alive:  # killed during this very step: its task is cancelled already
            coro.close()
            return
        proc._state = IN_TASK
        proc._resume = (coro, yielded)
        self.suspended.add(proc)
        self.in_task += 1
        waiter = proc._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def task_done(self, proc: Process) -> None:
        """`proc`'s suspended callback and the work after it are over (or it died)."""
        if proc in self.suspended:
            self.suspended.discard(proc)
            self.in_task -= 1
            if not self.suspended and self._idle_waiters:
                waiters, self._idle_waiters = self._idle_waiters, []
                for fut in waiters:
                    if not fut.done():
                        fut.set_result(None)

    async def settle(self) -> None:
        """Run until nothing can move without outside input: the run queue is empty and the
        loop has nothing ready (callbacks may stay suspended on a gate, I/O or a timer)."""
        await asyncio.sleep(0)
        while True:
            self.run()
            if self.runq:
                continue
            if not self.suspended or not _loop_has_ready_work(self.loop):
                return
            await asyncio.sleep(0)

    async def quiesce(self, strict: bool = False) -> None:
        """Return when no process has work queued and no callback is suspended.

        The event loop first gets one turn, so that tasks already scheduled (a
        `create_task(rt.call(...))` that has not started yet, say) run before we decide. Then we
        wait, without polling, until the last suspended callback has finished. With `strict`
        (backtests), a suspended callback must finish through work the loop already has: when
        the loop has nothing ready to run and one is still suspended, `NotQuiescent` is raised.
        """
        loop = self.loop
        await asyncio.sleep(0)
        while True:
            self.run()
            if not self.suspended and not self.runq:
                return
            if not self.suspended:
                continue
            if strict:
                if not _loop_has_ready_work(loop):
                    raise NotQuiescent(sorted(self.suspended, key=lambda p: p.pid))
                await asyncio.sleep(0)
                continue
            waiter: asyncio.Future[None] = loop.create_future()
            self._idle_waiters.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._idle_waiters.remove(waiter)


def _loop_has_ready_work(loop: asyncio.AbstractEventLoop) -> bool:
    """True when the loop has callbacks ready to run now. asyncio's loops keep them in
    `_ready`; for another loop we cannot tell and say yes, so strict quiesce just polls."""
    ready = getattr(loop, "_ready", None)
    return ready is None or len(ready) > 0
