"""End to end over loopback: a live node trades against the local simulator through the real
Binance client, streamer and user data stream — and survives the simulator's faults."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from hedgehog.config import Settings
from hedgehog.core.errors import AuthenticationError
from hedgehog.live.node import LiveNode
from hedgehog.naive.context import leader_name
from hedgehog.naive.settings import TradingSettings
from hedgehog.simulator import SimulatorHandle, start_simulator
from hedgehog.streamer.options import ConnectionOptions
from tests.helpers import eventually

SYMBOL = "XRPUSDT"
FAST = ConnectionOptions(backoff_base=0.05, backoff_max=0.2, connect_timeout=2.0)


class Rig:
    def __init__(self, sim: SimulatorHandle, node: LiveNode, http: aiohttp.ClientSession):
        self.sim, self.node, self.http = sim, node, http

    async def trade(self, price: str, qty: str = "5") -> None:
        async with self.http.post(
            f"{self.sim.url}/_sim/trade", json={"symbol": SYMBOL, "price": price, "qty": qty}
        ) as resp:
            assert resp.status == 200, await resp.text()

    async def fault(self, **fault: Any) -> None:
        async with self.http.post(f"{self.sim.url}/_sim/faults", json=fault) as resp:
            assert resp.status == 200, await resp.text()

    async def ledger(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.sim.url}/_sim/ledger") as resp:
            orders: list[dict[str, Any]] = (await resp.json())["orders"]
            return orders

    def traders(self) -> list[Any]:
        leader = self.node.rt.whereis(leader_name(SYMBOL))
        return [s.pid for s in leader.slots.values()] if leader is not None else []  # type: ignore[attr-defined]

    def first(self, what: str) -> Any:
        """A field of the first trader's info() ({} while there is none), e.g. "buy"."""
        traders = self.traders()
        value = traders[0].info().get(what) if traders else None
        return value if value is not None else {}

    def streaming(self) -> bool:
        conns = self.node.streamer.status().get("connections", {})
        return any(c.get("connected") and c.get("streams") for c in conns.values())

    def user_stream_up(self) -> bool:
        router = self.node.rt.whereis("exchange.fills")
        return router is not None and bool(router.info()["user_stream_connected"])


def settings_for(sim: SimulatorHandle, secret: str | None = None) -> Settings:
    return Settings(
        exchange="binance",
        rest_url=sim.url,
        stream_url=sim.ws_url,
        ws_api_url=sim.ws_api_url,
        binance_api_key=sim.api_key,  # type: ignore[arg-type]
        binance_api_secret=secret or sim.api_secret,  # type: ignore[arg-type]
    )


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    sim = await start_simulator(symbols=[SYMBOL])
    node = await LiveNode.create(
        settings_for(sim),
        trader_prefix="t",
        stream_options=FAST,
        rest_timeout=1.0,
        retry_seconds=0.2,
        poll_interval=0.3,
    )
    http = aiohttp.ClientSession()
    try:
        await node.start()
        await node.start_trading(SYMBOL, TradingSettings(SYMBOL, chunks=5, budget=Decimal(100)))
        r = Rig(sim, node, http)
        await eventually(r.streaming)
        await eventually(r.user_stream_up)
        yield r
    finally:
        await node.stop()
        await http.close()
        await sim.close()


def by_side(ledger: list[dict[str, Any]], side: str) -> list[dict[str, Any]]:
    return [o for o in ledger if o["side"] == side]


async def test_a_full_cycle_over_real_sockets(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await rig.trade("1.0000")
    await eventually(lambda: rig.first("buy").get("status") == "NEW")
    ledger = await rig.ledger()
    assert [o["price"] for o in by_side(ledger, "BUY")] == ["0.9999"]
    await rig.trade("0.9999", qty="5")  # fills 5 of the buy's 20 (volume fills, as Binance)
    await eventually(lambda: rig.first("buy").get("status") == "PARTIALLY_FILLED")
    assert rig.first("sell") == {}
    await rig.trade("0.9999", qty="100")  # fills the rest: the sell follows at once
    await eventually(lambda: rig.first("sell").get("status") == "NEW")
    sell = rig.first("sell")
    assert Decimal(sell["price"]) > Decimal("0.9999")
    # the commission was taken from the XRP bought (20 * 0.001): the sell is for the rest
    assert Decimal(sell["quantity"]) == Decimal("19.9")
    await rig.trade("1.0100", qty="100")  # fills the sell: the cycle completes, a fresh trader
    await eventually(lambda: rig.node.naive.ctx.traders_started[SYMBOL] == 2)
    await rig.trade("1.0100")
    await eventually(lambda: len(rig.traders()) == 1 and rig.first("buy"))
    ledger = await rig.ledger()
    statuses = sorted((o["side"], o["status"]) for o in ledger)
    assert ("BUY", "FILLED") in statuses and ("SELL", "FILLED") in statuses
    cids = [o["clientOrderId"] for o in ledger]
    assert len(cids) == len(set(cids))
    secret, key = rig.sim.api_secret, rig.sim.api_key
    assert secret not in caplog.text and key not in caplog.text


async def test_stream_dropped_then_trading_goes_on(rig: Rig) -> None:
    await rig.fault(drop_streams=True)
    await eventually(
        lambda: any(
            c.get("reconnects", 0) >= 1 and c.get("connected")
            for c in rig.node.streamer.status()["connections"].values()
        )
    )
    await rig.trade("1.0000")
    await eventually(lambda: rig.first("buy"))
    assert len(by_side(await rig.ledger(), "BUY")) == 1


async def test_order_accepted_then_timed_out_is_not_duplicated(rig: Rig) -> None:
    await rig.fault(timeout_next_orders=1)
    await rig.trade("1.0000")  # the buy is executed by the simulator, its answer never comes
    # the client times out (1 s), the trader resolves the unknown outcome by querying
    await eventually(lambda: rig.first("buy").get("order_id"), 10)
    await asyncio.sleep(0.5)  # give a wrong retry a chance to show up
    buys = by_side(await rig.ledger(), "BUY")
    assert len(buys) == 1
    assert rig.first("buy")["order_id"] == buys[0]["orderId"]


async def test_rate_limited_order_backs_off_then_places(rig: Rig) -> None:
    await rig.fault(http_429_next=1, retry_after=1)
    await rig.trade("1.0000")
    await eventually(lambda: rig.first("buy").get("order_id"), 10)
    assert len(by_side(await rig.ledger(), "BUY")) == 1


async def test_malformed_frames_are_skipped(rig: Rig) -> None:
    await rig.fault(malformed_frames=3)
    await rig.trade("1.0000")
    await eventually(lambda: rig.first("buy"))
    conns = rig.node.streamer.status()["connections"].values()
    await eventually(lambda: sum(c.get("malformed", 0) for c in conns) >= 1)


async def test_bad_signature_is_a_clear_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sim = await start_simulator(symbols=[SYMBOL])
    wrong = "x" * 64
    try:
        with pytest.raises(AuthenticationError) as info:
            await LiveNode.create(settings_for(sim, secret=wrong), trader_prefix="t")
    finally:
        await sim.close()
    assert "signature" in str(info.value).lower()
    assert wrong not in str(info.value) and wrong not in caplog.text
