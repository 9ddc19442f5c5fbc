"""The stream manager: which symbols stream, and on which connection.

`StreamManager` ("streamer.manager") holds the streamed symbols and assigns each to a
`StreamConnection`: it fills a connection up to `max_streams_per_connection` (Binance allows
1,024), then starts another one. Connections are started as *temporary* children of the
"streamer.connections" `DynamicSupervisor` and monitored by the manager, which restarts a
crashed one itself with the symbols it carries now (a supervisor could only restart it with
the symbols it was started with), the way the naive leader restarts its traders. An emptied
connection is stopped.

The wanted set lives in the `StreamerContext`, outside the tree (like an ETS table owned by
the application). A restarted manager rebuilds its view from it and from the connections that
are still running (it adopts them, so a crash of the manager does not interrupt any stream),
then starts whatever is missing.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hedgehog.core.symbols import normalize_symbol
from hedgehog.runtime import (
    SHUTDOWN,
    ChildSpec,
    Continue,
    Down,
    Process,
    ProcessError,
    Runtime,
    SupervisorError,
    start_child,
    terminate_child,
    which_children,
)
from hedgehog.runtime.pubsub import Broadcaster
from hedgehog.streamer.connection import DEFAULT_STREAM_URL, StreamConnection
from hedgehog.streamer.options import MAX_STREAMS_PER_CONNECTION, ConnectionOptions

log = logging.getLogger("hedgehog.streamer")

SUPERVISOR = "streamer"
CONNECTIONS = "streamer.connections"
MANAGER = "streamer.manager"

OnChange = Callable[[str, bool], Awaitable[None]]


def connection_name(conn_id: int) -> tuple[str, int]:
    """Registered name of a connection process."""
    return ("streamer.connection", conn_id)


@dataclass
class StreamerContext:
    """What the streamer's processes share; it outlives any of them."""

    rt: Runtime
    pubsub: Broadcaster
    stream_url: str = DEFAULT_STREAM_URL
    max_streams_per_connection: int = MAX_STREAMS_PER_CONNECTION
    options: ConnectionOptions = field(default_factory=ConnectionOptions)
    symbols: set[str] = field(default_factory=set)
    """The symbols that should stream (upper-case)."""
    max_restarts: int = 3
    max_seconds: float = 5.0
    """More connection crashes than `max_restarts` within `max_seconds` crash the manager,
    so that its supervisor sees the failure (OTP's restart intensity)."""
    restarts: int = 0


@dataclass
class _Conn:
    conn_id: int
    pid: Process
    ref: int
    symbols: set[str]


