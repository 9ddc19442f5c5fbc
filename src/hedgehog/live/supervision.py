"""Supervision as the node reports it and ends by it: crash-only at the top.

- `symbol_state`, `health`: what the tree really does, for `hedgehog status` and the dashboard;
  a symbol stored as on but with no running symbol tree or trader is "down", with the reason,
  never "trading".
- `crash_only`: when the root supervisor dies (killed, or its restart intensity exceeded) the
  node does not limp on with an empty tree: the command running it ends with `NodeCrashed`,
  exits non-zero, and the service manager starts a fresh node that resumes from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from hedgehog.core.errors import HedgehogError
from hedgehog.naive.context import leader_name, symbol_name
from hedgehog.naive.leader import traders_of

if TYPE_CHECKING:
    from hedgehog.live.node import LiveNode


class NodeCrashed(HedgehogError):
    """The root supervisor died while the node was meant to run: the node must exit."""


@contextlib.contextmanager
def crash_only(node: LiveNode) -> Iterator[None]:
    """Within this block, the root supervisor's death cancels the current task, and the
    cancellation comes out as `NodeCrashed`: whatever the block awaits (the live view, a
    wait for Ctrl-C) ends, the caller's cleanup runs, and the command exits non-zero."""
    task = asyncio.current_task()
    assert task is not None

    async def watch() -> None:
        await node.wait_root_exit()
        task.cancel()

    watcher = asyncio.ensure_future(watch())
    try:
        yield
    except asyncio.CancelledError:
        if node.root_exit is None:
            raise
        task.uncancel()
        raise NodeCrashed(f"the root supervisor exited ({node.root_exit})") from None
    finally:
        watcher.cancel()


def symbol_state(node: LiveNode, symbol: str) -> tuple[str, str | None]:
    """What the tree really does for `symbol`, and why not when it does not: ("trading",
    None), ("shutting down", None), ("off", None), or ("down", reason) when it is meant to
    trade but has no running symbol tree or no live trader (restarting, or given up)."""
    ctx = node.naive.ctx
    wanted = ctx.status.get(symbol, "off")
    if wanted == "off":
        return "off", None
    if node.root_exit is not None:
        return "down", f"the node's root supervisor exited ({node.root_exit})"
    if symbol in ctx.errored:
        return "down", f"errored: {ctx.errored[symbol]}"
    for name, what in (
        ("naive.symbols", "naive.symbols"),
        (symbol_name(symbol), "its symbol supervisor"),
        (leader_name(symbol), "its leader"),
    ):
        proc = node.rt.whereis(name)
        if proc is None or not proc.alive:
            return "down", f"{what} is not running (restarting, or its supervisor gave up)"
    if not any(t.alive for t in traders_of(node.rt.whereis(leader_name(symbol)))):
        return "down", "no trader is running (starting or restarting)"
    return ("trading" if wanted == "on" else "shutting down"), None


def health(node: LiveNode) -> tuple[bool, str | None]:
    """(True, None) while the root supervisor runs; (False, why) once it has died."""
    root = node.node.root
    if node.root_exit is not None:
        return False, f"root supervisor exited ({node.root_exit})"
    if root is None or not root.alive:
        return False, "root supervisor not running"
    return True, None
