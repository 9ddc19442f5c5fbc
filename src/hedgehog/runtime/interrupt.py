"""Stopping a command on SIGINT or SIGTERM: one line on stderr, exit 130 or 143.

`install()` (the CLI calls it first) sets one handler for both signals. Outside an event
loop the handler raises `Interrupted` at once, as Python's own KeyboardInterrupt does. Inside
`run()` (asyncio.run for our commands) it cancels the main task instead, so every `finally`
of the command runs (a node closes its store, a simulator its sockets), and `run()` then
raises `Interrupted`. Code that never yields to the loop (the backtest replay) calls
`check()` between steps. `deferred()` holds a signal over a write that must not be cut in
half (a JSON document, a report). A second signal ends the process at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Coroutine, Iterator
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")
SIGNALS = (signal.SIGINT, signal.SIGTERM)

requested: int | None = None  # the signal received, if any (read by `check()`)
_main_task: asyncio.Task[Any] | None = None
_deferred = 0


class Interrupted(BaseException):
    """The command was stopped by a signal. A BaseException: `except Exception` does not
    swallow it on its way out."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def message(signum: int) -> str:
    return f"hedgehog: stopped by {signal.Signals(signum).name}"


def _handler(signum: int, frame: FrameType | None) -> None:
    global requested
    if requested is not None:  # the second signal: no more waiting
        sys.stderr.write(message(signum) + " (forced)\n")
        sys.stderr.flush()
        os._exit(128 + signum)
    requested = signum
    if _deferred:
        return
    task = _main_task
    if task is not None and not task.done():
        task.get_loop().call_soon_threadsafe(task.cancel)
        return
    raise Interrupted(signum)


def install() -> None:
    """Handle SIGINT and SIGTERM as this module says (main thread only)."""
    for sig in SIGNALS:
        signal.signal(sig, _handler)


def check() -> None:
    """Raise `Interrupted` when a signal came: for loops that never yield to the event loop."""
    if requested is not None:
        raise Interrupted(requested)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold signals while the body runs (a write that must be whole); raise after it."""
    global _deferred
    _deferred += 1
    try:
        yield
    finally:
        _deferred -= 1
    if not _deferred:
        check()


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, stopped by SIGINT/SIGTERM: the main task is cancelled (its
    `finally` blocks run), then `Interrupted` is raised."""

    async def wrapper() -> T:
        global _main_task
        _main_task = asyncio.current_task()
        try:
            return await main
        finally:
            _main_task = None

    try:
        result = asyncio.run(wrapper())
    except asyncio.CancelledError:
        if requested is not None:
            raise Interrupted(requested) from None
        raise
    check()
    return result


def reset() -> None:
    """Forget a received signal (tests run many commands in one process)."""
    global requested
    requested = None
