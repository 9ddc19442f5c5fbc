"""A streamer node and a trading node exchange trades over NATS, as in the book's later
chapters: the streamer node streams the simulator's trades and publishes them; the trading node
opens no stream of its own, follows them over NATS, and its naive traders place their orders on
the simulator (fills still come to it from its own user stream)."""

from __future__ import annotations

import logging
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from hedgehog.config import Settings
from hedgehog.core.errors import ConfigError
from hedgehog.core.types import trade_topic
from hedgehog.live.node import LiveNode
from hedgehog.naive.context import leader_name
from hedgehog.naive.settings import TradingSettings
from hedgehog.simulator import start_simulator
from tests.helpers import eventually
from tests.live.nats_support import nats_url, needs_nats
from tests.live.test_live_e2e import FAST, settings_for

SYMBOL = "XRPUSDT"
OPTIONS: dict[str, Any] = {"stream_options": FAST, "rest_timeout": 1.0, "poll_interval": 0.3}


def first(node: LiveNode, what: str) -> dict[str, Any]:
    leader = node.rt.whereis(leader_name(SYMBOL))
    slots = list(leader.slots.values()) if leader is not None else []  # type: ignore[attr-defined]
    value = slots[0].pid.info().get(what) if slots else None
    return value or {}


@needs_nats
async def test_a_streamer_node_and_a_trading_node_exchange_trades_over_nats(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    sim = await start_simulator(symbols=[SYMBOL])
    url = nats_url()
    streamer = await LiveNode.create(settings_for(sim), pubsub_url=url, **OPTIONS)
    trader = await LiveNode.create(
        settings_for(sim), pubsub_url=url, trades_from="nats", trader_prefix="t", **OPTIONS
    )
    http = aiohttp.ClientSession()
    try:
        await streamer.start()
        await trader.start()
        await streamer.streamer.start_streaming(SYMBOL)
        await trader.start_trading(SYMBOL, TradingSettings(SYMBOL, chunks=5, budget=Decimal(100)))
        assert trader.nats is not None and streamer.nats is not None
        assert trader.nats.following() == [trade_topic(SYMBOL)]
        assert trader.streamer.streaming() == []  # no stream of its own

        def streaming() -> bool:
            conns = streamer.streamer.status().get("connections", {})
            return any(c.get("connected") and c.get("streams") for c in conns.values())

        await eventually(streaming, what="the streamer node's stream is up")
        await eventually(
            lambda: trader.rt.whereis("exchange.fills").info()["user_stream_connected"]  # type: ignore[union-attr]
        )
        async with http.post(
            f"{sim.url}/_sim/trade", json={"symbol": SYMBOL, "price": "1.0000", "qty": "5"}
        ) as resp:
            assert resp.status == 200, await resp.text()
        # the trade crossed NATS and the trading node's trader bought below it, on the simulator
        await eventually(lambda: first(trader, "buy").get("status") == "NEW")
        async with http.get(f"{sim.url}/_sim/ledger") as resp:
            orders = (await resp.json())["orders"]
        assert [(o["side"], o["price"]) for o in orders] == [("BUY", "0.9999")]
        assert streamer.nats.stats.published >= 1 and trader.nats.stats.received >= 1
        assert (trader.nats.stats.lost, trader.nats.stats.bad) == (0, 0)
        assert streamer.naive.ctx.status == {}  # the streamer node trades nothing
        assert trader.health() == (True, None) and streamer.health() == (True, None)
    finally:
        await trader.stop()
        await streamer.stop()
        await http.close()
        await sim.close()


async def test_trades_from_nats_need_a_nats_url() -> None:
    with pytest.raises(ConfigError, match="--pubsub"):
        await LiveNode.create(Settings(), trades_from="nats")
    with pytest.raises(ConfigError, match="exchange or nats"):
        await LiveNode.create(Settings(), trades_from="redis")


def test_health_says_degraded_while_nats_is_away() -> None:
    root = SimpleNamespace(alive=True)
    node = SimpleNamespace(root_exit=None, node=SimpleNamespace(root=root), nats=None)
    assert LiveNode.health(node) == (True, None)  # type: ignore[arg-type]
    node.nats = SimpleNamespace(connected=False)
    assert LiveNode.health(node) == (True, "degraded: NATS disconnected")  # type: ignore[arg-type]
    node.nats.connected = True
    assert LiveNode.health(node) == (True, None)  # type: ignore[arg-type]
    root.alive = False
    assert LiveNode.health(node) == (False, "root supervisor not running")  # type: ignore[arg-type]
