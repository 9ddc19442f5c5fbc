"""The dashboard's test rig: the local simulator (a quiet market: trades only when a test posts
them, stamped by a clock the test moves ahead), a node trading XRPUSDT through it over loopback,
and the control API with the dashboard's routes (fast intervals), as `hedgehog run` serves them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from hedgehog.config import Settings
from hedgehog.control.server import build_app, serve
from hedgehog.core.decimals import fmt
from hedgehog.core.types import TradeEvent
from hedgehog.dashboard import Dashboard
from hedgehog.live.node import LiveNode
from hedgehog.market.bars import Bar, BarAggregator
from hedgehog.naive.context import leader_name
from hedgehog.naive.settings import TradingSettings
from hedgehog.simulator import SimulatorHandle, start_simulator
from hedgehog.simulator.market import wall_clock_ms
from hedgehog.store import Database
from tests.helpers import eventually
from tests.live.test_live_e2e import FAST

TOKEN = "dashboard-test-token"
SYMBOL = "XRPUSDT"


class Rig:
    def __init__(
        self,
        sim: SimulatorHandle,
        node: LiveNode,
        dashboard: Dashboard,
        runner: web.AppRunner,
        url: str,
        http: aiohttp.ClientSession,
    ) -> None:
        self.sim, self.node, self.dashboard = sim, node, dashboard
        self.runner, self.url, self.http = runner, url, http
        self.ahead_ms = 0
        sim.market.now_ms = lambda: wall_clock_ms() + self.ahead_ms

    def next_second(self) -> None:
        """Move the simulator's trade clock a second ahead: the next trade falls in a later
        second of trade time (a new 1 s price bar, a new PnL point: the observer samples PnL
        once a second of trade time), without the test sleeping a second."""
        self.ahead_ms += 1_050

    async def trades_made(self, symbol: str = SYMBOL) -> list[TradeEvent]:
        """The symbol's public trades as the simulator made and streamed them."""
        async with self.http.get(
            f"{self.sim.url}/api/v3/trades", params={"symbol": symbol, "limit": "1000"}
        ) as resp:
            assert resp.status == 200, await resp.text()
            rows = await resp.json()
        return [
            TradeEvent(
                symbol,
                t["id"],
                Decimal(t["price"]),
                Decimal(t["qty"]),
                t["time"],
                t["isBuyerMaker"],
            )
            for t in rows
        ]

    async def bars_of_trades(self, interval: str, symbol: str = SYMBOL) -> list[list[Any]]:
        """`BarAggregator`'s bars of the trades made (the open one last), as the dashboard's
        rows: [open time, open, high, low, close]."""
        aggregator = BarAggregator(symbol, interval)
        bars: list[Bar] = []
        for trade in await self.trades_made(symbol):
            bars += aggregator.add(trade)
        last = aggregator.flush()
        bars += [last] if last is not None else []
        return [[b.open_time, fmt(b.open), fmt(b.high), fmt(b.low), fmt(b.close)] for b in bars]

    @property
    def page_url(self) -> str:
        return f"{self.url}/?token={TOKEN}"

    async def trade(self, price: str, qty: str = "5", symbol: str = SYMBOL) -> None:
        async with self.http.post(
            f"{self.sim.url}/_sim/trade", json={"symbol": symbol, "price": price, "qty": qty}
        ) as resp:
            assert resp.status == 200, await resp.text()

    async def ledger(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.sim.url}/_sim/ledger") as resp:
            orders: list[dict[str, Any]] = (await resp.json())["orders"]
            return orders

    async def get(self, path: str, token: str | None = TOKEN) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        async with self.http.get(self.url + path, headers=headers) as resp:
            return resp.status, await resp.json(content_type=None)

    def leader(self) -> Any:
        return self.node.rt.whereis(leader_name(SYMBOL))

    def first_trader(self) -> Any:
        leader = self.leader()
        slots = list(leader.slots.values()) if leader is not None else []
        return slots[0].pid if slots else None

    def first(self, what: str) -> Any:
        trader = self.first_trader()
        value = trader.info().get(what) if trader is not None else None
        return value if value is not None else {}


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    sim = await start_simulator(symbols=[SYMBOL, "ETHUSDT"])
    settings = Settings(
        exchange="binance",
        rest_url=sim.url,
        stream_url=sim.ws_url,
        ws_api_url=sim.ws_api_url,
        binance_api_key=sim.api_key,  # type: ignore[arg-type]
        binance_api_secret=sim.api_secret,  # type: ignore[arg-type]
        data_dir=tmp_path,
    )
    db = Database(None, tmp_path)
    await db.migrate()
    node = await LiveNode.create(
        settings, db=db, trader_prefix="t", stream_options=FAST, poll_interval=0.3
    )
    dashboard = Dashboard(node, interval=0.1, balance_seconds=0.2, max_clients=3)
    http = aiohttp.ClientSession()
    runner = None
    try:
        await node.start()
        await node.start_trading(SYMBOL, TradingSettings(SYMBOL, chunks=5, budget=Decimal(100)))
        runner, url = await serve(build_app(node, TOKEN, routes=dashboard.routes()))
        r = Rig(sim, node, dashboard, runner, url, http)

        def streaming() -> bool:
            conns = node.streamer.status().get("connections", {})
            return any(c.get("connected") and c.get("streams") for c in conns.values())

        await eventually(streaming)
        router = node.rt.whereis("exchange.fills")
        await eventually(lambda: router is not None and router.info()["user_stream_connected"])
        await eventually(r.first_trader)
        await node.rt.quiesce()  # the trader has recovered and listens to the trades
        yield r
    finally:
        await http.close()
        if runner is not None:
            await runner.cleanup()
        await node.stop()
        await sim.close()
