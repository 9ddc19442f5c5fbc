"""The listen-key user data stream, as Binance served it until 2026 (python-binance, ccxt).

`POST /api/v3/userDataStream` (X-MBX-APIKEY only, not signed) answers `{"listenKey": k}`: a
new 60-letter key valid 60 minutes, or the account's active key, extended. `PUT` (listenKey)
extends it, `DELETE` closes its streams and forgets it (both answer `{}`; an unknown or
expired key is -1125 "This listenKey does not exist."). The WS API's `userDataStream.start`,
`.ping` and `.stop` do the same (`start`, `keepalive`, `close`).

The stream is served at `/ws/<listenKey>` (raw events) and `/stream?streams=<listenKey>`
(`{"stream": key, "data": event}`), by `middleware`, ahead of the market streams' routes:
every `executionReport`, then the `outboundAccountPosition` of the assets it moved. When a
key expires, its connections get one `listenKeyExpired` event and nothing more.
(Binance retired these endpoints on 2026-02-20; the WS API subscription replaces them.)
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web
from aiohttp.typedefs import Handler

from hedgehog.simulator.auth import ApiError, Auth, illegal_characters, missing
from hedgehog.simulator.market import Market
from hedgehog.simulator.outbox import Outbox
from hedgehog.simulator.user_data import position_event

INVALID_LISTEN_KEY = -1125
VALIDITY_MS = 60 * 60_000
_ALPHABET = string.ascii_letters + string.digits


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


class ListenKey:
    """One listen key: its account's API key, its expiry and its open connections."""

    __slots__ = ("api_key", "clients", "expires", "key")

    def __init__(self, key: str, api_key: str, expires: int) -> None:
        self.key, self.api_key, self.expires = key, api_key, expires
        self.clients: dict[Outbox, bool] = {}  # outbox -> combined


class ListenKeys:
    """Listen keys of the simulated account, their REST endpoints and their streams."""

    def __init__(self, market: Market, auth: Auth, ping_interval: float = 20.0,
                 queue_limit: int = 10_000) -> None:  # fmt: skip
        self.market, self.auth = market, auth
        self.ping_interval, self.queue_limit = ping_interval, queue_limit
        self.keys: dict[str, ListenKey] = {}
        self.now_ms: Callable[[], int] = market.now_ms
        market.report_listeners.append(self.publish)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/v3/userDataStream", self.create),
                web.put("/api/v3/userDataStream", self.keep),
                web.delete("/api/v3/userDataStream", self.delete)]  # fmt: skip

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, api_key: str) -> str:
        """The account's active key, extended, or a new one."""
        now = self.now_ms()
        for entry in self.keys.values():
            if entry.api_key == api_key and entry.expires > now:
                entry.expires = now + VALIDITY_MS
                return entry.key
        key = "".join(secrets.choice(_ALPHABET) for _ in range(60))
        self.keys[key] = ListenKey(key, api_key, now + VALIDITY_MS)
        return key

    def active(self, key: object) -> ListenKey:
        """The listen key `key`, still valid; -1102 when absent, -1125 when unknown."""
        if not isinstance(key, str) or not key:
            raise missing("listenKey")
        entry = self.keys.get(key)
        if entry is None or entry.expires <= self.now_ms():
            raise ApiError(INVALID_LISTEN_KEY, "This listenKey does not exist.")
        return entry

    def keepalive(self, key: object) -> None:
        self.active(key).expires = self.now_ms() + VALIDITY_MS

    def close(self, key: object) -> None:
        entry = self.active(key)
        del self.keys[entry.key]
        for outbox in tuple(entry.clients):
            outbox.abort()

    # -- REST --------------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, str]:
        self.auth.secret(request.headers.get("X-MBX-APIKEY"))  # -2014 / -2015
        params = dict(request.query)
        if request.can_read_body:  # a form, read as UTF-8 whatever the charset it claims
            try:
                body = (await request.read()).decode("utf-8")
            except UnicodeDecodeError:
                raise illegal_characters() from None
            params.update(parse_qsl(body, keep_blank_values=True))
        return params

    async def create(self, request: web.Request) -> web.Response:
        await self._params(request)
        api_key = request.headers["X-MBX-APIKEY"]
        return web.json_response({"listenKey": self.start(api_key)}, dumps=_dumps)

    async def keep(self, request: web.Request) -> web.Response:
        self.keepalive((await self._params(request)).get("listenKey"))
        return web.json_response({}, dumps=_dumps)

    async def delete(self, request: web.Request) -> web.Response:
        self.close((await self._params(request)).get("listenKey"))
        return web.json_response({}, dumps=_dumps)

    # -- streams -----------------------------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Serve `/ws/<listenKey>` and `/stream?streams=<listenKey>`; else the next handler."""
        path = request.path
        if path.startswith("/ws/") and path[4:] in self.keys:
            return await self._serve(request, path[4:], combined=False)
        if path == "/stream" and request.query.get("streams", "") in self.keys:
            return await self._serve(request, request.query["streams"], combined=True)
        return await handler(request)

    async def _serve(self, request: web.Request, key: str, combined: bool) -> web.StreamResponse:
        entry = self.keys[key]
        if entry.expires <= self.now_ms():
            raise web.HTTPBadRequest(text="This listenKey does not exist.")
        ws = web.WebSocketResponse(heartbeat=self.ping_interval or None, compress=False)
        await ws.prepare(request)
        outbox = Outbox(ws, request.transport, self.queue_limit, lambda o: None)
        outbox.start()
        entry.clients[outbox] = combined
        try:
            async for msg in ws:
                if msg.type is WSMsgType.CLOSE:
                    break
        finally:
            entry.clients.pop(outbox, None)
            await outbox.close()
        return ws

    @property
    def connections(self) -> int:
        return sum(len(e.clients) for e in self.keys.values())

    def publish(self, report: dict[str, Any]) -> None:
        """Send an executionReport and the balances it moved to every listen-key stream."""
        if not any(e.clients for e in self.keys.values()):
            return
        now = self.now_ms()
        position = position_event(self.market, report)
        events = [report] if position is None else [report, position]
        for entry in tuple(self.keys.values()):
            if not entry.clients:
                continue
            if entry.expires <= now:
                self._expire(entry, now)
                continue
            for event in events:
                self._send(entry, _dumps(event))

    def _send(self, entry: ListenKey, raw: str) -> None:
        combined = f'{{"stream":"{entry.key}","data":{raw}}}'
        for outbox, wrap in tuple(entry.clients.items()):
            outbox.offer(combined if wrap else raw)

    def _expire(self, entry: ListenKey, now: int) -> None:
        """Tell the key's streams it expired (once), then forget it."""
        self._send(entry, _dumps({"e": "listenKeyExpired", "E": now, "listenKey": entry.key}))
        del self.keys[entry.key]
        entry.clients.clear()
