"""Binance's spot REST API, the part a trading bot uses: same paths, shapes and error codes.

Unsigned: `GET /api/v3/ping`, `/time`, `/exchangeInfo`. Signed (`X-MBX-APIKEY` + HMAC-SHA256
`signature` over the query string and body exactly as sent): `POST/GET/DELETE /api/v3/order`,
`POST /api/v3/order/test`, `GET /api/v3/openOrders`, `/allOrders`, `/myTrades`, `/account`,
`/account/commission` (`hedgehog.simulator.account`); the listen-key endpoints are
`listen_key`'s. The middleware applies the injected REST faults, counts request weight (429
over the limit) and sets the `X-MBX-*` headers.
With a `LatencyTrace`, each new order's arrival is noted (the time its handler starts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.typedefs import Handler

from hedgehog.exchange.binance.wire import TOO_MANY_REQUESTS, UNKNOWN, error_body
from hedgehog.simulator.account import AccountQueries
from hedgehog.simulator.auth import ApiError, Auth, illegal_characters, strip_signature
from hedgehog.simulator.faults import Faults
from hedgehog.simulator.limits import Limits, rest_weight
from hedgehog.simulator.orders import OrderDesk
from hedgehog.simulator.trace import LatencyTrace, order_arrivals

_DUPLICATE = -1101


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def reply(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


class RestApi:
    """The REST handlers and their middleware, over one `Market`."""

    def __init__(
        self,
        desk: OrderDesk,
        auth: Auth,
        limits: Limits,
        faults: Faults,
        closing: asyncio.Event,
        trace: LatencyTrace | None = None,
    ) -> None:
        self.market, self.desk = desk.market, desk
        self.queries = AccountQueries(desk)
        self.auth, self.limits, self.faults = auth, limits, faults
        self._closing = closing
        self.trace = trace

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v3/ping", self.ping),
            web.get("/api/v3/time", self.time),
            web.get("/api/v3/exchangeInfo", self.exchange_info),
            web.post("/api/v3/order", self.new_order),
            web.get("/api/v3/order", self.query_order),
            web.delete("/api/v3/order", self.cancel_order),
            web.get("/api/v3/openOrders", self.open_orders),
            web.get("/api/v3/account", self.account),
            web.post("/api/v3/order/test", self.test_order),
            web.get("/api/v3/allOrders", self.all_orders),
            web.get("/api/v3/myTrades", self.my_trades),
            web.get("/api/v3/account/commission", self.commission),
        ]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        delay = self.faults.take_delay()
        if delay:
            await asyncio.sleep(delay)
        weight = rest_weight(request.method, request.path, "symbol" in request.query, request.query)
        within = self.limits.spend(weight)
        throttle = self.faults.take_throttle()
        execute = self.faults.take_error()
        response: web.StreamResponse
        if throttle is not None or not within:
            retry = throttle if throttle is not None else self.limits.retry_after()
            msg = (
                f"Too much request weight used; current limit is {self.limits.weight_limit} "
                "request weight per 1 MINUTE. Please use WebSocket Streams for live updates to "
                "avoid polling the API."
            )
            response = reply(error_body(TOO_MANY_REQUESTS, msg), 429)
            response.headers["Retry-After"] = str(retry)
        elif execute is not None:
            if execute:
                with contextlib.suppress(ApiError, web.HTTPException):
                    await handler(request)
            msg = "Internal error; unable to process your request. Please try again."
            response = reply(error_body(UNKNOWN, msg), 503)
        else:
            try:
                response = await handler(request)
            except ApiError as exc:
                response = reply(error_body(exc.code, exc.msg), exc.status)
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(self.limits.used_weight())
        if request.method == "POST" and request.path == "/api/v3/order":
            ten, day = self.limits.order_counts()
            response.headers["X-MBX-ORDER-COUNT-10S"] = str(ten)
            response.headers["X-MBX-ORDER-COUNT-1D"] = str(day)
        return response

    async def params(self, request: web.Request, signed: bool) -> dict[str, str]:
        """Parameters of the query string and (not for GET) a form body; query wins. The body
        is read as UTF-8 whatever its Content-Type says (a form is ASCII on Binance); bytes
        that are not UTF-8 are -1100, as is text that cannot be signed (a lone surrogate)."""
        query = request.raw_path.partition("?")[2]
        body = ""
        if request.method != "GET" and request.can_read_body:
            try:
                body = (await request.read()).decode("utf-8")
            except UnicodeDecodeError:
                raise illegal_characters() from None
        if not (query + body).isascii():
            try:
                (query + body).encode("utf-8")
            except UnicodeEncodeError:
                raise illegal_characters() from None
        parts = [parse_qsl(raw, keep_blank_values=True) for raw in (query, body)]
        for pairs in parts:
            if len({k for k, _ in pairs}) != len(pairs):
                raise ApiError(_DUPLICATE, "Duplicate values for a parameter detected.")
        params = {**dict(parts[1]), **dict(parts[0])}
        if signed:
            secret = self.auth.secret(request.headers.get("X-MBX-APIKEY"))
            query_rest, query_sig = strip_signature(query)
            body_rest, body_sig = strip_signature(body)
            self.auth.check_signature(secret, query_rest + body_rest, query_sig or body_sig)
            self.auth.check_time(params.get("timestamp") or None, params.get("recvWindow"))
        return params

    # -- unsigned ----------------------------------------------------------------------------
    async def ping(self, request: web.Request) -> web.Response:
        return reply({})

    async def time(self, request: web.Request) -> web.Response:
        return reply({"serverTime": self.market.now_ms()})

    async def exchange_info(self, request: web.Request) -> web.Response:
        params = await self.params(request, signed=False)
        info = self.market.exchange_info
        wanted: list[Any] | None = None
        if params.get("symbol"):
            wanted = [params["symbol"]]
        elif params.get("symbols"):
            try:
                wanted = json.loads(params["symbols"])
            except ValueError:
                wanted = None
            if not isinstance(wanted, list) or not all(isinstance(s, str) for s in wanted):
                raise ApiError(-1100, "Illegal characters found in parameter 'symbols'.")
        symbols = info["symbols"]
        if wanted is not None:
            by_name = {s["symbol"]: s for s in symbols}
            if any(s not in by_name for s in wanted):
                raise ApiError(-1121, "Invalid symbol.")
            symbols = [by_name[s] for s in wanted]
        return reply({**info, "serverTime": self.market.now_ms(), "symbols": symbols})

    # -- signed ------------------------------------------------------------------------------
    async def new_order(self, request: web.Request) -> web.Response:
        trace = self.trace
        arrived = time.time_ns()
        params = await self.params(request, signed=True)
        if trace is not None:
            trace.order_received(params.get("newClientOrderId") or "", arrived)
        body = order_arrivals(self.market).place(self.desk.place, params, "rest", arrived)
        self.limits.count_order()
        if self.faults.take_timeout():
            await self._closing.wait()  # until the client gives up (its handler is cancelled)
            raise web.HTTPServiceUnavailable()
        return reply(body)

    async def query_order(self, request: web.Request) -> web.Response:
        return reply(self.desk.query(await self.params(request, signed=True)))

    async def cancel_order(self, request: web.Request) -> web.Response:
        return reply(self.desk.cancel(await self.params(request, signed=True)))

    async def open_orders(self, request: web.Request) -> web.Response:
        return reply(self.desk.open_orders(await self.params(request, signed=True)))

    async def account(self, request: web.Request) -> web.Response:
        return reply(self.queries.account(await self.params(request, signed=True)))

    async def test_order(self, request: web.Request) -> web.Response:
        return reply(self.desk.test(await self.params(request, signed=True)))

    async def all_orders(self, request: web.Request) -> web.Response:
        return reply(self.queries.all_orders(await self.params(request, signed=True)))

    async def my_trades(self, request: web.Request) -> web.Response:
        return reply(self.queries.my_trades(await self.params(request, signed=True)))

    async def commission(self, request: web.Request) -> web.Response:
        return reply(self.queries.commission(await self.params(request, signed=True)))
