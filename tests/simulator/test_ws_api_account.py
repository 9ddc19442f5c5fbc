"""WS API account methods: order.test, allOrders, myTrades, account.*, session.*, listen keys."""

from __future__ import annotations

from typing import Any

import aiohttp

from hedgehog.simulator import SimulatorHandle

from .conftest import Api, subscribe_request
from .test_ws_api import call, next_event, signed_request


async def test_account_methods(
    session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api
) -> None:
    order = {"symbol": "XRPUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
             "price": "0.5", "quantity": "10"}  # fmt: skip
    async with session.ws_connect(sim.ws_api_url) as ws:
        test = await call(ws, signed_request(sim, 1, "order.test", **order))
        assert test["status"] == 200 and test["result"] == {}
        rates = await call(ws, signed_request(sim, 2, "order.test", computeCommissionRates=True,
                                              **order))  # fmt: skip
        assert rates["result"]["standardCommissionForOrder"]["taker"] == "0.00100000"
        bad = await call(ws, signed_request(sim, 3, "order.test", **{**order, "price": "0.5001"}))
        assert bad["status"] == 200  # 0.5001 is on the tick
        bad = await call(ws, signed_request(sim, 3, "order.test", **{**order, "price": "0.50001"}))
        assert bad["error"] == {"code": -1013, "msg": "Filter failure: PRICE_FILTER"}
        await call(ws, signed_request(sim, 4, "order.place", **order))
        await api.trade("0.5", qty="4")
        orders = await call(ws, signed_request(sim, 5, "allOrders", symbol="XRPUSDT"))
        assert [o["status"] for o in orders["result"]] == ["PARTIALLY_FILLED"]
        trades = await call(ws, signed_request(sim, 6, "myTrades", symbol="XRPUSDT"))
        (trade,) = trades["result"]
        assert (trade["qty"], trade["commission"], trade["commissionAsset"]) == ("4", "0.004",
                                                                                 "XRP")  # fmt: skip
        combo = await call(ws, signed_request(sim, 7, "myTrades", symbol="XRPUSDT", orderId=1,
                                              startTime=1))  # fmt: skip
        assert combo["error"]["code"] == -1128
        status = await call(ws, signed_request(sim, 8, "account.status", omitZeroBalances=True))
        assert {b["asset"] for b in status["result"]["balances"]} == {"USDT", "XRP"}
        assert status["result"]["commissionRates"]["maker"] == "0.00100000"
        fees = await call(ws, signed_request(sim, 9, "account.commission", symbol="XRPUSDT"))
        assert fees["result"]["standardCommission"]["maker"] == "0.00100000"
        unsigned = await call(ws, {"id": 10, "method": "myTrades", "params": {"symbol": "XRPUSDT"}})
        assert unsigned["error"]["code"] == -1102
        assert "rateLimits" in unsigned


async def test_session_methods(session: aiohttp.ClientSession, sim: SimulatorHandle) -> None:
    async with session.ws_connect(sim.ws_api_url) as ws:
        status = (await call(ws, {"id": 1, "method": "session.status"}))["result"]
        assert status["apiKey"] is None and status["authorizedSince"] is None
        assert status["userDataStream"] is False and status["connectedSince"] > 0
        logon = await call(ws, signed_request(sim, 2, "session.logon"))  # HMAC key: refused
        assert logon["status"] == 400 and logon["error"]["code"] == -1002
        bad = signed_request(sim, 3, "session.logon")
        bad["params"]["signature"] = "0" * 64
        assert (await call(ws, bad))["error"]["code"] == -1022
        subscribe = await call(ws, {"id": 4, "method": "userDataStream.subscribe"})
        assert subscribe["error"]["code"] == -1002
        await call(ws, subscribe_request(sim, rid=5))
        status = (await call(ws, {"id": 6, "method": "session.status"}))["result"]
        assert status["userDataStream"] is True
        out = (await call(ws, {"id": 7, "method": "session.logout"}))["result"]
        assert out["apiKey"] is None and out["userDataStream"] is True  # signature ones stay


async def test_legacy_listen_key_methods(
    session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api
) -> None:
    async with session.ws_connect(sim.ws_api_url) as ws:
        start = await call(ws, {"id": 1, "method": "userDataStream.start",
                                "params": {"apiKey": sim.api_key}})  # fmt: skip
        key = start["result"]["listenKey"]
        params: dict[str, Any] = {"apiKey": sim.api_key, "listenKey": key}
        ping = await call(ws, {"id": 2, "method": "userDataStream.ping", "params": params})
        assert ping["result"] == {}
        missing = await call(ws, {"id": 3, "method": "userDataStream.start"})
        assert missing["error"]["code"] == -1102
        async with session.ws_connect(f"{sim.ws_url}/ws/{key}") as stream:
            await api.order(newClientOrderId="k1")
            assert (await stream.receive_json())["c"] == "k1"
            stop = await call(ws, {"id": 4, "method": "userDataStream.stop", "params": params})
            assert stop["result"] == {}
        again = await call(ws, {"id": 5, "method": "userDataStream.ping", "params": params})
        assert again["error"] == {"code": -1125, "msg": "This listenKey does not exist."}


async def test_subscription_gets_account_positions(
    session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api
) -> None:
    async with session.ws_connect(sim.ws_api_url) as ws:
        await call(ws, subscribe_request(sim))
        await api.order(newClientOrderId="p1", side="SELL", price="2", quantity="5")
        report = await next_event(ws)
        position = await next_event(ws, "outboundAccountPosition")
        assert report["event"]["c"] == "p1" and position["subscriptionId"] == 0
        rows = {b["a"]: (b["f"], b["l"]) for b in position["event"]["B"]}
        assert rows == {"XRP": ("95.00000000", "5.00000000"),
                        "USDT": ("1000.00000000", "0.00000000")}  # fmt: skip
