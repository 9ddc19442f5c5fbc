"""Latency tracing: off by default; on, trade frames' send times and orders' arrival times."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal as D

import aiohttp
import pytest

from hedgehog.core.types import TradeEvent
from hedgehog.simulator import SimulatorHandle, start_simulator
from hedgehog.simulator.outbox import Outbox
from hedgehog.simulator.trace import LatencyTrace, TracedOutbox

from .conftest import BALANCES, Api


@pytest.fixture
async def traced() -> AsyncIterator[SimulatorHandle]:
    handle = await start_simulator(
        symbols=["XRPUSDT", "ETHUSDT"], balances=BALANCES, trace_latency=True
    )
    yield handle
    await handle.close()


async def test_tracing_is_off_by_default(
    session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api
) -> None:
    assert sim.sim.trace is None
    async with session.get(f"{sim.url}/_sim/latency") as resp:
        assert resp.status == 404 and "--trace-latency" in (await resp.json())["error"]
    status, _ = await api.sim_post("latency", {"trades": []})
    assert status == 404
    async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@trade"):
        client = next(iter(sim.sim.streams.clients))
        assert type(client.outbox) is Outbox


async def test_trade_sent_and_order_received(
    session: aiohttp.ClientSession, traced: SimulatorHandle
) -> None:
    api = Api(session, traced)
    before = time.time_ns()
    async with session.ws_connect(f"{traced.ws_url}/stream?streams=xrpusdt@trade") as ws:
        assert isinstance(next(iter(traced.sim.streams.clients)).outbox, TracedOutbox)
        await api.trade("0.6")
        frame = await ws.receive_json()
    trade_id = frame["data"]["t"]
    status, _, _ = await api.order(newClientOrderId="cid-1")
    assert status == 200
    latency = await api.sim_get("latency")
    assert latency["trades_stamped"] == 1 and latency["orders_forgotten"] == 0
    received = latency["orders"]["cid-1"]
    status, body = await api.sim_post(
        "latency", {"trades": [["XRPUSDT", trade_id], ["XRPUSDT", trade_id + 1], ["ETHUSDT", 1],
                               ["NOPE", 1], "junk", ["XRPUSDT", True]]}
    )  # fmt: skip
    assert status == 200
    sent, *others = body["sent"]
    assert others == [None] * 5
    assert before <= sent <= received <= time.time_ns()
    status, body = await api.sim_post("latency", {"trades": "XRPUSDT"})
    assert status == 400


def test_the_trace_is_bounded() -> None:
    trace = LatencyTrace(["XRPUSDT", "ETHUSDT"], capacity=8, order_capacity=2)
    assert trace.slots == 4

    def trade(trade_id: int) -> TradeEvent:
        return TradeEvent("XRPUSDT", trade_id, D(1), D(1), 0)

    for trade_id in range(1, 7):
        trace.trade_sent(trade(trade_id))
    trace.trade_sent(trade(6))  # a second connection's write: the first one counts
    assert [trace.sent_at("XRPUSDT", i) is not None for i in range(1, 7)] == [
        False, False, True, True, True, True,
    ]  # fmt: skip
    assert trace.trades_stamped == 6 and trace.sent_at("ETHUSDT", 3) is None
    trace.trade_sent(TradeEvent("DOGEUSDT", 1, D(1), D(1), 0))  # not served: ignored
    for cid, at in (("a", 1), ("a", 5), ("b", 2), ("c", 3)):
        trace.order_received(cid, at)
    assert trace.orders == {"b": 2, "c": 3} and trace.orders_forgotten == 1
    with pytest.raises(ValueError):
        LatencyTrace(["XRPUSDT"], capacity=0)
