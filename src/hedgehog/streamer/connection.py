"""One WebSocket connection to Binance's combined trade streams, as a process.

`StreamConnection` carries up to 1,024 `<symbol>@trade` streams over
`<stream_url>/stream?streams=...` and publishes every trade, parsed into a `TradeEvent`, on
`TRADE_EVENTS:<SYMBOL>`. This module is the process: its messages, the wanted set of symbols
and `info()`. Its I/O runs in asyncio tasks it owns, not in its callbacks, which only change
state and wake the runner, so they never wait on the network:

- the *runner* task (`runner.Runner`): connect, reconnect with backoff, keep the server's set
  of streams equal to the wanted set (`requests.Requests`), rotate make-before-break;
- one *reader* task per open WebSocket (`reader.Reader`): each frame parsed
  (`frames.read_frame`), sequenced by trade id (`sequencer.Sequencer`: duplicates dropped,
  gaps counted, the two sockets of a rotation merged) and published right there.

Timers that matter to behaviour use the runtime clock (rotation, what counts as a stable
connection, log rate limits); waits that pace real I/O (backoff sleeps, request pacing, the
rotation overlap, close timeouts) use asyncio's own time, with lengths from `ConnectionOptions`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from hedgehog.core.symbols import normalize_symbol
from hedgehog.runtime import NOREPLY, Process, Runtime
from hedgehog.runtime.pubsub import Broadcaster
from hedgehog.streamer.frames import stream_name
from hedgehog.streamer.options import MAX_STREAMS_PER_CONNECTION, ConnectionOptions, LogLimiter
from hedgehog.streamer.requests import Request, Requests, StreamRequestError
from hedgehog.streamer.runner import Runner
from hedgehog.streamer.sequencer import Sequencer

log = logging.getLogger("hedgehog.streamer")

DEFAULT_STREAM_URL = "wss://stream.binance.com:9443"


@dataclass(frozen=True, slots=True)
class _Crashed:
    """A task of the connection failed unexpectedly (a bug): the process crashes with it."""

    exception: BaseException


class StreamConnection(Process):
    """`await rt.start(StreamConnection, pubsub, ["BTCUSDT"], url=..., options=...)`.

    Casts: `("subscribe", symbols)`, `("unsubscribe", symbols)`, `"rotate"`.
    Calls: the same two (they reply with the symbols added/removed), `"info"`,
    `"list_subscriptions"` (the server's own list, as Binance answers LIST_SUBSCRIPTIONS).
    """

    def init(
        self,
        pubsub: Broadcaster,
        symbols: Iterable[str] = (),
        url: str = DEFAULT_STREAM_URL,
        options: ConnectionOptions | None = None,
        conn_id: Hashable | None = None,
    ) -> None:
        self.pubsub = pubsub
        self.base_url = url.rstrip("/")
        self.options = opts = options or ConnectionOptions()
        self.conn_id = conn_id
        self.sequencer = Sequencer()
        self.symbols: set[str] = set()
        self._add(symbols)
        label = self._label
        logs = LogLimiter(log, opts.log_interval, self.rt.clock.monotonic)
        self._requests = Requests(self.reply, logs, label)
        self.runner = Runner(self, self.sequencer, self._requests, pubsub, logs, label)
        self.reader = self.runner.reader
        self._runner_task = self.rt.loop.create_task(
            self.runner.run(), name=f"hedgehog:stream:{label}"
        )
        self._runner_task.add_done_callback(self._runner_done)
        # killed processes skip terminate(): stop the I/O in any case
        self.rt.wait_exit(self).add_done_callback(self._on_exit)

    @property
    def delays(self) -> deque[float]:
        """The last backoff delays (a deque of at most 32), for stats."""
        return self.runner.delays

    @property
    def messages(self) -> int:
        """Frames received."""
        return self.reader.messages

    @property
    def trades(self) -> int:
        """Trades published."""
        return self.sequencer.trades

    # -- callbacks --------------------------------------------------------------------------
    def handle_cast(self, message: Any) -> None:
        match message:
            case ("subscribe", symbols):
                self._subscribe(symbols)
            case ("unsubscribe", symbols):
                self._unsubscribe(symbols)
            case "rotate":
                self.runner.request_rotation("asked to")
            case _:
                raise ValueError(f"{self!r} got an unexpected cast: {message!r}")

    def handle_call(self, request: Any, from_: asyncio.Future[Any]) -> Any:
        match request:
            case ("subscribe", symbols):
                return self._subscribe(symbols)
            case ("unsubscribe", symbols):
                return self._unsubscribe(symbols)
            case "info":
                return self.info()
            case "list_subscriptions":
                self._requests.outbox.append(Request("LIST_SUBSCRIPTIONS", reply_to=from_))
                self.runner.wake.set()
                return NOREPLY
        raise ValueError(f"{self!r} got an unexpected call: {request!r}")

    def handle_info(self, message: Any) -> None:
        match message:
            case _Crashed(exception):
                raise exception
            case ("rotate", gen) if gen == self.runner.rotation_gen:
                self.runner.request_rotation("time to")

    async def terminate(self, reason: Any) -> None:
        self.runner.cancel_rotation_timer()
        task = self._runner_task
        if not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=self.options.close_timeout * 2 + 1.0)

    def info(self) -> dict[str, Any]:
        runner, seq, reader, requests = self.runner, self.sequencer, self.reader, self._requests
        link = runner.primary
        return {
            "id": self.conn_id,
            "connected": link is not None and not link.reader.done(),
            "url": f"{self.base_url}/stream",
            "streams": sorted(stream_name(s) for s in self.symbols),
            "symbols": sorted(self.symbols),
            "subscribed": len(link.subscribed) if link is not None else 0,
            "messages": reader.messages,
            "trades": seq.trades,
            "last_message_at": reader.last_message_at,
            "connected_since": runner.connected_since,
            "reconnects": runner.reconnects,
            "rotations": runner.rotations,
            "connect_failures": runner.connect_failures,
            "gaps": seq.gaps,
            "missed_trades": seq.missed,
            "duplicates": seq.duplicates,
            "malformed": reader.malformed,
            "ignored": seq.ignored,
            "requests_sent": requests.sent,
            "request_errors": requests.errors,
            "pending_requests": len(requests.pending),
            "backoff": runner.delays[-1] if runner.delays else None,
            "last_error": runner.last_error,
        }

    # -- the wanted set ---------------------------------------------------------------------
    @property
    def _label(self) -> str:
        return f"stream {self.conn_id}" if self.conn_id is not None else f"stream #{self.pid}"

    def _add(self, symbols: Iterable[str]) -> list[str]:
        if isinstance(symbols, str):
            symbols = [symbols]
        added = []
        for raw in symbols:
            symbol = normalize_symbol(raw)
            if symbol in self.symbols:
                continue
            if len(self.symbols) >= MAX_STREAMS_PER_CONNECTION:
                raise ValueError(
                    f"{self._label}: at most {MAX_STREAMS_PER_CONNECTION} streams per connection"
                )
            self.symbols.add(symbol)
            self.sequencer.add(symbol)
            added.append(symbol)
        return added

    def _subscribe(self, symbols: Iterable[str]) -> list[str]:
        added = self._add(symbols)
        if added:
            self.runner.wake.set()
        return added

    def _unsubscribe(self, symbols: Iterable[str]) -> list[str]:
        if isinstance(symbols, str):
            symbols = [symbols]
        removed = []
        for raw in symbols:
            symbol = normalize_symbol(raw)
            if symbol in self.symbols:
                self.symbols.discard(symbol)
                self.sequencer.remove(symbol)
                removed.append(symbol)
        if removed:
            self.runner.wake.set()
        return removed

    def wanted_streams(self) -> set[str]:
        """The names of the streams wanted."""
        return {stream_name(s) for s in self.symbols}

    # -- the tasks ---------------------------------------------------------------------------
    def crash(self, exc: BaseException) -> None:
        """A task of the connection failed (a bug): the process crashes with `exc`."""
        self.rt.send(self, _Crashed(exc))

    def _runner_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and self.alive:
            self.crash(exc)

    def _on_exit(self, _: asyncio.Future[Any]) -> None:
        self.runner.cancel_rotation_timer()
        if not self._runner_task.done():
            self._runner_task.cancel()


async def list_subscriptions(rt: Runtime, conn: Any, timeout: float = 10.0) -> list[str]:
    """The streams Binance says a connection is subscribed to (LIST_SUBSCRIPTIONS)."""
    result = await rt.call(conn, "list_subscriptions", timeout)
    if isinstance(result, Exception):
        raise result
    return list(result)


__all__ = [
    "DEFAULT_STREAM_URL",
    "StreamConnection",
    "StreamRequestError",
    "list_subscriptions",
    "normalize_symbol",
    "stream_name",
]
