"""The listen-key user data stream: POST/PUT/DELETE /api/v3/userDataStream and /ws/<listenKey>."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from hedgehog.simulator import SimulatorHandle
from tests.helpers import eventually

from .conftest import Api


async def key_request(api: Api, method: str, **params: Any) -> tuple[int, Any]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, body, _ = await api.request(method, "/api/v3/userDataStream", query,
                                        headers={"X-MBX-APIKEY": api.sim.api_key})  # fmt: skip
    return status, body


async def events(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    return [await asyncio.wait_for(ws.receive_json(), 5) for _ in range(count)]


async def test_listen_key_lifecycle(api: Api) -> None:
    status, body, _ = await api.request("POST", "/api/v3/userDataStream")
    assert (status, body["code"]) == (401, -2014)
    status, body = await key_request(api, "POST")
    key = body["listenKey"]
    assert status == 200 and len(key) == 60 and key.isalnum()
    assert (await key_request(api, "POST"))[1] == {"listenKey": key}  # the active one
    assert await key_request(api, "PUT", listenKey=key) == (200, {})
    status, body = await key_request(api, "PUT", listenKey="nope")
    assert (status, body) == (400, {"code": -1125, "msg": "This listenKey does not exist."})
    assert (await key_request(api, "PUT"))[1]["code"] == -1102
    assert await key_request(api, "DELETE", listenKey=key) == (200, {})
    assert (await key_request(api, "PUT", listenKey=key))[1]["code"] == -1125
    assert (await key_request(api, "POST"))[1]["listenKey"] != key


async def test_events_on_the_raw_and_combined_streams(
    session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api
) -> None:
    key = (await key_request(api, "POST"))[1]["listenKey"]
    async with (
        session.ws_connect(f"{sim.ws_url}/ws/{key}") as raw,
        session.ws_connect(f"{sim.ws_url}/stream?streams={key}") as combined,
        session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@trade") as trades,
    ):
        entry = sim.sim.ws_api.listen_keys.keys[key]
        await eventually(lambda: len(entry.clients) == 2, what="both user streams registered")
        await api.order(newClientOrderId="b1")
        new, position = await events(raw, 2)
        assert (new["e"], new["x"], new["c"]) == ("executionReport", "NEW", "b1")
        assert position["e"] == "outboundAccountPosition"
        assert {b["a"]: b["l"] for b in position["B"]} == {"XRP": "0.00000000",
                                                           "USDT": "5.00000000"}  # fmt: skip
        wrapped = await events(combined, 2)
        assert [w["stream"] for w in wrapped] == [key, key] and wrapped[0]["data"] == new
        await api.trade("0.5", qty="10")
        fill, position = await events(raw, 2)
        assert (fill["x"], fill["X"], fill["N"], fill["n"]) == ("TRADE", "FILLED", "XRP", "0.010")
        assert {b["a"]: b["f"] for b in position["B"]} == {"XRP": "109.99000000",
                                                           "USDT": "995.00000000"}  # fmt: skip
        assert (await trades.receive_json())["e"] == "trade"  # market streams still served
        sim.sim.ws_api.listen_keys.keys[key].expires = 0
        await api.order(newClientOrderId="b2")
        (expired,) = await events(raw, 1)
        assert expired["e"] == "listenKeyExpired" and expired["listenKey"] == key
        assert (await key_request(api, "PUT", listenKey=key))[1]["code"] == -1125


async def test_delete_closes_the_stream(
    session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api
) -> None:
    key = (await key_request(api, "POST"))[1]["listenKey"]
    async with session.ws_connect(f"{sim.ws_url}/ws/{key}") as ws:
        entry = sim.sim.ws_api.listen_keys.keys[key]
        await eventually(lambda: entry.clients, what="the stream registered")
        await key_request(api, "DELETE", listenKey=key)
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
