"""Market streams over WebSocket, as Binance serves them.

`/ws/<symbol>@trade` sends raw events; `/stream?streams=a@trade/b@trade` wraps each as
`{"stream": ..., "data": ...}`. On both, the live requests SUBSCRIBE, UNSUBSCRIBE,
LIST_SUBSCRIPTIONS, SET_PROPERTY and GET_PROPERTY ("combined") are answered as Binance does, and
malformed requests get Binance's `{"code": n, "msg": ...}` (JSON nested too deep or with endless
numbers too: `hedgehog.core.jsonlimits`), and the connection stays open. The server pings every
`ping_interval` seconds and closes a connection that does not pong. A connection listens to at
most 1024 streams. Each trade is encoded once and offered to every subscriber's `Outbox`.
With a `LatencyTrace`, the simulator publishes with `publish_traced` instead, so that the trace
learns when each trade's frame is written.

The hub also serves `<symbol>@aggTrade`, `@kline_<interval>`, `@bookTicker` and
`@depth<5|10|20>[@100ms]`: `hedgehog.simulator.market_streams` makes their frames and
sends them with `send`, and learns of subscription changes through `on_change`. `publish`, the
trade stream's hot path, does not pay for them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from typing import Any

from aiohttp import WSMsgType, web

from hedgehog.core import jsonlimits
from hedgehog.core.types import TradeEvent
from hedgehog.exchange.binance.wire import format_trade
from hedgehog.simulator.outbox import Outbox
from hedgehog.simulator.trace import LatencyTrace, TracedOutbox

MAX_STREAMS = 1024
KLINE_INTERVALS = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h",
                   "1d", "3d", "1w", "1M")  # fmt: skip
DEPTH_LEVELS = (5, 10, 20)
_METHODS = "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"
_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")


class StreamError(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


class Client:
    """One trade-stream connection: its streams, its mode and its outbox."""

    __slots__ = ("combined", "outbox", "streams")

    def __init__(self, outbox: Outbox, combined: bool) -> None:
        self.outbox = outbox
        self.combined = combined
        self.streams: set[str] = set()


class StreamHub:
    """Subscribers of every `<symbol>@trade` stream, and the WebSocket handlers."""

    def __init__(
        self,
        symbols: Collection[str],
        ping_interval: float = 20.0,
        queue_limit: int = 10_000,
        trace: LatencyTrace | None = None,
    ) -> None:
        self.known = {name for s in symbols for name in stream_names(s)}
        self.ping_interval = ping_interval
        self.queue_limit = queue_limit
        self.trace = trace
        self.clients: set[Client] = set()
        self.subscribers: dict[str, set[Client]] = {name: set() for name in self.known}
        self.dropped = 0
        # called after any change of subscriptions (see market_streams.MarketStreams)
        self.on_change: Callable[[], None] | None = None

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/ws", self.handle_raw), web.get("/ws/{streams:.*}", self.handle_raw),
                web.get("/stream", self.handle_combined)]  # fmt: skip

    # -- publishing --------------------------------------------------------------------------
    def publish(self, trade: TradeEvent) -> None:
        name = f"{trade.symbol.lower()}@trade"
        clients = self.subscribers.get(name)
        if not clients:
            return
        raw = _dumps(format_trade(trade))
        combined = f'{{"stream":"{name}","data":{raw}}}'
        for client in tuple(clients):
            client.outbox.offer(combined if client.combined else raw)

    def send(self, name: str, data: Any) -> None:
        """Encode `data` once and offer it to every subscriber of stream `name`."""
        clients = self.subscribers.get(name)
        if not clients:
            return
        raw = _dumps(data)
        combined = f'{{"stream":"{name}","data":{raw}}}'
        for client in tuple(clients):
            client.outbox.offer(combined if client.combined else raw)

    def publish_traced(self, trade: TradeEvent) -> None:
        """`publish`, with each frame tagged so that the trace sees when it is written."""
        name = f"{trade.symbol.lower()}@trade"
        clients = self.subscribers.get(name)
        if not clients:
            return
        raw = _dumps(format_trade(trade))
        combined = f'{{"stream":"{name}","data":{raw}}}'
        for client in tuple(clients):
            outbox = client.outbox
            if isinstance(outbox, TracedOutbox):
                outbox.offer(combined if client.combined else raw, trade)

    async def wait_for_clients(self, timeout: float) -> None:
        """Wait until every client has room in its outbox; drop one stuck for `timeout` s."""
        for client in tuple(self.clients):
            outbox = client.outbox
            if len(outbox) > outbox.limit // 2 and not await outbox.wait_room(timeout):
                outbox.drop()

    def drop_all(self) -> int:
        """Cut every connection now (a fault); returns how many were cut."""
        clients = tuple(self.clients)
        for client in clients:
            client.outbox.abort()
        return len(clients)

    def send_garbage(self, frames: list[str]) -> int:
        for client in self.clients:
            for frame in frames:
                client.outbox.offer(frame)
        return len(self.clients)

    def _on_drop(self, outbox: Outbox) -> None:
        self.dropped += 1

    # -- connections -------------------------------------------------------------------------
    async def handle_raw(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info.get("streams", "")
        return await self._serve(request, [s for s in path.split("/") if s], combined=False)

    async def handle_combined(self, request: web.Request) -> web.StreamResponse:
        names = [s for s in request.query.get("streams", "").split("/") if s]
        return await self._serve(request, names, combined=True)

    async def _serve(
        self, request: web.Request, names: list[str], combined: bool
    ) -> web.StreamResponse:
        unknown = [n for n in names if n not in self.known]
        if unknown or len(set(names)) > MAX_STREAMS:
            raise web.HTTPBadRequest(text=f"Invalid stream name(s): {unknown or 'too many'}")
        ws = web.WebSocketResponse(heartbeat=self.ping_interval or None, compress=False)
        await ws.prepare(request)
        if self.trace is None:
            outbox = Outbox(ws, request.transport, self.queue_limit, self._on_drop)
        else:
            outbox = TracedOutbox(
                ws, request.transport, self.queue_limit, self._on_drop, trace=self.trace
            )
        client = Client(outbox, combined)
        client.outbox.start()
        self.clients.add(client)
        self._subscribe(client, names)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    client.outbox.offer(_dumps(self._answer(client, msg.data)))
                elif msg.type is WSMsgType.BINARY:
                    client.outbox.offer(_dumps({"code": 3, "msg": "Invalid JSON: binary"}))
        finally:
            self.clients.discard(client)
            for name in client.streams:
                self.subscribers[name].discard(client)
            self._changed()
            await client.outbox.close()
        return ws

    def _subscribe(self, client: Client, names: list[str]) -> None:
        for name in names:
            client.streams.add(name)
            self.subscribers[name].add(client)
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _answer(self, client: Client, text: str) -> dict[str, Any]:
        """Binance's answer to one live request."""
        try:
            request = jsonlimits.loads(text, max_size=1 << 20)
        except jsonlimits.BadJson as exc:
            return {"code": 3, "msg": f"Invalid JSON: {exc}"}
        if not isinstance(request, dict):
            return {"code": 3, "msg": "Invalid JSON: expected an object"}
        rid = request.get("id")
        try:
            result = self._execute(client, request)
        except StreamError as exc:
            answer: dict[str, Any] = {"code": exc.code, "msg": exc.msg}
            if _valid_id(rid):
                answer["id"] = rid
            return answer
        return {"result": result, "id": rid}

    def _execute(self, client: Client, request: dict[str, Any]) -> Any:
        if "method" not in request:
            raise StreamError(2, "Invalid request: missing field `method`")
        method, params = request["method"], request.get("params", [])
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY",
                          "GET_PROPERTY"):  # fmt: skip
            raise StreamError(2, f"Invalid request: unknown variant `{str(method)[:100]}`, "
                                 f"expected one of {_METHODS}")  # fmt: skip
        if not _valid_id(request.get("id")):
            raise StreamError(2, "Invalid request: request ID must be an unsigned integer")
        if not isinstance(params, list):
            raise StreamError(2, "Invalid request: params must be a list")
        if method == "LIST_SUBSCRIPTIONS":
            return sorted(client.streams)
        if method in ("SET_PROPERTY", "GET_PROPERTY"):
            return _property(client, method, params)
        if not all(isinstance(p, str) for p in params):
            raise StreamError(2, "Invalid request: stream names must be strings")
        if method == "UNSUBSCRIBE":
            for name in params:
                if name in client.streams:
                    client.streams.discard(name)
                    self.subscribers[name].discard(client)
            self._changed()
            return None
        unknown = [p for p in params if p not in self.known]
        if unknown:
            raise StreamError(2, f"Invalid request: unknown stream name(s) {unknown[:5]}"[:300])
        if len(client.streams | set(params)) > MAX_STREAMS:
            raise StreamError(2, f"Invalid request: too many streams (at most {MAX_STREAMS})")
        self._subscribe(client, params)
        return None


