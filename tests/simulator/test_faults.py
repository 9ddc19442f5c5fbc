"""Faults injected with `POST /_sim/faults`, one test per kind."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from hedgehog.exchange.binance import wire
from hedgehog.simulator import SimulatorHandle
from hedgehog.simulator.faults import GARBAGE_FRAMES

from .conftest import Api, subscribe_request


async def inject(api: Api, **fault: object) -> dict[str, object]:
    status, body = await api.sim_post("faults", fault)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


async def test_bad_fault_requests(api: Api) -> None:
    for body in ({}, {"explode": True}, {"http_5xx_next": -1}, {"drop_streams": 1}, [1]):
        status, answer = await api.sim_post("faults", body)
        assert status == 400 and "error" in answer
    async with api.session.post(f"{api.sim.url}/_sim/faults", data=b"{nope") as resp:
        assert resp.status == 400


async def test_drop_streams(session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api) -> None:
    async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@trade") as ws:
        body = await inject(api, drop_streams=True)
        assert body["done"] == {"streams_dropped": 1}
        msg = await ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    # reconnecting works
    async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@trade") as ws:
        await api.trade("0.6")
        assert (await ws.receive_json())["p"] == "0.6"
    assert (await api.sim_get("stats"))["faults_injected"] == {"drop_streams": 1}


async def test_drop_user_streams(
    session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api
) -> None:
    async with session.ws_connect(sim.ws_api_url) as ws:
        await ws.send_json(subscribe_request(sim))
        assert (await ws.receive_json())["status"] == 200
        body = await inject(api, drop_user_streams=True)
        assert body["done"] == {"user_streams_dropped": 1}
        msg = await ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)


async def test_malformed_frames(
    session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api
) -> None:
    async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@trade") as ws:
        await inject(api, malformed_frames=5)
        await api.trade("0.6")
        frames = [await ws.receive_str() for _ in range(6)]
    assert frames[:5] == [*GARBAGE_FRAMES, GARBAGE_FRAMES[0]]
    for frame in frames[:5]:
        with pytest.raises((ValueError, wire.WireError, TypeError, AttributeError)):
            wire.parse_trade(json.loads(frame))
    assert wire.parse_trade(json.loads(frames[5])).trade_id == 1


async def test_delay(api: Api) -> None:
    await inject(api, delay_ms=300, count=2)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        assert (await api.get("/api/v3/ping"))[0] == 200
        times.append(time.perf_counter() - start)
    assert times[0] >= 0.3 and times[1] >= 0.3  # lower bounds: a loaded machine cannot break them
    assert (await api.sim_get("stats"))["faults_injected"] == {"delay": 2}  # the third: none


async def test_http_429(api: Api) -> None:
    await inject(api, http_429_next=1, retry_after=7)
    status, body, headers = await api.order(newClientOrderId="t429")
    assert (status, body["code"], headers["Retry-After"]) == (429, -1003, "7")
    assert api.sim.engine.stats()["placed"] == 0
    assert (await api.order(newClientOrderId="t429"))[0] == 200


@pytest.mark.parametrize("execute", [False, True])
async def test_http_5xx(api: Api, execute: bool) -> None:
    await inject(api, http_5xx_next=1, execute=execute)
    status, body, _ = await api.order(newClientOrderId="t5xx")
    assert (status, body["code"]) == (503, -1000)
    with pytest.raises(wire.ExchangeUnavailable):
        wire.raise_for_error(status, body)
    ledger = (await api.sim_get("ledger"))["orders"]
    assert [o["clientOrderId"] for o in ledger] == (["t5xx"] if execute else [])
    status, body, _ = await api.signed(
        "GET", "/api/v3/order", symbol="XRPUSDT", origClientOrderId="t5xx"
    )
    assert status == (200 if execute else 400)


async def test_timeout_next_orders(api: Api) -> None:
    await inject(api, timeout_next_orders=1)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(api.order(newClientOrderId="lost"), 0.3)
    # accepted and executed, though never answered: the client must look it up
    status, body, _ = await api.signed(
        "GET", "/api/v3/order", symbol="XRPUSDT", origClientOrderId="lost"
    )
    assert status == 200 and body["status"] == "NEW"
    assert (await api.order(newClientOrderId="next"))[0] == 200
    stats = await api.sim_get("stats")
    assert stats["faults_injected"] == {"timeout_order": 1}
    assert stats["faults_pending"]["timeouts_left"] == 0


async def test_a_held_order_request_is_released_on_close(api: Api) -> None:
    await inject(api, timeout_next_orders=1)
    placed = asyncio.Event()
    api.sim.market.report_listeners.append(lambda report: placed.set())
    request = asyncio.ensure_future(api.order(newClientOrderId="held"))
    await asyncio.wait_for(placed.wait(), 5)
    await api.sim.close()
    try:
        status: int | None = (await request)[0]
    except aiohttp.ClientError:
        status = None
    assert status in (None, 503)  # answered 503 or cut, never a success
