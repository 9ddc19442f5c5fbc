"""A bounded outbox per WebSocket client, so that publishing never waits for a slow reader.

The publisher `offer`s text frames without awaiting; a sender task per client writes them out.
When a client falls `limit` frames behind (its socket and aiohttp's write buffer are full and
the outbox has filled up), it is dropped: its connection is aborted and `on_drop` counts it.
Memory per client is therefore bounded, however fast the replay and however slow the client.
A publisher that prefers to slow down can first `wait_room` (until half the limit is free).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

from aiohttp import web


class Outbox:
    """Frames waiting to be sent to one WebSocket client."""

    __slots__ = (
        "_frames", "_limit", "_on_drop", "_room", "_task", "_transport", "_wake", "closed", "ws",
    )  # fmt: skip

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.BaseTransport | None,
        limit: int,
        on_drop: Callable[[Outbox], None],
    ) -> None:
        self.ws = ws
        self._transport = transport
        self.closed = False
        self._frames: deque[str] = deque()
        self._limit = max(1, limit)
        self._on_drop = on_drop
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def offer(self, frame: str) -> bool:
        """Queue a frame; drop the client (and return False) if it is too far behind."""
        if self.closed:
            return False
        if len(self._frames) >= self._limit:
            self.drop()
            return False
        self._frames.append(frame)
        if len(self._frames) == 1:
            self._wake.set()
        return True

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def limit(self) -> int:
        return self._limit

    async def wait_room(self, timeout: float) -> bool:
        """Wait until at most half the limit is queued; False on timeout or when closed."""
        while len(self._frames) > self._limit // 2 and not self.closed:
            self._room.clear()
            try:
                await asyncio.wait_for(self._room.wait(), timeout)
            except TimeoutError:
                return False
        return not self.closed

    def drop(self) -> None:
        """Abort the connection of a client that cannot keep up (counted by `on_drop`)."""
        if self.closed:
            return
        self.abort()
        self._on_drop(self)

    def abort(self) -> None:
        """Cut the connection now, as a network failure would (no close frame)."""
        if self.closed:
            return
        self.closed = True
        self._frames.clear()
        self._wake.set()
        self._room.set()
        if isinstance(self._transport, asyncio.WriteTransport):
            self._transport.abort()

    async def close(self) -> None:
        """Stop the sender task (the connection itself is closed by its handler)."""
        self.closed = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        frames, ws = self._frames, self.ws
        try:
            while not self.closed:
                if not frames:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                await ws.send_str(frames.popleft())
                if len(frames) <= self._limit // 2:
                    self._room.set()
        except (ConnectionError, RuntimeError):
            self.abort()
