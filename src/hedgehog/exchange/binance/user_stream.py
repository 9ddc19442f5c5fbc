"""Fills from Binance's user data stream, over the WebSocket API.

`UserDataStream` connects to the WebSocket API, subscribes with
`userDataStream.subscribe.signature` (params `apiKey`, `timestamp`, optional `recvWindow`, and a
`signature` over the params sorted by name), and turns every `executionReport` event into an
`OrderUpdate` handed to `on_update`. It answers pings (aiohttp's autoping), sends its own
heartbeat pings, and reconnects with jittered exponential backoff whenever the connection ends,
after which it awaits `on_reconnect()`: events may have been missed, and the owner reconciles
open orders over REST then. `eventStreamTerminated` resubscribes on the same connection (and
also calls `on_reconnect`); `serverShutdown` reconnects at once.

Malformed frames, unknown events and failing callbacks are logged and skipped; they never end
the stream. Only a refused subscription (a 4xx answer other than -1021, 429 or 418: a bad API
key or signature, or a malformed request) ends `run()` with an exception, since retrying it
cannot help.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from enum import Enum
from typing import Any, TypeVar

import aiohttp

from hedgehog.core.errors import AuthenticationError, ExchangeError, RateLimited
from hedgehog.core.types import OrderUpdate
from hedgehog.exchange.binance import wire
from hedgehog.exchange.binance.keys import Signer, make_signer

log = logging.getLogger(__name__)

DEFAULT_WS_API_URL = "wss://ws-api.binance.com:443/ws-api/v3"
SUBSCRIBE_METHOD = "userDataStream.subscribe.signature"
IGNORED_EVENTS = frozenset(
    {"outboundAccountPosition", "balanceUpdate", "externalLockUpdate", "listStatus"}
)

T = TypeVar("T")


class _Stopped(Exception):
    """`close()` was called while the stream was waiting."""


class _Lost(Exception):
    """The connection ended or must be replaced."""


class _Action(Enum):
    NONE = 0
    RESUBSCRIBE = 1  # the subscription ended: subscribe again on this connection
    RECONCILE = 2  # resubscribed: events may have been missed
    RECONNECT = 3


class UserDataStream:
    """One account's user data stream; `run()` until `close()`."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        ws_api_url: str = DEFAULT_WS_API_URL,
        *,
        on_update: Callable[[OrderUpdate], None],
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
        time_offset: Callable[[], int] | None = None,
        session: aiohttp.ClientSession | None = None,
        recv_window: int | None = None,
        heartbeat: float | None = 30.0,
        subscribe_timeout: float = 10.0,
        backoff_min: float = 0.5,
        backoff_max: float = 30.0,
        stable_after: float = 60.0,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not api_key:
            raise AuthenticationError("the user data stream needs an API key")
        if not 0 < backoff_min <= backoff_max:
            raise ValueError("need 0 < backoff_min <= backoff_max")
        self._api_key = api_key
        self._signer: Signer = make_signer(api_secret)
        self.ws_api_url = ws_api_url
        self._on_update = on_update
        self._on_reconnect = on_reconnect
        self._time_offset = time_offset
        self._session = session
        self.recv_window = recv_window
        self.heartbeat = heartbeat
        self.subscribe_timeout = subscribe_timeout
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self._clock = clock
        self._rng = rng
        self._ids = itertools.count(1)
        self._stop = asyncio.Event()
        self._connected_event = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._running = False
        self._pending: str | None = None  # id of a resubscription awaiting its answer
        self.subscription_id: int | None = None
        self.last_message_at: float | None = None  # clock() of the last frame received
        self.reconnects = 0  # successful subscriptions after the first one

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"UserDataStream({self.ws_api_url!r}, api_key=<hidden>, {state})"

    __str__ = __repr__

    @property
    def connected(self) -> bool:
        """Subscribed and receiving events."""
        return self._connected_event.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until the stream is subscribed (raises `TimeoutError` after `timeout`)."""
        await asyncio.wait_for(self._connected_event.wait(), timeout)

    async def close(self) -> None:
        """Stop: `run()` returns once the connection is closed."""
        self._stop.set()
        ws = self._ws
        if ws is not None:
            await ws.close()

    # -- the loop ----------------------------------------------------------------------------
    async def run(self) -> None:
        """Connect, subscribe, deliver, reconnect... until `close()`."""
        if self._running:
            raise RuntimeError("this UserDataStream is already running")
        self._running = True
        owns = self._session is None
        session = self._session or aiohttp.ClientSession()
        attempt = 0
        first = True
        try:
            while not self._stop.is_set():
                subscribed_at: float | None = None
                minimum_wait = 0.0
                try:
                    connect = session.ws_connect(
                        self.ws_api_url, heartbeat=self.heartbeat, autoping=True
                    )
                    ws = await self._until_stopped(
                        asyncio.wait_for(connect, self.subscribe_timeout)
                    )
                    self._ws = ws
                    try:
                        if self._stop.is_set():
                            break
                        await self._subscribe(ws)
                        subscribed_at = self._clock()
                        self._connected_event.set()
                        log.info(
                            "user data stream subscribed (subscription %s)", self.subscription_id
                        )
                        if not first:
                            self.reconnects += 1
                            await self._reconciled()
                        first = False
                        await self._receive(ws)
                    finally:
                        self._connected_event.clear()
                        self._ws = None
                        self._pending = None
                        await ws.close()
                except _Stopped:
                    break
                except RateLimited as exc:
                    minimum_wait = exc.retry_after
                    log.warning("user data stream: %s", exc)
                except _Lost as exc:
                    log.warning("user data stream: %s; reconnecting", exc)
                except ExchangeError as exc:
                    log.error("user data stream stopped: %s", exc)
                    raise
                except aiohttp.WSServerHandshakeError as exc:
                    minimum_wait = _handshake_wait(exc)
                    log.warning("user data stream: handshake refused (HTTP %s)", exc.status)
                except (aiohttp.ClientError, OSError) as exc:  # includes TimeoutError
                    log.warning("user data stream: %s; reconnecting", _describe(exc))
                if self._stop.is_set():
                    break
                if subscribed_at is not None and self._clock() - subscribed_at >= self.stable_after:
                    attempt = 0
                delay = max(minimum_wait, self.backoff_delay(attempt))
                attempt += 1
                log.info("user data stream: reconnecting in %.2fs", delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
        finally:
            self._running = False
            self._connected_event.clear()
            if owns:
                await session.close()

    def backoff_delay(self, attempt: int) -> float:
        """Jittered exponential backoff: within [d/2, d] for d = min(max, min * 2**attempt)."""
        ceiling = min(self.backoff_max, self.backoff_min * 2.0 ** min(attempt, 32))
        return max(self.backoff_min, ceiling * (0.5 + 0.5 * self._rng()))

    async def _until_stopped(self, aw: Coroutine[Any, Any, T] | Awaitable[T]) -> T:
        """Await `aw` unless `close()` comes first (then cancel it and raise `_Stopped`)."""
        task = asyncio.ensure_future(aw)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
        if task.cancelled():
            raise _Stopped
        return task.result()

    async def _reconciled(self) -> None:
        if self._on_reconnect is None:
            return
        try:
            await self._on_reconnect()
        except Exception:
            log.exception("user data stream: on_reconnect failed")

    # -- subscription ------------------------------------------------------------------------
    def _subscribe_request(self) -> tuple[str, dict[str, Any]]:
        request_id = f"hedgehog-uds-{next(self._ids)}"
        offset = self._time_offset() if self._time_offset is not None else 0
        params: dict[str, Any] = {
            "apiKey": self._api_key,
            "timestamp": int(self._clock() * 1000) + offset,
        }
        if self.recv_window is not None:
            params["recvWindow"] = self.recv_window
        params["signature"] = self._signer.ws_signature(params)
        return request_id, {"id": request_id, "method": SUBSCRIBE_METHOD, "params": params}

    async def _subscribe(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        request_id, request = self._subscribe_request()
        await ws.send_json(request)
        try:
            answer = await self._until_stopped(
                asyncio.wait_for(self._answer(ws, request_id), self.subscribe_timeout)
            )
        except TimeoutError:
            raise _Lost(
                f"no answer to the subscription within {self.subscribe_timeout:g}s"
            ) from None
        self._accept(answer)

    async def _answer(self, ws: aiohttp.ClientWebSocketResponse, request_id: str) -> dict[str, Any]:
        """Read frames until the answer to `request_id` (handling any event before it)."""
        while True:
            msg = await ws.receive()
            if msg.type is not aiohttp.WSMsgType.TEXT:
                if msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.PING):
                    continue
                raise _Lost("connection closed before the subscription was answered")
            self.last_message_at = self._clock()
            data = _load(msg.data)
            if isinstance(data, dict) and data.get("id") == request_id:
                return data
            if self._handle(msg.data) is _Action.RECONNECT:
                raise _Lost("server shutting down")

    def _accept(self, answer: Mapping[str, Any]) -> None:
        """Check a subscription answer: remember the subscription id, or raise."""
        status = answer.get("status")
        if status == 200:
            result = answer.get("result")
            sub = result.get("subscriptionId") if isinstance(result, dict) else None
            self.subscription_id = sub if isinstance(sub, int) else None
            return
        error = answer.get("error")
        error = error if isinstance(error, dict) else {}
        status = status if isinstance(status, int) else 0
        code = error.get("code")
        if status in (418, 429):
            data = error.get("data")
            retry = 0.0
            if isinstance(data, dict) and isinstance(data.get("retryAfter"), int):
                retry = max(0.0, data["retryAfter"] / 1000 - self._clock())
            raise RateLimited(retry or self.backoff_max, banned=status == 418)
        if code == wire.TIMESTAMP_OUTSIDE_RECV_WINDOW:
            raise _Lost(
                f"subscription refused: {error.get('msg')} (Binance -1021); is the clock synced?"
            )
        if status >= 500 or status < 400:
            raise _Lost(f"subscription failed: HTTP {status} {error.get('msg', '')}".rstrip())
        try:
            wire.raise_for_error(status, error)
        except AuthenticationError as exc:
            raise AuthenticationError(
                f"Binance refused the user data stream subscription: {exc}. Check the API key "
                "and secret (and that the key may read user data)."
            ) from None

    # -- receiving ---------------------------------------------------------------------------
    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            self.last_message_at = self._clock()
            if msg.type is aiohttp.WSMsgType.TEXT:
                action = self._handle(msg.data)
                if action is _Action.RESUBSCRIBE:
                    request_id, request = self._subscribe_request()
                    self._pending = request_id
                    await ws.send_json(request)
                elif action is _Action.RECONCILE:
                    await self._reconciled()
                elif action is _Action.RECONNECT:
                    raise _Lost("reconnecting")
            elif msg.type is aiohttp.WSMsgType.BINARY:
                log.warning("user data stream: binary frame of %d bytes skipped", len(msg.data))
            elif msg.type is aiohttp.WSMsgType.ERROR:
                raise _Lost(f"connection error: {_describe(ws.exception())}")
        raise _Lost(f"connection closed by the server (code {ws.close_code})")

    def _handle(self, text: str) -> _Action:
        """One text frame: deliver an executionReport, or say what the connection must do."""
        data = _load(text)
        if not isinstance(data, dict):
            log.warning("user data stream: malformed frame skipped: %.200r", text)
            return _Action.NONE
        event = data.get("event")
        if event is not None:
            return self._event(event, text)
        request_id = data.get("id")
        if request_id is not None and request_id == self._pending:
            self._pending = None
            try:
                self._accept(data)
            except (ExchangeError, _Lost) as exc:
                log.error("user data stream: resubscription refused: %s", exc)
                return _Action.RECONNECT
            log.info("user data stream resubscribed (subscription %s)", self.subscription_id)
            return _Action.RECONCILE
        log.debug("user data stream: frame ignored: %.200r", text)
        return _Action.NONE

    def _event(self, event: object, text: str) -> _Action:
        if not isinstance(event, dict):
            log.warning("user data stream: malformed event skipped: %.200r", text)
            return _Action.NONE
        kind = event.get("e")
        if kind == "executionReport":
            try:
                update = wire.parse_execution_report(event)
            except (wire.WireError, ValueError, TypeError) as exc:
                log.warning("user data stream: bad executionReport skipped: %s", exc)
                return _Action.NONE
            try:
                self._on_update(update)
            except Exception:
                log.exception("user data stream: on_update failed for %s", update.client_order_id)
            return _Action.NONE
        if kind == "eventStreamTerminated":
            log.warning("user data stream: subscription terminated by Binance; resubscribing")
            self.subscription_id = None
            return _Action.RESUBSCRIBE
        if kind == "serverShutdown":
            log.info("user data stream: Binance server shutting down; reconnecting")
            return _Action.RECONNECT
        if kind not in IGNORED_EVENTS:
            log.debug("user data stream: event %r ignored", kind)
        return _Action.NONE


def _load(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _handshake_wait(exc: aiohttp.WSServerHandshakeError) -> float:
    if exc.status in (418, 429) and exc.headers is not None:
        try:
            return float(exc.headers.get("Retry-After", "0"))
        except ValueError:
            return 0.0
    return 0.0


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
