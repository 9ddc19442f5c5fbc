"""One open WebSocket of a `StreamConnection`, and the pace of the requests sent on it.

A connection has one socket most of the time and two during a rotation; each `Link` keeps what
the server was asked to send on its socket, its reader task, its own request pace (Binance
counts messages per socket) and how it ended. Kept apart so that the connection module holds
the connection's life, not the bookkeeping of each socket.
"""

from __future__ import annotations

import asyncio
from collections import deque

import aiohttp


class RequestPacer:
    """At most `limit` requests per `window` seconds on one WebSocket (Binance cuts off
    connections that send more than 5 messages a second)."""

    __slots__ = ("limit", "sent", "window")

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.sent: deque[float] = deque()

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        sent = self.sent
        while True:
            now = loop.time()
            while sent and sent[0] <= now - self.window:
                sent.popleft()
            if len(sent) < self.limit:
                sent.append(now)
                return
            await asyncio.sleep(sent[0] + self.window - now)


class Link:
    """One open WebSocket and what the server was asked to send on it."""

    __slots__ = (
        "closing",
        "error",
        "number",
        "opened_at",
        "pacer",
        "primary",
        "reader",
        "subscribed",
        "ws",
    )

    reader: asyncio.Task[None]

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        subscribed: set[str],
        opened_at: float,
        number: int,
        pacer: RequestPacer,
    ) -> None:
        self.ws = ws
        self.subscribed = subscribed  # stream names requested on this socket
        self.opened_at = opened_at  # runtime clock, monotonic
        self.number = number
        self.pacer = pacer
        self.primary = False
        self.closing = False
        self.error: str | None = None

    async def close(self, timeout: float) -> None:
        """Close the socket (cleanly if it takes less than `timeout`) and end its reader."""
        if not self.ws.closed:
            try:
                async with asyncio.timeout(timeout):
                    await self.ws.close()
            except (TimeoutError, aiohttp.ClientError, OSError):
                pass
        if not self.reader.done():
            self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)


__all__ = ["Link", "RequestPacer"]
