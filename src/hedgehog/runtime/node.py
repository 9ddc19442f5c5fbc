"""The node: an application's root supervisor on a runtime, stopped cleanly by signals.

`Node(children)` starts a root `Supervisor` (one_for_one by default) over the given child
specs. `run()` waits until SIGINT or SIGTERM (or `request_stop()`), then stops the whole tree in
reverse start order. `tree()` gives the live tree as data for `hedgehog status` and the dashboard.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from typing import Any

from hedgehog.runtime.clock import Clock
from hedgehog.runtime.errors import SHUTDOWN
from hedgehog.runtime.kernel import Runtime
from hedgehog.runtime.supervisor import ChildSpec, Strategy, Supervisor


class Node:
    def __init__(
        self,
        children: Sequence[ChildSpec],
        *,
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        clock: Clock | None = None,
        root_name: str = "root",
        runtime: Runtime | None = None,
    ) -> None:
        self.children = list(children)
        self.strategy: Strategy = strategy
        self.max_restarts = max_restarts
        self.max_seconds = max_seconds
        self.clock = clock
        self.root_name = root_name
        self.rt: Runtime | None = runtime
        self.root: Supervisor | None = None
        self._stop: asyncio.Event | None = None

    async def start(self) -> Runtime:
        """Start the runtime and the root supervisor (and so every child, in order)."""
        if self.rt is None:
            self.rt = Runtime(self.clock)
        self._stop = asyncio.Event()
        self.root = await self.rt.start(
            Supervisor,
            self.children,
            strategy=self.strategy,
            max_restarts=self.max_restarts,
            max_seconds=self.max_seconds,
            name=self.root_name,
        )
        return self.rt

    def request_stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop the tree: children in reverse order, each with its shutdown timeout."""
        if self.rt is None:
            return
        if self.root is not None and self.root.alive:
            await self.rt.stop(self.root, SHUTDOWN, timeout)
        await self.rt.shutdown(timeout)

    async def run(self, install_signals: bool = True) -> None:
        """Start, wait for SIGINT/SIGTERM or `request_stop()` (or the root's exit), stop."""
        rt = self.rt if self.root is not None and self.rt is not None else await self.start()
        assert self._stop is not None and self.root is not None
        loop = asyncio.get_running_loop()
        installed = []
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, self.request_stop)
                    installed.append(sig)
                except (NotImplementedError, RuntimeError):  # pragma: no cover - not on Unix
                    pass
        root_exit = rt.wait_exit(self.root)
        stop_wait = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({root_exit, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_wait.cancel()
            for sig in installed:
                loop.remove_signal_handler(sig)
            await self.stop()

    def tree(self) -> dict[str, Any]:
        """The live supervision tree as nested dicts (name, kind, status, restarts, children)."""
        if self.root is None or not self.root.alive:
            return {"name": self.root_name, "status": "stopped", "children": []}
        return self.root.describe()
