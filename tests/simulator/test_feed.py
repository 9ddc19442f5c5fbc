"""The market feed: recorded and synthetic trades, pace, pause/resume and backpressure."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from decimal import Decimal
from typing import Any

import aiohttp
import numpy as np
import pytest

from hedgehog.core.decimals import floor_to
from hedgehog.core.types import TradeEvent
from hedgehog.market.loaders import load_trades
from hedgehog.market.synthetic import synthetic_trades
from hedgehog.market.tables import TradeTable
from hedgehog.simulator import start_simulator
from hedgehog.simulator.feed import (
    Replayer,
    recorded_source,
    synthetic_source,
    synthetic_walk,
)
from tests.conftest import shared_data_dir

from .conftest import Api


def small_receive_buffer(addr_info: Any) -> socket.socket:
    """A client socket with a tiny receive buffer, so that the server's send side fills up."""
    family, kind, proto, _, _ = addr_info
    sock = socket.socket(family=family, type=kind, proto=proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


def table(symbol: str, times: list[int], first_id: int = 1) -> TradeTable:
    n = len(times)
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    prices = np.arange(1, n + 1, dtype=np.int64) * 10**6
    return TradeTable(symbol, ids, prices, np.full(n, 10**8), np.array(times), np.zeros(n, bool))


def test_recorded_source_merges_symbols_in_time_order() -> None:
    a = table("AAAUSDT", [1000, 1000, 3000])
    b = table("BBBUSDT", [500, 2000], first_id=10)
    got = [(offset, t.symbol, t.trade_id) for offset, t in recorded_source([a, b])]
    assert got == [(0.0, "BBBUSDT", 10), (0.5, "AAAUSDT", 1), (0.5, "AAAUSDT", 2),
                   (1.5, "BBBUSDT", 11), (2.5, "AAAUSDT", 3)]  # fmt: skip


def test_synthetic_market_is_deterministic_and_continuous() -> None:
    def take(seed: int, n: int) -> list[tuple[float, str, int, str]]:
        source = synthetic_source(["XRPUSDT", "ETHUSDT"], seed, chunk=100)
        return [(o, t.symbol, t.trade_id, str(t.price)) for o, t in itertools.islice(source, n)]

    assert take(7, 500) == take(7, 500)
    assert take(7, 500) != take(8, 500)
    first = take(7, 4)
    assert [f[:3] for f in first] == [(0.0, "XRPUSDT", 1), (0.0, "ETHUSDT", 1),
                                      (0.1, "XRPUSDT", 2), (0.1, "ETHUSDT", 2)]  # fmt: skip
    # chunk 0 is synthetic_trades itself; ids and prices continue across chunks
    walk = list(itertools.islice(synthetic_walk("XRPUSDT", 7, chunk=100), 300))
    chunk0 = synthetic_trades("XRPUSDT", 100, 7)
    assert [t.price for t in walk[:100]] == [t.price for t in chunk0.events()]
    assert [t.trade_id for t in walk] == list(range(1, 301))
    steps = [abs(b.price - a.price) for a, b in itertools.pairwise(walk)]
    assert max(steps) < walk[0].price * 2 / 100


async def test_replay_at_speed_zero_publishes_every_trade_in_order(
    session: aiohttp.ClientSession,
) -> None:
    recorded = synthetic_trades("XRPUSDT", 5_000, 3)
    sim = await start_simulator(tables=[recorded], speed=0, paused=True)
    try:
        api = Api(session, sim)
        async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@trade") as ws:
            assert (await api.sim_post("resume"))[0] == 200
            got = [await ws.receive_json() for _ in range(len(recorded))]
        await sim.replay_done()
        assert [t["t"] for t in got] == recorded.trade_id.tolist()
        assert [t["p"] for t in got] == [format(e.price, "f") for e in recorded.events()]
        stats = await api.sim_get("stats")
        assert stats["trades_replayed"] == 5_000 and stats["feed_done"] is True
        assert stats["last_price"]["XRPUSDT"] == format(recorded.price_decimal(4_999), "f")
    finally:
        await sim.close()


async def test_replay_keeps_the_recorded_pace_times_speed() -> None:
    """Each trade is published when its recorded offset / speed is due, on a virtual clock."""
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds
        await asyncio.sleep(0)

    published: list[tuple[int, float]] = []
    source = recorded_source([table("XRPUSDT", [0, 1000, 2000, 3000])])  # 3 s of trades
    replayer = Replayer(
        source, 20, lambda t: published.append((t.trade_id, now[0])), clock=lambda: now[0],
        sleep=sleep,
    )  # fmt: skip
    replayer.start()
    await asyncio.wait_for(replayer.done.wait(), 10)
    assert [i for i, _ in published] == [1, 2, 3, 4]
    assert [at - 100.0 for _, at in published] == pytest.approx([0, 0.05, 0.1, 0.15])
    assert sum(slept) == pytest.approx(0.15)  # it waited, never sped ahead


async def test_the_simulator_replays_at_its_speed() -> None:
    recorded = table("XRPUSDT", [0, 1000, 2000, 3000])  # 3 s of trades, 0.15 s at speed 20
    sim = await start_simulator(tables=[recorded], speed=20)
    try:
        start = time.perf_counter()
        await asyncio.wait_for(sim.replay_done(), 10)
        assert time.perf_counter() - start >= 0.14  # paced (a lower bound: load cannot break it)
        assert sim.stats()["trades_replayed"] == 4
    finally:
        await sim.close()


async def test_pause_and_resume(session: aiohttp.ClientSession) -> None:
    sim = await start_simulator(synthetic=["XRPUSDT"], speed=100, seed=5)  # 1000 trades/s
    try:
        api = Api(session, sim)
        async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@trade") as ws:
            await ws.receive_json()
            assert (await api.sim_post("pause"))[1] == {"paused": True}
            frozen = sim.stats()["trades_replayed"]
            for _ in range(20):  # the event loop turns; nothing is replayed
                assert (await api.sim_get("stats"))["trades_replayed"] == frozen
            assert sim.stats()["paused"] is True
            await api.sim_post("resume")
            while sim.stats()["trades_replayed"] == frozen:
                await ws.receive_json()
            assert sim.stats()["paused"] is False
    finally:
        await sim.close()


async def test_replayer_pause_is_immediate() -> None:
    published: list[TradeEvent] = []
    source = synthetic_source(["XRPUSDT"], 1)
    replayer = Replayer(source, 0, published.append, batch=10, paused=True)
    replayer.start()
    for _ in range(5):
        await asyncio.sleep(0)
    assert published == []
    replayer.resume()
    while len(published) < 50:
        await asyncio.sleep(0)
    replayer.pause()
    count = len(published)
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(published) == count
    await replayer.stop()
    assert replayer.done.is_set()


async def test_a_slow_client_is_dropped() -> None:
    recorded = synthetic_trades("XRPUSDT", 30_000, 3)
    sim = await start_simulator(tables=[recorded], speed=0, paused=True, queue_limit=100)
    connector = aiohttp.TCPConnector(socket_factory=small_receive_buffer)
    try:
        async with (
            aiohttp.ClientSession(connector=connector) as slow,
            aiohttp.ClientSession() as ok,
        ):
            stuck = await slow.ws_connect(f"{sim.ws_url}/ws/xrpusdt@trade")  # never reads
            sim.sim.replayer.resume()  # type: ignore[union-attr]
            await sim.replay_done()
            stats = sim.stats()
            assert stats["dropped_clients"] == 1 and stats["trades_replayed"] == 30_000
            msg = await stuck.receive(timeout=5)
            while msg.type is aiohttp.WSMsgType.TEXT:
                msg = await stuck.receive(timeout=5)
            assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
            async with ok.get(f"{sim.url}/_sim/stats") as resp:
                assert (await resp.json())["dropped_clients"] == 1
    finally:
        await sim.close()


async def test_waiting_for_slow_clients_instead() -> None:
    recorded = synthetic_trades("XRPUSDT", 5_000, 3)
    sim = await start_simulator(
        tables=[recorded], speed=0, paused=True, queue_limit=100, wait_for_clients=5.0
    )
    connector = aiohttp.TCPConnector(socket_factory=small_receive_buffer)
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@trade") as ws:
                sim.sim.replayer.resume()  # type: ignore[union-attr]
                got = []
                for _ in range(len(recorded)):
                    got.append((await ws.receive_json())["t"])
                    if len(got) % 1000 == 0:
                        await asyncio.sleep(0.01)  # a slow reader
            assert got == recorded.trade_id.tolist()
            assert sim.stats()["dropped_clients"] == 0
    finally:
        await sim.close()


@pytest.mark.shared_data
async def test_a_real_day_fills_an_order_at_the_real_tick(session: aiohttp.ClientSession) -> None:
    data = shared_data_dir("XRPUSDT-trades-2019-05-25.zip", "exchangeInfo.json")
    day = load_trades(data / "XRPUSDT-trades-2019-05-25.zip").table()
    sim = await start_simulator(
        tables=[day], exchange_info=data / "exchangeInfo.json", speed=0, paused=True
    )
    try:
        api = Api(session, sim)
        _, info, _ = await api.get("/api/v3/exchangeInfo")
        assert [s["symbol"] for s in info["symbols"]] == ["XRPUSDT"]
        low = min(e.price for e in day.events())
        price = format(floor_to(low + Decimal("0.0005"), Decimal("0.0001")), "f")
        status, body, _ = await api.order(price=price, quantity="100", newClientOrderId="real")
        assert status == 200, body
        status, body, _ = await api.order(price="0.38001", newClientOrderId="x")
        assert (status, body["msg"]) == (400, "Filter failure: PRICE_FILTER")
        await api.sim_post("resume")
        await sim.replay_done()
        assert sim.stats()["trades_replayed"] == len(day)
        _, order, _ = await api.signed(
            "GET", "/api/v3/order", symbol="XRPUSDT", origClientOrderId="real"
        )
        assert order["status"] == "FILLED" and order["executedQty"] == "100"
    finally:
        await sim.close()
