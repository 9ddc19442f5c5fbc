"""Tiny hand-written fakes of Binance on 127.0.0.1, for the client tests.

`FakeBinance` serves the REST endpoints hedgehog uses (time, exchangeInfo, order, openOrders,
account), verifies API keys, signatures (over the raw bytes received) and timestamps like
Binance does, and can be scripted to answer a request with an error, a hang or a dropped
connection. `FakeWsApi` serves the WebSocket API's `userDataStream.subscribe.signature` and
pushes events. Both build their answers with `wire.format_*`, and both read time from an
injected clock. They are test doubles, not the exchange simulator.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from hedgehog.core.decimals import ZERO
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Order, OrderStatus, Side
from hedgehog.exchange.base import Balance
from hedgehog.exchange.binance import signing, wire

# Binance's documented example key pair (request-security docs): used by the tests only.
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"

XRPUSDT = SymbolFilters(
    "XRPUSDT", "XRP", "USDT", Decimal("0.0001"), Decimal("0.1"), min_notional=Decimal("1")
)
BTCUSDT = SymbolFilters("BTCUSDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"))

BAD_KEY_MSG = "Invalid API-key, IP, or permissions for action."
BAD_SIGNATURE_MSG = "Signature for this request is not valid."
BAD_TIMESTAMP_MSG = "Timestamp for this request is outside of the recvWindow."


class FakeClock:
    """Wall time that moves only when a test (or an awaited `sleep`) moves it."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass
