"""The WebSocket API: user data stream subscriptions and executionReports of order changes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from hedgehog.core.types import OrderStatus
from hedgehog.exchange.binance import wire
from hedgehog.exchange.binance.signing import hmac_signature, ws_api_payload
from hedgehog.simulator import SimulatorHandle

from .conftest import Api, now_ms, subscribe_request


async def call(ws: aiohttp.ClientWebSocketResponse, request: Any) -> dict[str, Any]:
    """Send a request and return the next frame that is not an event."""
    await (ws.send_str(request) if isinstance(request, str) else ws.send_json(request))
    while True:
        frame = await ws.receive_json()
        if "event" not in frame:
            return frame  # type: ignore[no-any-return]


async def next_event(
    ws: aiohttp.ClientWebSocketResponse, kind: str = "executionReport"
) -> dict[str, Any]:
    """The next user data event of type `kind` (the others, e.g. the outboundAccountPosition
    after each report, are skipped)."""
    while True:
        frame = await ws.receive_json()
        assert "event" in frame, frame
        if frame["event"]["e"] == kind:
            return frame  # type: ignore[no-any-return]


async def test_ping_time_and_errors(session: aiohttp.ClientSession, sim: SimulatorHandle) -> None:
    async with session.ws_connect(sim.ws_api_url) as ws:
        answer = await call(ws, {"id": "a1", "method": "ping"})
        assert answer["id"] == "a1" and answer["status"] == 200 and answer["result"] == {}
        assert answer["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
        answer = await call(ws, {"id": 2, "method": "time"})
        assert abs(answer["result"]["serverTime"] - now_ms()) < 5_000
        answer = await call(ws, "{not json")
        assert answer["status"] == 400 and answer["error"]["code"] == -1135
        answer = await call(ws, {"id": 3, "method": "order.fancy", "params": {}})
        assert answer["id"] == 3 and answer["status"] == 400
        assert answer["error"]["code"] == -1020
        answer = await call(ws, {"id": 4, "method": "ping", "params": [1]})
        assert answer["error"]["code"] == -1135


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"signature": "0" * 64}, -1022),
        ({"apiKey": "someoneElse"}, -2015),
        ({"apiKey": ""}, -1102),
        ({"timestamp": 1}, -1021),
        ({"signature": None}, -1102),
    ],
)
async def test_subscribe_failures(
    session: aiohttp.ClientSession, sim: SimulatorHandle, change: dict[str, Any], code: int
) -> None:
    request = subscribe_request(sim, rid=7)
    params = request["params"]
    params.update(change)
    if "signature" not in change:  # sign the changed params: only the change is wrong
        params["signature"] = hmac_signature(sim.api_secret, ws_api_payload(params))
    request["params"] = {k: v for k, v in params.items() if v is not None}
    async with session.ws_connect(sim.ws_api_url) as ws:
        answer = await call(ws, request)
    assert answer["id"] == 7 and answer["status"] >= 400 and answer["error"]["code"] == code


async def test_a_resting_order_filled_by_a_trade(
    session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api
) -> None:
    async with session.ws_connect(sim.ws_api_url) as ws:
        answer = await call(ws, subscribe_request(sim, recvWindow=10_000))
        assert answer == {"id": 1, "status": 200, "result": {"subscriptionId": 0},
                          "rateLimits": answer["rateLimits"]}  # fmt: skip
        again = await call(ws, subscribe_request(sim, rid=2))
        assert again["error"]["code"] == -2035
        status, placed, _ = await api.order(newClientOrderId="buy-1", price="0.5")
        assert status == 200
        new = await next_event(ws)
        assert new["subscriptionId"] == 0
        assert (new["event"]["x"], new["event"]["X"], new["event"]["c"]) == ("NEW", "NEW", "buy-1")
        await api.trade("0.51")  # above the limit: nothing
        await api.trade("0.5", qty="3")  # fills 3 of 10 (volume fills, as Binance)
        part = wire.parse_execution_report((await next_event(ws))["event"])
        assert part.order.status is OrderStatus.PARTIALLY_FILLED and str(part.last_qty) == "3"
        assert (part.commission, part.commission_asset) == (Decimal("0.003"), "XRP")
        await api.trade("0.5", qty="8")
        fill = await next_event(ws)
        update = wire.parse_execution_report(fill["event"])
        assert fill["event"]["x"] == "TRADE" and update.order.status is OrderStatus.FILLED
        assert update.order.order_id == placed["orderId"] and str(update.last_qty) == "7"
        assert fill["event"]["N"] == "XRP" and fill["event"]["n"] == "0.007"  # the asset bought
        assert fill["event"]["t"] == 3 and fill["event"]["m"] is True  # the trade that filled it
    ledger = await api.sim_get("ledger")
    (order,) = ledger["orders"]
    assert order["status"] == "FILLED" and order["clientOrderId"] == "buy-1"
    assert order["fills"] == [
        {"price": "0.5", "qty": "3", "commission": "0.003", "commissionAsset": "XRP",
         "tradeId": 2, "time": part.order.update_time, "isMaker": True},
        {"price": "0.5", "qty": "7", "commission": "0.007", "commissionAsset": "XRP",
         "tradeId": 3, "time": order["updateTime"], "isMaker": True},
    ]  # fmt: skip
    stats = await api.sim_get("stats")
    assert stats["fills"] == 2 and stats["trades_injected"] == 3
    assert stats["last_price"] == {"XRPUSDT": "0.5"}


async def test_cancel_report_and_unsubscribe(
    session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api
) -> None:
    async with session.ws_connect(sim.ws_api_url) as ws:
        await call(ws, subscribe_request(sim))
        await api.order(newClientOrderId="sell-1", side="SELL", price="2")
        assert (await next_event(ws))["event"]["X"] == "NEW"
        await api.signed(
            "DELETE", "/api/v3/order", symbol="XRPUSDT", origClientOrderId="sell-1",
            newClientOrderId="my-cancel",
        )  # fmt: skip
        event = (await next_event(ws))["event"]
        assert (event["x"], event["c"], event["C"]) == ("CANCELED", "my-cancel", "sell-1")
        assert wire.parse_execution_report(event).client_order_id == "sell-1"
        listed = await call(ws, {"id": 5, "method": "session.subscriptions"})
        assert listed["result"] == [{"subscriptionId": 0}]
        answer = await call(ws, {"id": 6, "method": "userDataStream.unsubscribe",
                                 "params": {"subscriptionId": 9}})  # fmt: skip
        assert answer["error"]["code"] == -2036
        answer = await call(ws, {"id": 7, "method": "userDataStream.unsubscribe",
                                 "params": {"subscriptionId": 0}})  # fmt: skip
        assert answer["status"] == 200 and answer["result"] == {}
        await api.order(newClientOrderId="sell-2", side="SELL", price="2")
        # no event any more: the next frame is the answer to this ping
        assert (await call(ws, {"id": 8, "method": "ping"}))["id"] == 8
        assert (await api.sim_get("stats"))["connections"]["user_streams"] == 0
        answer = await call(ws, subscribe_request(sim, rid=9))
        assert answer["result"] == {"subscriptionId": 1}


def signed_request(sim: SimulatorHandle, rid: int, method: str, **params: Any) -> dict[str, Any]:
    signed: dict[str, Any] = {"apiKey": sim.api_key, "timestamp": now_ms(), **params}
    signed["signature"] = hmac_signature(sim.api_secret, ws_api_payload(signed))
    return {"id": rid, "method": method, "params": signed}


async def test_orders_over_the_websocket_api(
    session: aiohttp.ClientSession, sim: SimulatorHandle
) -> None:
    order = {"symbol": "XRPUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
             "price": "0.5", "quantity": "10", "newClientOrderId": "ws-1"}  # fmt: skip
    async with session.ws_connect(sim.ws_api_url) as ws:
        placed = await call(ws, signed_request(sim, 1, "order.place", **order))
        assert placed["status"] == 200 and placed["result"]["clientOrderId"] == "ws-1"
        again = await call(ws, signed_request(sim, 2, "order.place", **order))
        assert again["error"] == {"code": -2010, "msg": "Duplicate order sent."}
        status = await call(ws, signed_request(sim, 3, "order.status", symbol="XRPUSDT",
                                               orderId=placed["result"]["orderId"]))  # fmt: skip
        assert status["result"]["status"] == "NEW"
        listed = await call(ws, signed_request(sim, 4, "openOrders.status"))
        assert [o["clientOrderId"] for o in listed["result"]] == ["ws-1"]
        canceled = await call(ws, signed_request(sim, 5, "order.cancel", symbol="XRPUSDT",
                                                 origClientOrderId="ws-1"))  # fmt: skip
        assert canceled["result"]["status"] == "CANCELED"
        bad = signed_request(sim, 6, "order.place", **order)
        bad["params"]["quantity"] = "11"  # changed after signing
        assert (await call(ws, bad))["error"]["code"] == -1022
