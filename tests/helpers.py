"""Helpers the suite shares: one way to wait for an effect that no event of ours signals."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any


async def eventually(
    check: Callable[[], Any], timeout: float = 10.0, what: str = "", interval: float = 0.01
) -> Any:
    """Poll `check` until it returns something truthy and return that. An AssertionError it
    raises counts as "not yet"; a coroutine it returns is awaited, so a check may ask a server.
    For network and subprocess effects, which tests cannot await directly. The timeout bounds a
    stuck test and measures nothing: keep it generous so a loaded machine passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        error: AssertionError | None = None
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
        except AssertionError as exc:
            result, error = None, exc
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(
                f"not met within {timeout} s: {what or getattr(check, '__qualname__', check)}"
            ) from error
        await asyncio.sleep(interval)
