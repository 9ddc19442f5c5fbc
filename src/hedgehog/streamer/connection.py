"""One WebSocket connection to Binance's combined trade streams, as a process.

`StreamConnection` carries up to 1,024 `<symbol>@trade` streams over
`<stream_url>/stream?streams=...` and publishes every trade, parsed into a `TradeEvent`, on
`TRADE_EVENTS:<SYMBOL>`. Its I/O runs in asyncio tasks the process owns, not in its callbacks:

- the *runner* task owns the aiohttp session and the connection's life: connect (retrying
  with jittered exponential backoff), keep the server's set of streams equal to the wanted set
  with SUBSCRIBE/UNSUBSCRIBE requests (batched, rate-limited), reconnect after a drop, rotate;
- one *reader* task per open WebSocket parses each frame and publishes it right there,
  synchronously (`pubsub.broadcast` only appends to mailboxes): no message hop per frame on a
  path that carries thousands of trades a second.

Process callbacks (`subscribe`, `unsubscribe`, `info`, `list_subscriptions`, the rotation
timer) only change state and wake the runner, so they never wait on the network.

Robustness, each with a counter in `info()`:
- frames that are not what we expect (bad JSON, missing fields, unknown shapes, binary) are
  counted as `malformed`, logged (rate-limited) and skipped;
- per symbol, a trade id that is not last_id + 1 is a gap (`gaps`, `missed_trades`, a
  warning); an id <= last_id is a duplicate (reconnect or rotation overlap) and is dropped;
- pings are answered by aiohttp (`autoping`); when nothing arrives for `heartbeat` seconds
  aiohttp pings the server itself and drops the connection if no pong comes back;
- the backoff resets once a connection has stayed up `stable_after` seconds, so a flapping
  server is not hammered but a drop after a long healthy stretch reconnects at once;
- rotation before Binance's 24 h cut-off is make-before-break: the new connection is opened
  and subscribed while the old one still delivers, both run for `rotation_overlap`, then the
  old one is closed. Trade ids merge the two: the first copy of each trade is published, and a
  trade the new connection delivers ahead of the old one is held until the old one catches up,
  so the switch loses, duplicates and reorders nothing. A `serverShutdown` event from Binance
  triggers the same rotation at once.

Timers that matter to behaviour use the runtime clock (rotation, what counts as a stable
connection, log rate limits); waits that pace real I/O (backoff sleeps, request pacing, the
rotation overlap, close timeouts) use asyncio's own time, with lengths from `ConnectionOptions`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import aiohttp

from hedgehog.core.errors import ExchangeError
from hedgehog.core.symbols import normalize_symbol
from hedgehog.core.types import TradeEvent, trade_topic
from hedgehog.exchange.binance.wire import WireError, parse_trade
from hedgehog.runtime import NOREPLY, Process, Runtime
from hedgehog.runtime.pubsub import Broadcaster
from hedgehog.streamer.options import (
    MAX_STREAMS_PER_CONNECTION,
    Backoff,
    ConnectionOptions,
    LogLimiter,
)

log = logging.getLogger("hedgehog.streamer")

DEFAULT_STREAM_URL = "wss://stream.binance.com:9443"
MAX_HELD = 10_000  # trades of one symbol held back during a rotation before we give up waiting

_CONNECT_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)
_TEXT = aiohttp.WSMsgType.TEXT
_BINARY = aiohttp.WSMsgType.BINARY
_ERROR = aiohttp.WSMsgType.ERROR
_CLOSED = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED)


def stream_name(symbol: str) -> str:
    """Binance's name of a symbol's trade stream (stream names are lower-case)."""
    return f"{symbol.lower()}@trade"


class StreamRequestError(ExchangeError):
    """Binance answered a SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS request with an error."""


@dataclass(frozen=True, slots=True)
class _Crashed:
    """A task of the connection failed unexpectedly (a bug): the process crashes with it."""

    exception: BaseException


class _RequestPacer:
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


class _Link:
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
        pacer: _RequestPacer,
    ) -> None:
        self.ws = ws
        self.subscribed = subscribed  # stream names requested on this socket
        self.opened_at = opened_at  # runtime clock, monotonic
        self.number = number
        self.pacer = pacer
        self.primary = False
        self.closing = False
        self.error: str | None = None


@dataclass(slots=True)
class _Request:
    method: str
    params: list[str] | None = None
    reply_to: asyncio.Future[Any] | None = None
    link: _Link | None = None


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
        self.symbols: set[str] = set()
        self._add(symbols)
        clock = self.rt.clock
        self._now = clock.time
        self._mono = clock.monotonic
        self._broadcast = pubsub.broadcast
        self._logs = LogLimiter(log, opts.log_interval, clock.monotonic)
        self.backoff = Backoff.from_options(opts)
        self.delays: deque[float] = deque(maxlen=32)  # the last backoff delays, for stats
        # merging trades by id
        self._last_ids: dict[str, int] = {}
        self._held: dict[str, list[TradeEvent]] = {}
        self._topics: dict[str, str] = {}
        # counters (see info())
        self.messages = self.trades = self.duplicates = self.gaps = self.missed = 0
        self.malformed = self.ignored = self.reconnects = self.rotations = 0
        self.connect_failures = self.requests_sent = self.request_errors = 0
        self.last_message_at: float | None = None
        self.connected_since: float | None = None
        self.last_error: str | None = None
        # the connection's life
        self._primary: _Link | None = None
        self._sockets: set[_Link] = set()
        self._sockets_opened = 0
        self._pending: dict[int, _Request] = {}
        self._outbox: deque[_Request] = deque()
        self._ids = itertools.count(1)
        self._wake = asyncio.Event()
        self._rotate_due = False
        self._rotation_gen = 0
        self._rotation_timer: Any = None
        self._session: aiohttp.ClientSession | None = None
        self._runner = self.rt.loop.create_task(self._run(), name=f"hedgehog:stream:{self._label}")
        self._runner.add_done_callback(self._runner_done)
        # killed processes skip terminate(): stop the I/O in any case
        self.rt.wait_exit(self).add_done_callback(self._on_exit)

    # -- callbacks --------------------------------------------------------------------------
    def handle_cast(self, message: Any) -> None:
        match message:
            case ("subscribe", symbols):
                self._subscribe(symbols)
            case ("unsubscribe", symbols):
                self._unsubscribe(symbols)
            case "rotate":
                self._request_rotation("asked to")
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
                self._outbox.append(_Request("LIST_SUBSCRIPTIONS", reply_to=from_))
                self._wake.set()
                return NOREPLY
        raise ValueError(f"{self!r} got an unexpected call: {request!r}")

    def handle_info(self, message: Any) -> None:
        match message:
            case _Crashed(exception):
                raise exception
            case ("rotate", gen) if gen == self._rotation_gen:
                self._request_rotation("time to")

    async def terminate(self, reason: Any) -> None:
        self._cancel_rotation_timer()
        runner = self._runner
        if not runner.done():
            runner.cancel()
            await asyncio.wait({runner}, timeout=self.options.close_timeout * 2 + 1.0)

    def info(self) -> dict[str, Any]:
        link = self._primary
        return {
            "id": self.conn_id,
            "connected": link is not None and not link.reader.done(),
            "url": f"{self.base_url}/stream",
            "streams": sorted(stream_name(s) for s in self.symbols),
            "symbols": sorted(self.symbols),
            "subscribed": len(link.subscribed) if link is not None else 0,
            "messages": self.messages,
            "trades": self.trades,
            "last_message_at": self.last_message_at,
            "connected_since": self.connected_since,
            "reconnects": self.reconnects,
            "rotations": self.rotations,
            "connect_failures": self.connect_failures,
            "gaps": self.gaps,
            "missed_trades": self.missed,
            "duplicates": self.duplicates,
            "malformed": self.malformed,
            "ignored": self.ignored,
            "requests_sent": self.requests_sent,
            "request_errors": self.request_errors,
            "pending_requests": len(self._pending),
            "backoff": self.delays[-1] if self.delays else None,
            "last_error": self.last_error,
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
            added.append(symbol)
        return added

    def _subscribe(self, symbols: Iterable[str]) -> list[str]:
        added = self._add(symbols)
        if added:
            self._wake.set()
        return added

    def _unsubscribe(self, symbols: Iterable[str]) -> list[str]:
        if isinstance(symbols, str):
            symbols = [symbols]
        removed = []
        for raw in symbols:
            symbol = normalize_symbol(raw)
            if symbol in self.symbols:
                self.symbols.discard(symbol)
                self._last_ids.pop(symbol, None)
                self._held.pop(symbol, None)
                removed.append(symbol)
        if removed:
            self._wake.set()
        return removed

    def _wanted(self) -> set[str]:
        return {stream_name(s) for s in self.symbols}

    # -- frames (the reader's hot path) -----------------------------------------------------
    def _on_text(self, text: str, link: _Link) -> None:
        self.messages += 1
        self.last_message_at = self._now()
        try:
            frame = json.loads(text)
        except (ValueError, RecursionError):
            self._malformed("invalid JSON", text)
            return
        if type(frame) is not dict:
            self._malformed("not a JSON object", text)
            return
        data = frame.get("data", frame)  # combined streams wrap the event; raw ones do not
        if type(data) is dict and data.get("e") == "trade":
            try:
                trade = parse_trade(data)
            except WireError as exc:
                self._malformed(str(exc), text)
                return
            if trade.price <= 0 or trade.quantity <= 0:
                self._malformed("price and quantity must be positive", text)
                return
            self._accept(trade, link)
        else:
            self._on_other(frame, data, text, link)

    def _accept(self, trade: TradeEvent, link: _Link) -> None:
        symbol = trade.symbol
        trade_id = trade.trade_id
        last = self._last_ids.get(symbol)
        if last is None:
            if symbol not in self.symbols:
                self.ignored += 1  # in flight when we unsubscribed, or never asked for
                return
        elif trade_id != last + 1:
            if trade_id <= last:
                self.duplicates += 1
                return
            if not link.primary and self._primary is not None:
                # a rotation's new socket runs ahead of the old one: wait for the old one
                held = self._held.setdefault(symbol, [])
                held.append(trade)
                if len(held) > MAX_HELD:
                    self._release(symbol, force=True)
                return
            self._gap(symbol, last, trade_id)
        self._last_ids[symbol] = trade_id
        self.trades += 1
        topic = self._topics.get(symbol)
        if topic is None:
            topic = self._topics[symbol] = trade_topic(symbol)
        self._broadcast(topic, trade)
        if self._held and symbol in self._held:
            self._release(symbol, force=False)

    def _release(self, symbol: str, force: bool) -> None:
        """Publish held trades that now follow the last published one (all of them if
        `force`, noting any gap); drop those already published."""
        held = self._held.pop(symbol, None)
        if not held:
            return
        held.sort(key=attrgetter("trade_id"))
        last = self._last_ids.get(symbol)
        for i, trade in enumerate(held):
            trade_id = trade.trade_id
            if last is not None:
                if trade_id <= last:
                    self.duplicates += 1
                    continue
                if trade_id != last + 1:
                    if not force:
                        self._held[symbol] = held[i:]
                        return
                    self._gap(symbol, last, trade_id)
            last = self._last_ids[symbol] = trade_id
            self.trades += 1
            self._broadcast(trade_topic(symbol), trade)

    def _release_all(self) -> None:
        for symbol in list(self._held):
            self._release(symbol, force=True)

    def _gap(self, symbol: str, last: int, trade_id: int) -> None:
        missing = trade_id - last - 1
        self.gaps += 1
        self.missed += missing
        self._logs.warning(
            f"gap:{symbol}",
            "%s: gap in %s trades: %d missing between ids %d and %d",
            self._label,
            symbol,
            missing,
            last,
            trade_id,
        )

    def _malformed(self, why: str, sample: str) -> None:
        self.malformed += 1
        self._logs.warning(
            "malformed", "%s: skipped a malformed frame (%s): %.200s", self._label, why, sample
        )

    def _on_other(self, frame: dict[str, Any], data: Any, text: str, link: _Link) -> None:
        """Everything but trades: answers to our requests, server events, the unexpected."""
        if "id" in frame and ("result" in frame or "error" in frame or "code" in frame):
            self._on_answer(frame)
            return
        if "code" in frame and "msg" in frame:  # an error without id (a request it can't read)
            self.request_errors += 1
            self._logs.warning("answer", "%s: Binance error: %.200s", self._label, text)
            return
        event = frame.get("event", data)
        if type(event) is dict and event.get("e") == "serverShutdown":
            log.warning("%s: the server is shutting down; moving to a new connection", self._label)
            self._request_rotation("server shutdown, so")
            return
        self._malformed("unexpected frame", text)

    def _on_answer(self, frame: dict[str, Any]) -> None:
        rid = frame.get("id")
        request = self._pending.pop(rid, None) if type(rid) is int else None
        error = frame.get("error")
        if error is None and "code" in frame:
            error = {"code": frame.get("code"), "msg": frame.get("msg")}
        if request is None:
            if error is not None:
                self.request_errors += 1
            self._logs.warning(
                "answer", "%s: an answer to no request of ours: %.200s", self._label, frame
            )
            return
        if error is not None:
            self.request_errors += 1
            self._logs.warning(
                f"error:{request.method}",
                "%s: %s %s failed: %s",
                self._label,
                request.method,
                request.params if request.params is None else request.params[:5],
                error,
            )
            if request.reply_to is not None:
                self.reply(request.reply_to, StreamRequestError(f"{request.method}: {error}"))
            return
        if request.reply_to is not None:
            self.reply(request.reply_to, frame.get("result"))

    # -- tasks ------------------------------------------------------------------------------
    async def _read(self, link: _Link) -> None:
        """The reader of one socket: every frame is handled here, inline."""
        ws = link.ws
        on_text = self._on_text
        try:
            while True:
                msg = await ws.receive()
                if not self.alive:
                    return
                kind = msg.type
                if kind is _TEXT:
                    on_text(msg.data, link)
                elif kind is _BINARY:
                    self.messages += 1
                    self._malformed("binary frame", repr(msg.data[:64]))
                elif kind is _ERROR:
                    link.error = f"error: {msg.data!r}"
                    return
                elif kind in _CLOSED:
                    if link.error is None:
                        code = ws.close_code
                        link.error = "closed" if link.closing else f"closed by server ({code})"
                    return
                # PING and PONG never get here: aiohttp answers pings itself (autoping)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            link.error = f"bug: {exc!r}"
            if self.alive:
                self.rt.send(self, _Crashed(exc))

    async def _run(self) -> None:
        """The connection's life: connect, serve, and after a drop reconnect with backoff."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.options.connect_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self._session = session
            try:
                while True:
                    link = await self._connect()
                    self._promote(link, rotated=False)
                    dead = await self._serve(link)
                    await self._discard(dead)
                    self._primary = None
                    self.connected_since = None
                    self.last_error = dead.error
                    if self._mono() - dead.opened_at >= self.options.stable_after:
                        self.backoff.reset()
                    delay = self._next_delay()
                    self._logs.warning(
                        "lost",
                        "%s: connection lost (%s); reconnecting in %.2fs",
                        self._label,
                        dead.error,
                        delay,
                    )
                    await asyncio.sleep(delay)
            finally:
                self._primary = None
                for link in list(self._sockets):
                    await self._discard(link)

    async def _connect(self) -> _Link:
        while True:
            try:
                return await self._open()
            except _CONNECT_ERRORS as exc:
                self.connect_failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                limited = isinstance(exc, aiohttp.WSServerHandshakeError) and exc.status in (
                    418,
                    429,
                )
                # rate-limited (429) or banned (418): wait as long as we ever do
                delay = self._next_delay(self.options.backoff_max if limited else 0.0)
                self._logs.warning(
                    "connect",
                    "%s: cannot connect to %s (%s); retrying in %.2fs",
                    self._label,
                    self.base_url,
                    self.last_error,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _open(self) -> _Link:
        """Open a socket subscribed (in its URL) to as many wanted streams as fit."""
        opts = self.options
        assert self._session is not None
        in_url: list[str] = []
        length = len(self.base_url) + len("/stream?streams=")
        for stream in sorted(self._wanted()):
            length += len(stream) + 1
            if length > opts.max_url_length:
                break
            in_url.append(stream)
        url = f"{self.base_url}/stream"
        if in_url:
            url += "?streams=" + "/".join(in_url)
        async with asyncio.timeout(opts.connect_timeout):
            ws = await self._session.ws_connect(url, autoping=True, heartbeat=opts.heartbeat)
        self._sockets_opened += 1
        pacer = _RequestPacer(opts.max_requests_per_window, opts.request_window)
        link = _Link(ws, set(in_url), self._mono(), self._sockets_opened, pacer)
        link.reader = self.rt.loop.create_task(
            self._read(link), name=f"hedgehog:stream-reader:{self._label}:{link.number}"
        )
        self._sockets.add(link)
        return link

    def _promote(self, link: _Link, rotated: bool) -> None:
        """Make `link` the connection's socket: its trades are now the reference."""
        old = self._primary
        if old is not None:
            old.primary = False
        link.primary = True
        self._primary = link
        self._rotate_due = False  # a fresh socket needs no rotation (a timer fired meanwhile)
        if rotated:
            self.rotations += 1
        elif link.number > 1:
            self.reconnects += 1
        self.connected_since = self._now()
        self._release_all()
        self._schedule_rotation(self.options.rotate_after)
        log.info("%s: connected to %s (%d streams)", self._label, self.base_url, len(self.symbols))

    async def _serve(self, link: _Link) -> _Link:
        """Keep the primary socket in sync with what is wanted until it dies; returns it."""
        while True:
            self._wake.clear()
            if link.reader.done():
                return link
            if self._rotate_due:
                self._rotate_due = False
                link = await self._rotate(link)
                continue
            if link.subscribed != self._wanted():
                await self._sync_subscriptions(link)
                continue
            if self._outbox:
                await self._send_outbox(link)
                continue
            waiter = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait((link.reader, waiter), return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()

    async def _sync_subscriptions(self, link: _Link) -> None:
        """UNSUBSCRIBE what is no longer wanted, then SUBSCRIBE what is missing, in batches."""
        want = self._wanted()
        size = self.options.max_params_per_request
        for method, streams in (
            ("UNSUBSCRIBE", sorted(link.subscribed - want)),
            ("SUBSCRIBE", sorted(want - link.subscribed)),
        ):
            for i in range(0, len(streams), size):
                batch = streams[i : i + size]
                if not await self._send(link, _Request(method, batch)):
                    return
                if method == "SUBSCRIBE":
                    link.subscribed.update(batch)
                else:
                    link.subscribed.difference_update(batch)

    async def _send_outbox(self, link: _Link) -> None:
        while self._outbox:
            request = self._outbox.popleft()
            if not await self._send(link, request):
                self._outbox.appendleft(request)
                return

    async def _send(self, link: _Link, request: _Request) -> bool:
        """Send one request, paced; False (and the socket is dropped) if it cannot be sent."""
        await link.pacer.wait()
        if link.reader.done() or link.ws.closed:
            await self._discard(link)
            return False
        rid = next(self._ids)
        payload: dict[str, Any] = {"method": request.method}
        if request.params is not None:
            payload["params"] = request.params
        payload["id"] = rid
        request.link = link
        self._pending[rid] = request
        try:
            await link.ws.send_str(json.dumps(payload))
        except (aiohttp.ClientError, OSError, RuntimeError) as exc:
            self._pending.pop(rid, None)
            link.error = f"send failed: {exc!r}"
            await self._discard(link)
            return False
        self.requests_sent += 1
        return True

    async def _rotate(self, old: _Link) -> _Link:
        """Make-before-break: open and subscribe a new socket, overlap, close the old one."""
        log.info("%s: rotating to a new connection", self._label)
        try:
            new = await self._open()
        except _CONNECT_ERRORS as exc:
            delay = self._next_delay()
            self._logs.warning(
                "rotate", "%s: rotation failed (%r); retrying in %.2fs", self._label, exc, delay
            )
            self._schedule_rotation(delay)
            return old
        while not new.reader.done() and new.subscribed != self._wanted():
            await self._sync_subscriptions(new)
        if not old.reader.done() and not new.reader.done():
            await asyncio.wait(
                {old.reader, new.reader},
                timeout=self.options.rotation_overlap,
                return_when=asyncio.FIRST_COMPLETED,
            )
        if new.reader.done():  # the new socket died in the overlap: keep the old one
            self._held.clear()
            await self._discard(new)
            delay = self._next_delay()
            self._logs.warning(
                "rotate",
                "%s: new connection lost in rotation; retrying in %.2fs",
                self._label,
                delay,
            )
            self._schedule_rotation(delay)
            return old
        self._promote(new, rotated=True)
        await self._discard(old)
        self.backoff.reset()
        return new

    async def _discard(self, link: _Link) -> None:
        """Close a socket and end its reader; its unanswered queries go to the next socket."""
        link.closing = True
        link.primary = False
        self._sockets.discard(link)
        for rid, request in list(self._pending.items()):
            if request.link is link:
                del self._pending[rid]
                if request.reply_to is not None and not request.reply_to.done():
                    request.link = None
                    self._outbox.append(request)
        if not link.ws.closed:
            try:
                async with asyncio.timeout(self.options.close_timeout):
                    await link.ws.close()
            except (TimeoutError, aiohttp.ClientError, OSError):
                pass
        if not link.reader.done():
            link.reader.cancel()
        await asyncio.gather(link.reader, return_exceptions=True)

    # -- timers and helpers -----------------------------------------------------------------
    def _request_rotation(self, why: str) -> None:
        log.info("%s: %s rotate", self._label, why)
        self._rotate_due = True
        self._wake.set()

    def _schedule_rotation(self, delay: float) -> None:
        self._cancel_rotation_timer()
        self._rotation_gen += 1
        self._rotation_timer = self.rt.send_after(self, ("rotate", self._rotation_gen), delay)

    def _cancel_rotation_timer(self) -> None:
        if self._rotation_timer is not None:
            self._rotation_timer.cancel()
            self._rotation_timer = None

    def _next_delay(self, at_least: float = 0.0) -> float:
        delay = max(at_least, self.backoff.next())
        self.delays.append(delay)
        return delay

    def _runner_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and self.alive:
            self.rt.send(self, _Crashed(exc))

    def _on_exit(self, _: asyncio.Future[Any]) -> None:
        self._cancel_rotation_timer()
        if not self._runner.done():
            self._runner.cancel()


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