class Reply:
    """A scripted answer: status, JSON body (or raw text) and headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


HANG = "hang"  # never answer (until the fake is closed)
DROP = "drop"  # close the connection without answering
Script = Reply | str


@dataclass(frozen=True)
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    raw_query: str
    body: str
    headers: dict[str, str]

    @property
    def payload(self) -> str:
        """The signed (or plain) parameter string: the query, or the body of a POST."""
        return self.body if self.method == "POST" else self.raw_query

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.payload, keep_blank_values=True))


def symbol_entry(f: SymbolFilters) -> dict[str, Any]:
    """One `symbols` element of exchangeInfo."""
    return {
        "symbol": f.symbol,
        "status": "TRADING",
        "baseAsset": f.base_asset,
        "quoteAsset": f.quote_asset,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": format(f.min_price, "f"),
                "maxPrice": format(f.max_price, "f"),
                "tickSize": format(f.tick_size, "f"),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": format(f.min_qty, "f"),
                "maxQty": format(f.max_qty, "f"),
                "stepSize": format(f.step_size, "f"),
            },
            {"filterType": "NOTIONAL", "minNotional": format(f.min_notional, "f")},
        ],
    }


class FakeBinance:
    """Binance's REST endpoints for LIMIT and MARKET orders, in memory, on 127.0.0.1.

    A MARKET order (`quantity`, no `price`, no `timeInForce`, as Binance's docs require) fills
    whole at once at `market_price`; Binance shows its `price` as 0."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        api_key: str = API_KEY,
        api_secret: str = API_SECRET,
        ed25519_public_key: Any = None,
        filters: tuple[SymbolFilters, ...] = (XRPUSDT, BTCUSDT),
    ) -> None:
        self.clock = clock
        self.api_key = api_key
        self.api_secret = api_secret
        self.public_key = ed25519_public_key
        self.filters = {f.symbol: f for f in filters}
        self.server_offset_ms = 0  # the server's clock minus the shared clock
        self.market_price = Decimal("0.4312")  # where a MARKET order fills
        self.requests: list[Seen] = []
        self.orders: dict[int, Order] = {}
        self.balances = {"USDT": Balance("USDT", Decimal("1000"), ZERO)}
        self.scripts: dict[tuple[str, str], deque[Script]] = defaultdict(deque)
        self.weight = 0  # sent as X-MBX-USED-WEIGHT-1M (incremented per request)
        self.weight_override: int | None = None
        self._next_id = 1
        self._release = asyncio.Event()
        self._server: TestServer | None = None

    # -- test controls -----------------------------------------------------------------------
    def script(self, method: str, path: str, *answers: Script) -> None:
        """Answer the next requests to `method path` with these, in order."""
        self.scripts[(method, path)].extend(answers)

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.path == path)

    def now_ms(self) -> int:
        return int(self.clock() * 1000) + self.server_offset_ms

    def fill(self, order_id: int, qty: Decimal | None = None) -> Order:
        """Execute `qty` more of an open order (all that is left by default)."""
        o = self.orders[order_id]
        executed = o.orig_qty if qty is None else o.executed_qty + qty
        status = OrderStatus.FILLED if executed >= o.orig_qty else OrderStatus.PARTIALLY_FILLED
        filled = Order(
            o.order_id, o.client_order_id, o.symbol, o.side, o.price, o.orig_qty, executed,
            executed * o.price, status, o.time, self.now_ms(),
        )  # fmt: skip
        self.orders[order_id] = filled
        return filled

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        # No access log: it would print the signed query strings the client sends.
        await self._server.start_server(access_log=None)
        return self.url

    async def close(self) -> None:
        self._release.set()
        if self._server is not None:
            await self._server.close()

    # -- serving -----------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        seen = Seen(
            request.method,
            request.path,
            request.rel_url.raw_query_string,
            body,
            dict(request.headers),
        )
        self.requests.append(seen)
        self.weight += 1
        headers = {"X-MBX-USED-WEIGHT-1M": str(self.weight_override or self.weight)}
        queue = self.scripts.get((request.method, request.path))
        if queue:
            answer = queue.popleft()
            if answer == HANG:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._release.wait(), 10)
                return web.json_response({}, headers=headers)
            if answer == DROP:
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            assert isinstance(answer, Reply)
            reply_headers = {**headers, **answer.headers}
            if isinstance(answer.body, str):
                return web.Response(status=answer.status, text=answer.body, headers=reply_headers)
            return web.json_response(answer.body, status=answer.status, headers=reply_headers)
        status, data, extra = self._route(seen)
        return web.json_response(data, status=status, headers={**headers, **extra})

    def _route(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        key = (seen.method, seen.path)
        if key == ("GET", "/api/v3/time"):
            return 200, wire.format_server_time(self.now_ms()), {}
        if key == ("GET", "/api/v3/exchangeInfo"):
            return 200, self._exchange_info(), {}
        signed = {
            ("POST", "/api/v3/order"),
            ("GET", "/api/v3/order"),
            ("DELETE", "/api/v3/order"),
            ("GET", "/api/v3/openOrders"),
            ("GET", "/api/v3/account"),
        }
        if key not in signed:
            return 404, wire.error_body(-1000, f"no route {key}"), {}
        refused = self._check_signed(seen)
        if refused is not None:
            return refused
        params = seen.params
        if key == ("POST", "/api/v3/order"):
            return self._place(params)
        if key == ("GET", "/api/v3/order"):
            order = self._find(params)
            if order is None:
                return 400, wire.error_body(wire.NO_SUCH_ORDER, wire.NO_SUCH_ORDER_MSG), {}
            return 200, wire.format_order(order), {}
        if key == ("DELETE", "/api/v3/order"):
            order = self._find(params)
            if order is None or not order.status.is_open:
                return 400, wire.error_body(wire.CANCEL_REJECTED, wire.UNKNOWN_ORDER_MSG), {}
            canceled = Order(
                order.order_id, order.client_order_id, order.symbol, order.side, order.price,
                order.orig_qty, order.executed_qty, order.cumulative_quote_qty,
                OrderStatus.CANCELED, order.time, self.now_ms(),
            )  # fmt: skip
            self.orders[order.order_id] = canceled
            return 200, wire.format_cancel_response(canceled, "cancel1"), {}
        if key == ("GET", "/api/v3/openOrders"):
            symbol = params.get("symbol")
            listed = [
                wire.format_order(o)
                for o in self.orders.values()
                if o.status.is_open and (symbol is None or o.symbol == symbol)
            ]
            return 200, listed, {}
        return 200, wire.format_account(self.balances, self.now_ms()), {}

    def _check_signed(self, seen: Seen) -> tuple[int, Any, dict[str, str]] | None:
        if seen.headers.get("X-MBX-APIKEY") != self.api_key:
            return 401, wire.error_body(wire.REJECTED_MBX_KEY, BAD_KEY_MSG), {}
        payload, sep, signature = seen.payload.rpartition("&signature=")
        if not sep or not self._valid(payload, signature):
            return 400, wire.error_body(wire.INVALID_SIGNATURE, BAD_SIGNATURE_MSG), {}
        params = dict(parse_qsl(payload))
        try:
            timestamp = int(params["timestamp"])
            window = int(params.get("recvWindow", "5000"))
        except (KeyError, ValueError):
            return 400, wire.error_body(wire.MANDATORY_PARAM_MISSING, "timestamp"), {}
        now = self.now_ms()
        if not (timestamp < now + 1000 and now - timestamp <= window):
            return 400, wire.error_body(wire.TIMESTAMP_OUTSIDE_RECV_WINDOW, BAD_TIMESTAMP_MSG), {}
        return None

    def _valid(self, payload: str, signature: str) -> bool:
        if self.public_key is None:
            return signing.verify(self.api_secret, payload, signature)
        from urllib.parse import unquote

        try:
            self.public_key.verify(base64.b64decode(unquote(signature)), payload.encode())
        except Exception:
            return False
        return True

    def _exchange_info(self) -> dict[str, Any]:
        return {
            "timezone": "UTC",
            "serverTime": self.now_ms(),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 6000,
                }
            ],
            "symbols": [symbol_entry(f) for f in self.filters.values()],
        }

    def _find(self, params: dict[str, str]) -> Order | None:
        if "orderId" in params:
            return self.orders.get(int(params["orderId"]))
        cid = params.get("origClientOrderId")
        for o in self.orders.values():
            if o.symbol == params.get("symbol") and o.client_order_id == cid:
                return o
        return None

    def _place(self, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        symbol = params["symbol"]
        f = self.filters.get(symbol)
        if f is None:
            return 400, wire.error_body(wire.BAD_SYMBOL, "Invalid symbol."), {}
        market = params["type"] == "MARKET"
        if market:  # Binance: -1106 for a parameter sent when not required
            assert "price" not in params and "timeInForce" not in params, params
        else:
            assert params["type"] == "LIMIT" and params["timeInForce"] == "GTC"
        cid = params["newClientOrderId"]
        if any(o.client_order_id == cid and o.status.is_open for o in self.orders.values()):
            return 400, wire.error_body(wire.NEW_ORDER_REJECTED, wire.DUPLICATE_ORDER_MSG), {}
        qty = Decimal(params["quantity"])
        price = self.market_price if market else Decimal(params["price"])
        problem = f.check(price, qty)
        if problem is not None:
            name = problem.split(":")[0]
            return 400, wire.error_body(wire.FILTER_FAILURE, f"Filter failure: {name}"), {}
        oid = self._next_id
        self._next_id += 1
        now = self.now_ms()
        order = Order(
            oid, cid, symbol, Side(params["side"]), price, qty, ZERO, ZERO, OrderStatus.NEW,
            now, now,
        )  # fmt: skip
        if market:  # filled at once; its price shown as 0, what it made in its quote amount
            order = Order(
                oid, cid, symbol, order.side, ZERO, qty, qty, qty * price, OrderStatus.FILLED,
                now, now, "MARKET", "GTC",
            )  # fmt: skip
        self.orders[oid] = order
        counts = {"X-MBX-ORDER-COUNT-10S": str(oid), "X-MBX-ORDER-COUNT-1D": str(oid)}
        return 200, wire.format_order(order, transact=True), counts


class FakeWsApi:
    """The WebSocket API's user data stream subscription, on 127.0.0.1."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        api_key: str = API_KEY,
        api_secret: str = API_SECRET,
        ed25519_public_key: Any = None,
    ) -> None:
        self.clock = clock
        self.api_key = api_key
        self.api_secret = api_secret
        self.public_key = ed25519_public_key
        self.requests: list[dict[str, Any]] = []  # every request received
        self.connections: list[web.WebSocketResponse] = []
        self.subscriptions = 0
        self.refuse: deque[tuple[int, int, str]] = deque()  # (status, code, msg) for next subs
        self._changed = asyncio.Condition()
        self._server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("/ws-api/v3"))

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/ws-api/v3", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        # No access log: it would print the signed query strings the client sends.
        await self._server.start_server(access_log=None)
        return self.url

    async def close(self) -> None:
        for ws in self.connections:
            await ws.close()
        if self._server is not None:
            await self._server.close()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 3.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    @property
    def current(self) -> web.WebSocketResponse:
        return self.connections[-1]

    async def push(self, event: dict[str, Any], subscription_id: int | None = None) -> None:
        sub = self.subscriptions - 1 if subscription_id is None else subscription_id
        await self.current.send_json(wire.format_user_event(sub, event))

    async def send_raw(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            await self.current.send_bytes(data)
        else:
            await self.current.send_str(data)

    async def drop(self) -> None:
        """Close the latest connection from the server side."""
        await self.current.close()

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections.append(ws)
        await self._notify()
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            request_data = json.loads(msg.data)
            self.requests.append(request_data)
            await ws.send_json(self._answer(request_data))
            await self._notify()
        await self._notify()
        return ws

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        rid = request.get("id")
        if request.get("method") != "userDataStream.subscribe.signature":
            return wire.format_ws_error(rid, 400, -1000, "unsupported")
        if self.refuse:
            status, code, msg = self.refuse.popleft()
            return wire.format_ws_error(rid, status, code, msg)
        params = dict(request.get("params", {}))
        if params.get("apiKey") != self.api_key:
            return wire.format_ws_error(rid, 401, wire.REJECTED_MBX_KEY, BAD_KEY_MSG)
        signature = str(params.get("signature", ""))
        payload = signing.ws_api_payload(params)
        if not self._valid(payload, signature):
            return wire.format_ws_error(rid, 400, wire.INVALID_SIGNATURE, BAD_SIGNATURE_MSG)
        now = int(self.clock() * 1000)
        if abs(now - int(params["timestamp"])) > int(params.get("recvWindow", 5000)):
            code = wire.TIMESTAMP_OUTSIDE_RECV_WINDOW
            return wire.format_ws_error(rid, 400, code, BAD_TIMESTAMP_MSG)
        sub = self.subscriptions
        self.subscriptions += 1
        return wire.format_ws_result(rid, {"subscriptionId": sub})

    def _valid(self, payload: str, signature: str) -> bool:
        if self.public_key is None:
            return signing.verify(self.api_secret, payload, signature)
        try:
            self.public_key.verify(base64.b64decode(signature), payload.encode())
        except Exception:
            return False
        return True
