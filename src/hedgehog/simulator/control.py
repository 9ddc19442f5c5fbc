"""The simulator's own endpoints under `/_sim/`, for tests, demos and chaos runs.

- `GET /_sim/ledger`: every order ever placed (Binance order objects), each with its `fills`;
- `GET /_sim/stats`: trades, last prices, connections, orders, fills, drops, faults, weight;
- `GET /_sim/arrivals[?since=N]`: every order request (REST and WS API) from sequence number N
  on: when it arrived (`time.time_ns()`), its client order id, symbol, side, and the order id
  it got or the error it was refused with (see `hedgehog.simulator.trace`);
- `GET /_sim/account`: the account's balances (`GET /api/v3/account`'s shape, unsigned);
- `GET /_sim/wait?event=arrival|ack|fill[&timeout=S]`: answers as soon as the next order
  request arrives, is accepted, or fills (at most S seconds, default 10: then `"event": null`),
  with that request's record or that fill's executionReport; chaos runs aim kills with it;
- `POST /_sim/faults` (JSON): inject faults, see `hedgehog.simulator.faults`;
- `POST /_sim/pause`, `POST /_sim/resume`: hold and continue the replay;
- `POST /_sim/trade` (JSON `{"symbol", "price", "qty", ["buyer_maker"]}`): one trade, matched
  and published exactly like a replayed one;
- with latency tracing on (`--trace-latency`, see `hedgehog.simulator.trace`):
  `GET /_sim/latency` gives each order's arrival time by client order id (ns) and the trace's
  counters; `POST /_sim/latency` (JSON `{"trades": [[symbol, trade id], ...]}`) the time each of
  those trades' frames was written (ns, null if not remembered). Both answer 404 when it is off.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from hedgehog.core.decimals import to_decimal
from hedgehog.core.types import TradeEvent
from hedgehog.exchange.binance.wire import format_execution_report, format_trade
from hedgehog.simulator.faults import GARBAGE_FRAMES, FaultError, FaultRequest, Faults
from hedgehog.simulator.feed import Replayer
from hedgehog.simulator.limits import Limits
from hedgehog.simulator.market import Market
from hedgehog.simulator.rest import reply
from hedgehog.simulator.streams import StreamHub
from hedgehog.simulator.trace import LatencyTrace, order_arrivals
from hedgehog.simulator.ws_api import WsApi


def _bad(message: str) -> web.Response:
    return reply({"error": message}, 400)


def _tracing_off() -> web.Response:
    message = "latency tracing is off (start the simulator with --trace-latency)"
    return reply({"error": message}, 404)


async def _json(request: web.Request) -> Any:
    try:
        return json.loads(await request.text() or "null")
    except ValueError:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body is not JSON"}), content_type="application/json"
        ) from None


class Control:
    """Handlers of `/_sim/*`."""

    def __init__(
        self,
        market: Market,
        faults: Faults,
        streams: StreamHub,
        ws_api: WsApi,
        limits: Limits,
        replayer: Replayer | None,
        trace: LatencyTrace | None = None,
    ) -> None:
        self.market, self.faults, self.streams, self.ws_api = market, faults, streams, ws_api
        self.limits, self.replayer = limits, replayer
        self.trace = trace
        self.arrivals = order_arrivals(market)
        self._waiters: dict[str, list[asyncio.Future[Any]]] = {}
        self.arrivals.listeners.append(self._fire)
        market.report_listeners.append(self._on_report)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_sim/ledger", self.ledger),
            web.get("/_sim/stats", self.stats_handler),
            web.post("/_sim/faults", self.inject),
            web.post("/_sim/pause", self.pause),
            web.post("/_sim/resume", self.resume),
            web.post("/_sim/trade", self.trade),
            web.get("/_sim/latency", self.latency),
            web.get("/_sim/arrivals", self.arrivals_handler),
            web.get("/_sim/account", self.account),
            web.get("/_sim/wait", self.wait),
            web.post("/_sim/latency", self.latency_of_trades),
        ]

    async def ledger(self, request: web.Request) -> web.Response:
        return reply({"orders": self.market.ledger()})

    def stats(self) -> dict[str, Any]:
        market, replayer = self.market, self.replayer
        return {
            "trades_replayed": market.trades_replayed,
            "trades_injected": market.trades_injected,
            "last_price": {s: format(p, "f") for s, p in market.last_price.items()},
            "connections": {
                "streams": len(self.streams.clients),
                "ws_api": len(self.ws_api.sessions),
                "user_streams": self.ws_api.subscription_count,
            },
            "orders": market.engine.stats(),
            "fills": market.fill_count,
            "dropped_clients": self.streams.dropped + self.ws_api.dropped,
            "faults_injected": dict(self.faults.injected),
            "faults_pending": self.faults.pending(),
            "weight_1m": self.limits.used_weight(),
            "paused": replayer.paused if replayer else False,
            "feed_done": replayer.done.is_set() if replayer else True,
            "speed": replayer.speed if replayer else None,
        }

    async def stats_handler(self, request: web.Request) -> web.Response:
        return reply(self.stats())

    async def inject(self, request: web.Request) -> web.Response:
        try:
            fault = FaultRequest.parse(await _json(request))
        except FaultError as exc:
            return _bad(str(exc))
        self.faults.add(fault)
        done: dict[str, int] = {}
        if fault.drop_streams:
            done["streams_dropped"] = self.streams.drop_all()
            self.faults.count("drop_streams")
        if fault.drop_user_streams:
            done["user_streams_dropped"] = self.ws_api.drop_all()
            self.faults.count("drop_user_streams")
        if fault.malformed_frames:
            frames = [
                GARBAGE_FRAMES[i % len(GARBAGE_FRAMES)] for i in range(fault.malformed_frames)
            ]
            done["malformed_to_connections"] = self.streams.send_garbage(frames)
            self.faults.count("malformed_frames", fault.malformed_frames)
        return reply({"ok": True, "done": done, "pending": self.faults.pending()})

    async def pause(self, request: web.Request) -> web.Response:
        if self.replayer is not None:
            self.replayer.pause()
        return reply({"paused": self.replayer is not None})

    async def resume(self, request: web.Request) -> web.Response:
        if self.replayer is not None:
            self.replayer.resume()
        return reply({"paused": False})

    async def arrivals_handler(self, request: web.Request) -> web.Response:
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            return _bad("since must be an integer")
        arrivals = self.arrivals
        return reply({"count": arrivals.count, "forgotten": arrivals.forgotten,
                      "arrivals": arrivals.since(since)})  # fmt: skip

    async def account(self, request: web.Request) -> web.Response:
        return reply(self.market.account())

    async def wait(self, request: web.Request) -> web.Response:
        event = request.query.get("event", "")
        if event not in ("arrival", "ack", "fill"):
            return _bad("event must be arrival, ack or fill")
        try:
            timeout = float(request.query.get("timeout", "10"))
        except ValueError:
            return _bad("timeout must be a number of seconds")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(event, []).append(future)
        try:
            found = await asyncio.wait_for(future, max(0.0, min(timeout, 300.0)))
        except TimeoutError:
            return reply({"event": None})
        return reply({"event": event, "detail": found})

    def _fire(self, event: str, detail: dict[str, Any]) -> None:
        for future in self._waiters.pop(event, ()):
            if not future.done():
                future.set_result(detail)

    def _on_report(self, report: dict[str, Any]) -> None:
        if report.get("x") == "TRADE" and "fill" in self._waiters:
            self._fire("fill", report)

    async def latency(self, request: web.Request) -> web.Response:
        if self.trace is None:
            return _tracing_off()
        return reply({**self.trace.summary(), "orders": self.trace.orders})

    async def latency_of_trades(self, request: web.Request) -> web.Response:
        if self.trace is None:
            return _tracing_off()
        body = await _json(request)
        trades = body.get("trades") if isinstance(body, dict) else None
        if not isinstance(trades, list):
            return _bad('expected {"trades": [[symbol, trade id], ...]}')
        return reply({"sent": self.trace.lookup(trades)})

    async def trade(self, request: web.Request) -> web.Response:
        body = await _json(request)
        if not isinstance(body, dict):
            return _bad('expected {"symbol": ..., "price": ..., "qty": ...}')
        symbol = str(body.get("symbol", "")).upper()
        if symbol not in self.market.symbols:
            return _bad(f"unknown symbol {symbol!r}; served: {self.market.symbols}")
        try:
            price = to_decimal(body.get("price"), "price")
            qty = to_decimal(body.get("qty", body.get("quantity", "1")), "qty")
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        if price <= 0 or qty <= 0:
            return _bad("price and qty must be positive")
        maker = bool(body.get("buyer_maker", False))
        trade = TradeEvent(symbol, self.market.next_trade_id(symbol), price, qty, 0, maker)
        event, updates = self.market.process_trade(trade, injected=True)
        reports = [format_execution_report(u, event.trade_id) for u in updates]
        return reply({"trade": format_trade(event), "fills": reports})
