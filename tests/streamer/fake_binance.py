"""A small fake of Binance's WebSocket market streams, for the streamer tests.

It serves `/stream?streams=a@trade/b@trade` (combined: events wrapped in
`{"stream": ..., "data": ...}`) and `/ws/a@trade/b@trade` (raw events) on 127.0.0.1, answers
SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS as Binance does, and lets a test send trades
(formatted with `wire.format_trade`), garbage and pings, refuse connections, stay silent to
pings, answer requests with errors, and drop connections. Everything it receives is recorded.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from hedgehog.core.types import TradeEvent
from hedgehog.exchange.binance.wire import format_trade

T0 = 1_700_000_000_000


def trade_frame(symbol: str, trade_id: int, price: str = "1.5", qty: str = "2") -> dict[str, Any]:
    """A combined-stream trade frame, as Binance sends it."""
    trade = TradeEvent(symbol.upper(), trade_id, Decimal(price), Decimal(qty), T0 + trade_id)
    return {"stream": f"{symbol.lower()}@trade", "data": format_trade(trade)}


class FakeConn:
    """One client connection as the server sees it."""

    def __init__(self, ws: web.WebSocketResponse, streams: list[str], combined: bool) -> None:
        loop = asyncio.get_running_loop()
        self.ws = ws
        self.url_streams = streams
        self.streams: set[str] = set(streams)
        self.combined = combined
        self.requests: list[dict[str, Any]] = []
        self.request_times: list[float] = []
        self.pings: list[bytes] = []
        self.pongs: list[bytes] = []
        self.opened_at = loop.time()
        self.closed_at: float | None = None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    def methods(self) -> list[tuple[str, list[str] | None]]:
        return [(r.get("method"), r.get("params")) for r in self.requests]

    async def send_trade(self, symbol: str, trade_id: int, **kw: str) -> None:
        frame = trade_frame(symbol, trade_id, **kw)
        await self.send_json(frame if self.combined else frame["data"])

    async def send_json(self, payload: Any) -> None:
        await self.ws.send_str(json.dumps(payload))

    async def send_str(self, text: str) -> None:
        await self.ws.send_str(text)

    async def send_bytes(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def ping(self, payload: bytes) -> None:
        await self.ws.ping(payload)

    async def drop(self) -> None:
        """Close the connection from the server's side (as at Binance's 24 h mark)."""
        await self.ws.close(code=WSCloseCode.GOING_AWAY, message=b"bye")


class FakeBinance:
    def __init__(self) -> None:
        self.conns: list[FakeConn] = []
        self.attempts = 0
        self.refuse = 0  # refuse the next N connection attempts...
        self.refuse_status = 503  # ...with this HTTP status
        self.fail_methods: set[str] = set()  # answer these request methods with an error
        self.answer_pings = True  # False: a silent peer (client heartbeats get no pong)
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/stream", self._combined)
        app.router.add_get("/ws/{streams:.*}", self._raw)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"ws://{host}:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def live(self) -> list[FakeConn]:
        return [c for c in self.conns if not c.closed]

    async def trade(self, symbol: str, trade_id: int, **kw: str) -> int:
        """Send a trade to every live connection subscribed to its stream; how many got it."""
        stream = f"{symbol.lower()}@trade"
        sent = 0
        for conn in self.live():
            if stream in conn.streams:
                await conn.send_trade(symbol, trade_id, **kw)
                sent += 1
        return sent

    # -- handlers ---------------------------------------------------------------------------
    async def _combined(self, request: web.Request) -> web.StreamResponse:
        raw = request.query.get("streams", "")
        return await self._serve(request, [s for s in raw.split("/") if s], combined=True)

    async def _raw(self, request: web.Request) -> web.StreamResponse:
        raw = request.match_info["streams"]
        return await self._serve(request, [s for s in raw.split("/") if s], combined=False)

    async def _serve(
        self, request: web.Request, streams: list[str], combined: bool
    ) -> web.StreamResponse:
        self.attempts += 1
        if self.refuse > 0:
            self.refuse -= 1
            return web.Response(status=self.refuse_status, text="go away")
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        conn = FakeConn(ws, streams, combined)
        self.conns.append(conn)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._request(conn, msg.data)
                elif msg.type is WSMsgType.PING:
                    conn.pings.append(msg.data)
                    if self.answer_pings:
                        await ws.pong(msg.data)
                elif msg.type is WSMsgType.PONG:
                    conn.pongs.append(msg.data)
        finally:
            conn.closed_at = asyncio.get_running_loop().time()
        return ws

    async def _request(self, conn: FakeConn, text: str) -> None:
        conn.request_times.append(asyncio.get_running_loop().time())
        try:
            req = json.loads(text)
        except ValueError:
            await conn.send_json({"code": 3, "msg": "Invalid JSON"})
            return
        conn.requests.append(req)
        method, rid, params = req.get("method"), req.get("id"), req.get("params") or []
        if method in self.fail_methods:
            await conn.send_json({"code": 2, "msg": f"Invalid request: {method}", "id": rid})
            return
        if method == "SUBSCRIBE":
            conn.streams.update(params)
            await conn.send_json({"result": None, "id": rid})
        elif method == "UNSUBSCRIBE":
            conn.streams.difference_update(params)
            await conn.send_json({"result": None, "id": rid})
        elif method == "LIST_SUBSCRIPTIONS":
            await conn.send_json({"result": sorted(conn.streams), "id": rid})
        else:
            await conn.send_json({"code": 2, "msg": f"unknown variant {method}", "id": rid})