def stream_names(symbol: str) -> list[str]:
    """Every stream served for `symbol` (lower case, as Binance names them)."""
    s = symbol.lower()
    return [f"{s}@trade", f"{s}@aggTrade", f"{s}@bookTicker",
            *(f"{s}@kline_{i}" for i in KLINE_INTERVALS),
            *(f"{s}@depth{n}{fast}" for n in DEPTH_LEVELS for fast in ("", "@100ms"))]  # fmt: skip


def _property(client: Client, method: str, params: list[Any]) -> Any:
    if not params or not isinstance(params[0], str):
        raise StreamError(2, "Invalid request: property name must be a string")
    if params[0] != "combined":
        raise StreamError(0, "Unknown property")
    if method == "GET_PROPERTY":
        return client.combined
    if len(params) != 2 or not isinstance(params[1], bool):
        raise StreamError(1, "Invalid value type: expected Boolean")
    client.combined = params[1]
    return None


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def _valid_id(rid: Any) -> bool:
    """Binance accepts ids that are 64-bit integers, strings of up to 36 letters, digits, `-`
    and `_` (its own connector sends UUIDs), or null."""
    if rid is None:
        return True
    if isinstance(rid, bool):
        return False
    if isinstance(rid, int):
        return -(2**63) <= rid < 2**63
    return isinstance(rid, str) and _ID.fullmatch(rid) is not None
