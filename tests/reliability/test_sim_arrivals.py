"""The simulator notes every order request (REST and WS API), always: when it arrived, its
client order id, and the order it became or the refusal it got (`GET /_sim/arrivals`);
`GET /_sim/wait` answers at the next arrival, acceptance or fill. The chaos checker's evidence."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import aiohttp
import pytest
from yarl import URL

from hedgehog.exchange.binance.signing import hmac_signature, sign_query, ws_api_payload
from hedgehog.simulator import SimulatorHandle, start_simulator
from tests.helpers import eventually

ORDER = {"symbol": "XRPUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "10", "price": "0.5"}  # fmt: skip


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    handle = await start_simulator(symbols=["XRPUSDT"], balances={"USDT": D(1000)})
    try:
        yield handle
    finally:
        await handle.close()


async def rest_order(http: aiohttp.ClientSession, sim: SimulatorHandle, **params: Any) -> Any:
    query = sign_query(sim.api_secret, {**ORDER, **params, "timestamp": time.time_ns() // 10**6})
    url = URL(f"{sim.url}/api/v3/order?{query}", encoded=True)
    async with http.post(url, headers={"X-MBX-APIKEY": sim.api_key}) as r:
        return await r.json()


async def test_every_order_request_is_noted_with_its_outcome(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as http:
        before = time.time_ns()
        placed = await rest_order(http, sim, newClientOrderId="a-1B")
        refused = await rest_order(http, sim, newClientOrderId="a-2B", quantity="100000")
        params = {**ORDER, "newClientOrderId": "a-3B", "apiKey": sim.api_key,
                  "timestamp": time.time_ns() // 10**6}  # fmt: skip
        params["signature"] = hmac_signature(sim.api_secret, ws_api_payload(params))
        async with http.ws_connect(sim.ws_api_url) as ws:
            await ws.send_json({"id": 1, "method": "order.place", "params": params})
            answer = await ws.receive_json()
        async with http.get(f"{sim.url}/_sim/arrivals") as r:
            body = await r.json()
        async with http.get(f"{sim.url}/_sim/arrivals?since=2") as r:
            tail = await r.json()
    assert body["count"] == 3 and body["forgotten"] == 0
    first, second, third = body["arrivals"]
    assert (first["clientOrderId"], first["via"], first["orderId"]) == (
        "a-1B",
        "rest",
        placed["orderId"],
    )
    assert before <= first["at_ns"] <= second["at_ns"] <= third["at_ns"] <= time.time_ns()
    assert second["orderId"] is None and second["error"]["code"] == refused["code"]
    assert (third["via"], third["orderId"]) == ("ws_api", answer["result"]["orderId"])
    assert [r["clientOrderId"] for r in tail["arrivals"]] == ["a-3B"]


async def test_wait_answers_at_the_next_ack_and_fill(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as http:

        async def wait(event: str) -> Any:
            async with http.get(f"{sim.url}/_sim/wait?event={event}&timeout=5") as r:
                return await r.json()

        ack = asyncio.ensure_future(wait("ack"))
        fill = asyncio.ensure_future(wait("fill"))
        waiters = sim.sim.control._waiters
        await eventually(lambda: waiters.get("ack") and waiters.get("fill"), what="both waiting")
        await rest_order(http, sim, newClientOrderId="w-1B")
        async with http.post(
            f"{sim.url}/_sim/trade", json={"symbol": "XRPUSDT", "price": "0.4", "qty": "50"}
        ) as r:
            assert r.status == 200
        acked, filled = await ack, await fill
        async with http.get(f"{sim.url}/_sim/wait?event=fill&timeout=0") as r:
            nothing = await r.json()
        async with http.get(f"{sim.url}/_sim/wait?event=nope") as r:
            assert r.status == 400
    assert (acked["event"], acked["detail"]["clientOrderId"]) == ("ack", "w-1B")
    assert (filled["event"], filled["detail"]["c"]) == ("fill", "w-1B")
    assert nothing == {"event": None}
