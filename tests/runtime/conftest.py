"""Fixtures of the runtime tests: a `Runtime` on a `VirtualClock` (time moves only when a test
advances it), torn down by killing whatever the test left alive."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hedgehog.runtime import Runtime, VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    """The virtual clock of `rt`: advance it to fire call timeouts and shutdown timers."""
    return VirtualClock()


@pytest.fixture
async def rt(clock: VirtualClock) -> AsyncIterator[Runtime]:
    """A runtime on `clock`; every process still alive at the end is killed."""
    runtime = Runtime(clock)
    yield runtime
    for proc in sorted(runtime.processes.values(), key=lambda p: -p.pid):
        runtime.kill(proc)
    await runtime.quiesce()
