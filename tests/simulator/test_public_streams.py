"""The aggTrade, kline, bookTicker and partial depth streams, and that they cost nothing unused."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import aiohttp
import pytest

from hedgehog.core.types import TradeEvent
from hedgehog.simulator import SimulatorHandle, market_streams
from hedgehog.simulator.market_streams import MarketStreams
from tests.helpers import eventually

from .conftest import Api

T0 = 1_700_000_100_000  # a whole minute


class Clock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def streams(sim: SimulatorHandle) -> MarketStreams:
    return sim.sim.public.streams


def trade(sim: SimulatorHandle, price: str, qty: str = "1", maker: bool = False) -> TradeEvent:
    return sim.market.process_trade(TradeEvent("XRPUSDT", 0, D(price), D(qty), 0, maker))[0]


async def receive(ws: aiohttp.ClientWebSocketResponse) -> Any:
    return await ws.receive_json(timeout=5)


async def test_agg_trade_stream(session: aiohttp.ClientSession, sim: SimulatorHandle) -> None:
    async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@aggTrade") as ws:
        event = trade(sim, "0.6", "2.5", maker=True)
        frame = await receive(ws)
    assert frame == {"e": "aggTrade", "E": event.event_time, "s": "XRPUSDT", "a": event.trade_id,
                     "p": "0.60000000", "q": "2.50000000", "f": event.trade_id,
                     "l": event.trade_id, "T": event.trade_time, "m": True, "M": True}  # fmt: skip


async def test_kline_stream(session: aiohttp.ClientSession, sim: SimulatorHandle) -> None:
    clock = sim.market.now_ms = Clock()  # type: ignore[method-assign]
    trade(sim, "0.5", "10")  # before the subscription: part of the kline all the same
    async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@kline_1m") as ws:
        clock.now = T0 + 1_000
        trade(sim, "0.7", "2", maker=True)
        first = await receive(ws)
        assert first["e"] == "kline" and first["s"] == "XRPUSDT"
        assert first["k"] == {
            "t": T0, "T": T0 + 59_999, "s": "XRPUSDT", "i": "1m", "f": 1, "L": 2,
            "o": "0.50000000", "c": "0.70000000", "h": "0.70000000", "l": "0.50000000",
            "v": "12.00000000", "n": 2, "x": False, "q": "6.40000000", "V": "10.00000000",
            "Q": "5.00000000", "B": "0",
        }  # fmt: skip
        clock.now = T0 + 30_000
        streams(sim).tick()  # not over yet: nothing
        trade(sim, "0.4")
        assert (await receive(ws))["k"]["l"] == "0.40000000"
        clock.now = T0 + 60_000
        streams(sim).tick()  # the period is over: the final kline, x true
        final = (await receive(ws))["k"]
        assert (final["x"], final["n"], final["c"]) == (True, 3, "0.40000000")
        clock.now = T0 + 61_000
        trade(sim, "0.45")
        following = (await receive(ws))["k"]
        assert (following["t"], following["x"], following["o"]) == (
            T0 + 60_000,
            False,
            "0.45000000",
        )
        clock.now = T0 + 125_000
        trade(sim, "0.5")  # the next period's first trade closes the previous one first
        closed, opened = (await receive(ws))["k"], (await receive(ws))["k"]
        assert (closed["t"], closed["x"]) == (T0 + 60_000, True)
        assert (opened["t"], opened["x"], opened["n"]) == (T0 + 120_000, False, 1)


async def test_book_ticker_stream(
    session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api
) -> None:
    async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@bookTicker") as ws:
        trade(sim, "0.6", "1")
        first = await receive(ws)
        assert first == {"u": first["u"], "s": "XRPUSDT", "b": "0.59990000", "B": "4.00000000",
                         "a": "0.60000000", "A": "1.00000000"}  # fmt: skip
        status, order, _ = await api.order(price="0.5999", quantity="10")
        assert status == 200, order
        streams(sim).tick()  # the resting order changed the best bid's size
        second = await receive(ws)
        assert (second["b"], second["B"]) == ("0.59990000", "14.00000000")
        assert second["u"] > first["u"]


async def test_partial_depth_stream_on_the_timer(
    session: aiohttp.ClientSession, sim: SimulatorHandle
) -> None:
    async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@depth5@100ms") as ws:
        trade(sim, "0.6", "2")
        data = await receive(ws)  # pushed by the server's own 100 ms timer
        while not data["asks"]:  # a tick may have come before the trade
            data = await receive(ws)
    assert set(data) == {"lastUpdateId", "bids", "asks"}
    assert len(data["bids"]) == len(data["asks"]) == 5
    assert data["asks"][0] == ["0.60000000", "2.00000000"]
    assert D(data["bids"][0][0]) < D(data["asks"][0][0])


async def test_partial_depth_speeds(
    session: aiohttp.ClientSession, sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(market_streams, "TICK", 3600.0)  # ticks by hand only
    url = f"{sim.ws_url}/stream?streams=xrpusdt@depth5@100ms/xrpusdt@depth10/xrpusdt@depth20"
    async with session.ws_connect(url) as ws:
        trade(sim, "0.6", "2")
        hub = streams(sim)
        for _ in range(10):
            hub.tick()
        frames = [await receive(ws) for _ in range(12)]
    names = [f["stream"] for f in frames]
    assert names.count("xrpusdt@depth5@100ms") == 10  # every tick (100 ms)
    assert names.count("xrpusdt@depth10") == names.count("xrpusdt@depth20") == 1  # 1000 ms
    sizes = {f["stream"]: len(f["data"]["bids"]) for f in frames}
    assert sizes == {"xrpusdt@depth5@100ms": 5, "xrpusdt@depth10": 10, "xrpusdt@depth20": 20}


async def test_subscribe_list_and_refuse(
    session: aiohttp.ClientSession, sim: SimulatorHandle
) -> None:
    async with session.ws_connect(f"{sim.ws_url}/ws") as ws:
        names = ["xrpusdt@kline_1M", "ethusdt@depth20@100ms", "xrpusdt@bookTicker"]
        await ws.send_json({"method": "SUBSCRIBE", "params": names, "id": 1})
        assert await receive(ws) == {"result": None, "id": 1}
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 2})
        assert await receive(ws) == {"result": sorted(names), "id": 2}
        for bad in ("xrpusdt@kline_2m", "xrpusdt@depth7", "xrpusdt@bookticker"):
            await ws.send_json({"method": "SUBSCRIBE", "params": [bad], "id": 3})
            assert (await receive(ws))["code"] == 2
        assert set(streams(sim).watched) == {"XRPUSDT", "ETHUSDT"}


async def test_unused_streams_cost_nothing(
    session: aiohttp.ClientSession, sim: SimulatorHandle
) -> None:
    hub = streams(sim)
    async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@trade") as ws:
        trade(sim, "0.6")
        assert (await receive(ws))["e"] == "trade"
        assert hub.watched == {} and hub._timer is None  # trade subscribers only: no timer
        await ws.send_json({"method": "SUBSCRIBE", "params": ["xrpusdt@depth5"], "id": 1})
        assert await receive(ws) == {"result": None, "id": 1}
        assert hub._timer is not None
    await eventually(lambda: not hub.watched, what="the server noticing the close")
    assert hub.watched == {} and hub._timer is None