class StreamManager(Process):
    def init(self, ctx: StreamerContext) -> Continue:
        self.ctx = ctx
        self.conns: dict[int, _Conn] = {}
        self.assigned: dict[str, int] = {}
        self._next_id = itertools.count(1)
        self._crash_times: deque[float] = deque()
        return Continue("boot")

    async def handle_continue(self, payload: Any) -> None:
        await self._adopt()
        missing = sorted(s for s in self.ctx.symbols if s not in self.assigned)
        if missing:
            await self._place(missing)

    async def handle_call(self, request: Any, from_: Any) -> Any:
        match request:
            case ("start", symbol):
                return await self._start_streaming(normalize_symbol(symbol))
            case ("stop", symbol):
                return await self._stop_streaming(normalize_symbol(symbol))
            case "streaming":
                return sorted(self.ctx.symbols)
            case "info":
                return self.info()
        raise ValueError(f"{self!r} got an unexpected call: {request!r}")

    async def handle_info(self, message: Any) -> None:
        if not isinstance(message, Down):
            return
        conn = next((c for c in self.conns.values() if c.ref == message.ref), None)
        if conn is None or message.reason == SHUTDOWN:
            return  # one we stopped, or the tree is going down
        del self.conns[conn.conn_id]
        if not conn.symbols:
            return
        log.warning(
            "stream connection %s exited (%s); restarting it with %d symbols",
            conn.conn_id,
            message.reason,
            len(conn.symbols),
        )
        self._count_crash()
        self.ctx.restarts += 1
        await self._start_connection(conn.conn_id, conn.symbols)

    def info(self) -> dict[str, Any]:
        return {
            "symbols": sorted(self.ctx.symbols),
            "connections": {
                cid: c.pid.info() if c.pid.alive else {"id": cid, "connected": False}
                for cid, c in sorted(self.conns.items())
            },
            "max_streams_per_connection": self.ctx.max_streams_per_connection,
            "restarts": self.ctx.restarts,
        }

    # -- helpers ----------------------------------------------------------------------------
    async def _start_streaming(self, symbol: str) -> bool:
        """True if the symbol was not streaming before."""
        new = symbol not in self.ctx.symbols
        self.ctx.symbols.add(symbol)
        if symbol not in self.assigned:
            await self._place([symbol])
        return new

    async def _stop_streaming(self, symbol: str) -> bool:
        if symbol not in self.ctx.symbols:
            return False
        self.ctx.symbols.discard(symbol)
        conn_id = self.assigned.pop(symbol, None)
        conn = self.conns.get(conn_id) if conn_id is not None else None
        if conn is None:
            return True
        conn.symbols.discard(symbol)
        if conn.symbols:
            await self._tell(conn, ("unsubscribe", [symbol]))
        else:
            del self.conns[conn.conn_id]
            self.rt.demonitor(self, conn.ref)
            await self._terminate(conn.pid)
        return True

    async def _place(self, symbols: Iterable[str]) -> None:
        """Put symbols on connections with room (in id order), then on new connections."""
        limit = self.ctx.max_streams_per_connection
        todo = list(symbols)
        for conn in sorted(self.conns.values(), key=lambda c: c.conn_id):
            room = limit - len(conn.symbols)
            if room <= 0 or not todo:
                continue
            batch, todo = todo[:room], todo[room:]
            conn.symbols.update(batch)
            for symbol in batch:
                self.assigned[symbol] = conn.conn_id
            await self._tell(conn, ("subscribe", batch))
        while todo:
            batch, todo = todo[:limit], todo[limit:]
            await self._start_connection(next(self._next_id), set(batch))

    async def _tell(self, conn: _Conn, request: tuple[str, list[str]]) -> None:
        """Change a connection's symbols. A call, not a cast: when `start_streaming` returns,
        the connection has the symbol (its SUBSCRIBE follows at once, paced). A connection that
        just died is fine: its restart carries the symbols recorded here."""
        try:
            await self.rt.call(conn.pid, request, 10.0)
        except ProcessError as exc:
            log.info("stream connection %s did not take %r: %s", conn.conn_id, request, exc)

    async def _terminate(self, pid: Process) -> None:
        if not pid.alive:
            return
        with contextlib.suppress(SupervisorError):  # it exited meanwhile
            await terminate_child(self.rt, CONNECTIONS, pid)

    async def _start_connection(self, conn_id: int, symbols: set[str]) -> None:
        ctx = self.ctx
        spec = ChildSpec(
            ("connection", conn_id),
            StreamConnection,
            (ctx.pubsub, sorted(symbols)),
            {"url": ctx.stream_url, "options": ctx.options, "conn_id": conn_id},
            name=connection_name(conn_id),
            restart="temporary",
            shutdown=ctx.options.close_timeout * 2 + 2.0,
        )
        pid = await start_child(self.rt, CONNECTIONS, spec)
        self._record(conn_id, pid, set(symbols))

    def _record(self, conn_id: int, pid: Process, symbols: set[str]) -> None:
        self.conns[conn_id] = _Conn(conn_id, pid, self.rt.monitor(self, pid), symbols)
        for symbol in symbols:
            self.assigned[symbol] = conn_id

    async def _adopt(self) -> None:
        """Take over the connections a previous manager left running."""
        highest = 0
        for _id, pid, _kind in await which_children(self.rt, CONNECTIONS):
            if not isinstance(pid, StreamConnection) or not pid.alive:
                continue
            conn_id = pid.conn_id if isinstance(pid.conn_id, int) else 0
            highest = max(highest, conn_id)
            keep = {s for s in pid.symbols if s in self.ctx.symbols and s not in self.assigned}
            extra = sorted(pid.symbols - keep)
            if not keep or conn_id in self.conns:
                await self._terminate(pid)
                continue
            self._record(conn_id, pid, keep)
            if extra:
                await self._tell(self.conns[conn_id], ("unsubscribe", extra))
            log.info("adopted stream connection %s (%d symbols)", conn_id, len(keep))
        self._next_id = itertools.count(highest + 1)

    def _count_crash(self) -> None:
        now = self.rt.clock.monotonic()
        times = self._crash_times
        times.append(now)
        while times and times[0] < now - self.ctx.max_seconds:
            times.popleft()
        if len(times) > self.ctx.max_restarts:
            raise RuntimeError(
                f"stream connections crashed more than {self.ctx.max_restarts} times "
                f"in {self.ctx.max_seconds:g}s"
            )
