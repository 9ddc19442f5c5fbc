"""The scheduler: runs processes' callbacks inline, in batches, from one run queue.

Sending to an idle process puts it on the run queue; one `loop.call_soon` drains the queue, so a
burst of messages costs one event-loop turn, not a task switch per message. While a process's
coroutine callback runs, `asyncio.current_task()` is the process's own task (swapped in with
asyncio's `_enter_task`/`_leave_task`, the hooks its own tasks use), so code inside it behaves
as if it ran in that task (plain-function callbacks run as they are: they cannot await).
When a callback really suspends, the process's task takes over (`Process._finish_in_task`)
and the scheduler moves on. A plain `handle_info`/`handle_cast` may also return a coroutine
to continue asynchronously only when it must (the trader does: most trades need no await).
"""

from __future__ import annotations

import asyncio
from asyncio.tasks import _enter_task, _leave_task
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from hedgehog.runtime.errors import Crash
from hedgehog.runtime.process import IDLE, IN_TASK, INFO, QUEUED, RUNNING, STOP

if TYPE_CHECKING:
    from hedgehog.runtime.process import Process

BATCH = 256  # messages a process handles before others get a turn
TURN = 20_000  # messages one scheduler turn handles before yielding to the event loop


class Scheduler:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.runq: deque[Process] = deque()
        self.in_task = 0  # processes whose callback is suspended in their own task
        self.handled = 0  # messages handled inline, for stats and quiescence
        self._armed = False

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
        while runq:
            proc = runq.popleft()
            if proc._state == QUEUED:
                self.run_process(proc)
            if budget is not None and self.handled - start >= budget:
                return

    def run_process(self, proc: Process) -> None:
        """Handle a batch of `proc`'s messages now, in the caller's stack."""
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
        proc._state = IN_TASK
        proc._resume = (coro, yielded)
        self.in_task += 1
        waiter = proc._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def task_done(self) -> None:
        self.in_task -= 1

    @property
    def idle(self) -> bool:
        return not self.runq and self.in_task == 0

    async def quiesce(self, patience: int = 3) -> None:
        """Wait until no process has work left: the run queue is empty and no callback is
        suspended, or nothing has moved for `patience` event-loop turns (callbacks blocked on
        timers of a virtual clock, say)."""
        # The event loop gets at least one turn, so that tasks and callbacks already scheduled
        # (a `create_task(rt.call(...))` that has not started yet, say) run before we decide.
        still = 0
        while True:
            self.run()
            before = (self.handled, self.in_task)
            await asyncio.sleep(0)
            if self.runq or (self.handled, self.in_task) != before:
                still = 0
            elif self.in_task == 0:
                return
            else:
                still += 1
                if still >= patience:
                    return
