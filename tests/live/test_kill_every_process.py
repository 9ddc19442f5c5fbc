"""Supervision as OTP means it, on a running node: kill each named process of the live tree in
turn and the same symbols trade again within seconds (a crossing trade fills a buy, then its
sell), with no order duplicated or lost (the simulator's ledger against the node's store).
Killing the root stops the node: `LiveNode` reports it and `hedgehog run` exits non-zero with
one line."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import warnings
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hedgehog.control.host import running_node
from hedgehog.control.server import build_app, serve
from hedgehog.dashboard import snapshot as dashboard
from hedgehog.live.node import LiveNode, NodeCrashed
from hedgehog.naive.context import leader_name
from hedgehog.naive.settings import TradingSettings
from hedgehog.runtime import Process
from hedgehog.simulator import SimulatorHandle, start_simulator
from hedgehog.store import Database, OrderRepo
from tests.helpers import eventually
from tests.live.test_live_e2e import FAST, settings_for

SYMBOLS = ("XRPUSDT", "ADAUSDT")


def trading(symbol: str) -> TradingSettings:
    return TradingSettings(
        symbol,
        chunks=2,
        budget=Decimal(100),
        buy_down_interval=Decimal("0.001"),
        profit_interval=Decimal("0.001"),
    )


class Rig:
    def __init__(self, sim: SimulatorHandle, node: LiveNode, http: aiohttp.ClientSession):
        self.sim, self.node, self.http = sim, node, http
        self.step = 0
        self.last = dict.fromkeys(SYMBOLS, "1.0000")

    async def ledger(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.sim.url}/_sim/ledger") as resp:
            orders: list[dict[str, Any]] = (await resp.json())["orders"]
            return orders

    async def sells_filled(self, symbol: str) -> int:
        return sum(
            1
            for o in await self.ledger()
            if o["symbol"] == symbol and o["side"] == "SELL" and o["status"] == "FILLED"
        )

    async def next_price(self, symbol: str) -> str:
        """A trade price that crosses what is open: every open buy (at the lowest buy's
        price), or every open sell (at the highest), in turn; the last price when nothing is
        open, so that fresh traders place their buys."""
        open_orders = [
            o
            for o in await self.ledger()
            if o["symbol"] == symbol and o["status"] in ("NEW", "PARTIALLY_FILLED")
        ]
        buys = [o["price"] for o in open_orders if o["side"] == "BUY"]
        sells = [o["price"] for o in open_orders if o["side"] == "SELL"]
        self.step += 1
        if sells and (self.step % 2 or not buys):
            self.last[symbol] = max(sells, key=Decimal)
        elif buys:
            self.last[symbol] = min(buys, key=Decimal)
        return self.last[symbol]

    async def trades_again(self, symbol: str, after: str = "start", timeout: float = 20.0) -> None:
        """A whole cycle completes on `symbol` from now: one more sell filled."""
        before = await self.sells_filled(symbol)

        async def crossed() -> bool:
            body = {"symbol": symbol, "price": await self.next_price(symbol), "qty": "1000"}
            async with self.http.post(f"{self.sim.url}/_sim/trade", json=body) as resp:
                assert resp.status == 200, await resp.text()
            return await self.sells_filled(symbol) > before

        await eventually(crossed, timeout, f"{symbol} trades again after {after}", interval=0.1)

    async def books_agree(self) -> bool:
        """No order duplicated (one exchange order per client id) or lost (every exchange
        order in the store with the exchange's status, every placed store order on the
        exchange)."""
        ledger = await self.ledger()
        ids = [o["clientOrderId"] for o in ledger]
        assert len(ids) == len(set(ids)), "an order was placed twice"
        assert self.node.db is not None
        stored = {o.client_order_id: o for o in await OrderRepo(self.node.db).all()}
        exchange = {o["clientOrderId"]: o["status"] for o in ledger}
        placed = {cid for cid, o in stored.items() if o.status != "PENDING"}
        return (
            set(exchange) <= set(stored)
            and placed <= set(exchange)
            and all(stored[cid].status == status for cid, status in exchange.items())
        )


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    sim = await start_simulator(symbols=list(SYMBOLS))
    settings = settings_for(sim)
    settings.data_dir = tmp_path
    db = Database(None, tmp_path)
    await db.migrate()
    node = await LiveNode.create(
        settings,
        db=db,
        trader_prefix="t",
        stream_options=FAST,
        rest_timeout=1.0,
        retry_seconds=0.2,
        poll_interval=0.3,
        # each kill is one restart of the root's children: here they come faster than the
        # root's default intensity (3 in 5 s, tested below) would allow
        root_intensity=(100, 5.0),
    )
    http = aiohttp.ClientSession()
    try:
        await node.start()
        assert node.warehouse is not None
        for symbol in SYMBOLS:
            await node.start_trading(symbol, trading(symbol))
            await node.warehouse.start_recording(f"TRADE_EVENTS:{symbol}")
        yield Rig(sim, node, http)
    finally:
        await node.stop()
        await http.close()
        await sim.close()
        if not node.health()[0]:
            # The root was killed: OTP's kill is brutal, so the killed processes never closed
            # their HTTP sessions (a real node exits here, crash-only). Collect them now, inside
            # this test, rather than let their ResourceWarning land in a later test's setup.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()


def named(rt: Any, match: Callable[[Any], bool]) -> list[Any]:
    return sorted((n for n in rt.registry.names() if match(n)), key=repr)


def targets(node: LiveNode) -> list[tuple[str, Callable[[], Process | None]]]:
    """Every named process of the tree, each found afresh at its turn (restarts re-register)."""
    rt = node.rt

    def by_name(name: Any) -> Callable[[], Process | None]:
        return lambda: rt.whereis(name)

    def kind(prefix: str) -> Callable[[], Process | None]:
        def find() -> Process | None:
            names = named(rt, lambda n: isinstance(n, tuple) and n[0] == prefix)
            return rt.whereis(names[0]) if names else None

        return find

    def a_trader(symbol: str) -> Callable[[], Process | None]:
        def find() -> Process | None:
            leader = rt.whereis(leader_name(symbol))
            alive = [s.pid for s in getattr(leader, "slots", {}).values() if s.pid.alive]
            return alive[0] if alive else None

        return find

    plan: list[tuple[str, Callable[[], Process | None]]] = [
        ("streamer", by_name("streamer")),
        ("a stream connection", kind("streamer.connection")),
        ("streamer.connections", by_name("streamer.connections")),
        ("streamer.manager", by_name("streamer.manager")),
        ("exchange.fills", by_name("exchange.fills")),
        ("observer", by_name("observer")),
        ("a recorder", kind("warehouse.recorder")),
        ("warehouse.recorders", by_name("warehouse.recorders")),
        ("naive", by_name("naive")),
        ("naive.symbols", by_name("naive.symbols")),
        ("naive.autostart", by_name("naive.autostart")),
    ]
    for symbol in SYMBOLS:
        plan += [
            (f"symbol:{symbol}", by_name(("symbol", symbol))),
            (f"leader:{symbol}", by_name(("leader", symbol))),
            (f"traders:{symbol}", by_name(("traders", symbol))),
            (f"a trader of {symbol}", a_trader(symbol)),
        ]
    return plan


async def test_every_kill_and_the_same_symbols_trade_again(rig: Rig) -> None:
    for symbol in SYMBOLS:
        await rig.trades_again(symbol)
    killed = []
    for what, find in targets(rig.node):
        proc = await eventually(find, 10, f"{what} is running")
        assert rig.node.rt.kill(proc), what
        killed.append(what)
        for symbol in SYMBOLS:
            await rig.trades_again(symbol, f"killing {what}")
        assert rig.node.health() == (True, None), what
        # the feeds were told again what to follow: the observer's view, the poller's symbols
        assert set(rig.node.observer().info()) == set(SYMBOLS), what  # type: ignore[union-attr]
        router = rig.node.rt.whereis("exchange.fills")
        assert router is not None and router.poller._symbols == set(SYMBOLS), what  # type: ignore[attr-defined]
        await eventually(  # between two cycles a symbol has no trader for a moment
            lambda: all(rig.node.symbol_state(s)[0] == "trading" for s in SYMBOLS),
            10,
            f"status says trading after killing {what}",
        )
    assert "a recorder" in killed
    await eventually(rig.books_agree, 15, "the store agrees with the exchange")


async def test_a_killed_paper_feeder_is_told_again_what_to_match(tmp_path: Path) -> None:
    """Paper: the feeder that gives the matching engine its trades, killed, comes back
    subscribed to the same symbols, so paper orders still fill."""
    sim = await start_simulator(symbols=["XRPUSDT"])
    settings = settings_for(sim)
    settings.exchange = "paper"
    node = await LiveNode.create(settings, trader_prefix="t", stream_options=FAST)
    http = aiohttp.ClientSession()

    async def trade(price: str) -> None:
        body = {"symbol": "XRPUSDT", "price": price, "qty": "1000"}
        async with http.post(f"{sim.url}/_sim/trade", json=body) as resp:
            assert resp.status == 200

    def first_trader() -> dict[str, Any]:
        leader = node.rt.whereis(leader_name("XRPUSDT"))
        slots = list(getattr(leader, "slots", {}).values())
        return slots[0].pid.info() if slots and slots[0].pid.alive else {}

    try:
        await node.start()
        await node.start_trading("XRPUSDT", trading("XRPUSDT"))
        await eventually(
            lambda: any(c.get("connected") for c in node.streamer.status()["connections"].values()),
            30,
            "streaming",
        )

        async def placed() -> bool:
            await trade("1.0000")
            return bool(first_trader().get("buy"))

        await eventually(placed, 30, "a paper buy is placed")
        feeder = node.rt.whereis("exchange.paper")
        assert feeder is not None and node.rt.kill(feeder)
        await eventually(lambda: node.rt.whereis("exchange.paper") not in (None, feeder))

        async def bought() -> bool:
            await trade("0.9000")
            return first_trader().get("phase") == "selling"

        await eventually(bought, 30, "the paper buy fills after the feeder's restart")
    finally:
        await node.stop()
        await http.close()
        await sim.close()


async def test_killing_the_root_stops_the_node(rig: Rig) -> None:
    node = rig.node
    root = node.rt.whereis("root")
    assert root is not None and node.health() == (True, None)
    node.rt.kill(root)
    assert await asyncio.wait_for(node.wait_root_exit(), 10) == "killed"
    assert node.health() == (False, "root supervisor exited (killed)")
    assert node.symbol_state("XRPUSDT")[0] == "down"  # never "trading" with no tree
    assert any(e["process"] == "root" for e in node.rt.errors)  # the dashboard's crash list


async def status_and_dashboard(node: LiveNode) -> tuple[dict[str, Any], dict[str, Any]]:
    """What `hedgehog status` reads (GET /api/status) and the dashboard's node section."""
    runner, url = await serve(build_app(node, "secret"))
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{url}/api/status", headers={"Authorization": "Bearer secret"}) as resp,
        ):
            assert resp.status == 200, await resp.text()
            status: dict[str, Any] = await resp.json()
    finally:
        await runner.cleanup()
    sections = dashboard.symbols(node, {})
    return status, dashboard.node_section(node, sections, dashboard.Balances(), None, [])


async def test_status_and_dashboard_say_what_the_tree_does(rig: Rig) -> None:
    node = rig.node
    await eventually(
        lambda: all(node.symbol_state(s)[0] == "trading" for s in SYMBOLS), 10, "trading"
    )
    status, board = await status_and_dashboard(node)
    assert status["alive"] is True and status["symbols"]["XRPUSDT"]["state"] == "trading"
    assert board["alive"] is True and board["totals"]["symbols_trading"] == 2
    node.rt.kill(node.rt.whereis("root"))
    await asyncio.wait_for(node.wait_root_exit(), 10)
    status, board = await status_and_dashboard(node)
    xrp = status["symbols"]["XRPUSDT"]
    assert status["alive"] is False and "root supervisor exited" in status["down_reason"]
    assert xrp["status"] == "on" and xrp["state"] == "down" and "root" in xrp["reason"]
    assert board["alive"] is False and board["totals"]["symbols_trading"] == 0
    assert any(e["process"] == "root" for e in board["errors"])  # not "no crashes"


async def test_kills_beyond_the_root_intensity_stop_the_node(rig: Rig) -> None:
    node = rig.node
    assert node.node.root is not None
    node.node.root.max_restarts = 3  # the default a node runs with
    for _ in range(4):
        observer = await eventually(node.observer, 10, "the observer is back")
        node.rt.kill(observer)
    assert await asyncio.wait_for(node.wait_root_exit(), 10) == "shutdown"
    assert node.health()[0] is False


async def test_running_node_ends_with_node_crashed_when_the_root_dies(tmp_path: Path) -> None:
    sim = await start_simulator(symbols=["XRPUSDT"])
    settings = settings_for(sim)
    settings.data_dir = tmp_path
    try:
        with pytest.raises(NodeCrashed, match="root supervisor exited"):
            async with running_node(settings, db=Database(None, tmp_path)) as node:
                node.rt.kill(node.rt.whereis("root"))
                await asyncio.Event().wait()  # what `run` does: wait; the crash ends it
    finally:
        await sim.close()
    assert not (tmp_path / "control.json").exists()  # cleaned up on the way out


async def test_hedgehog_run_exits_non_zero_with_one_line_when_the_root_dies(
    tmp_path: Path,
) -> None:
    sim = await start_simulator(symbols=["XRPUSDT"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEHOG_")}
    env.update(
        HEDGEHOG_DATA_DIR=str(tmp_path),
        HEDGEHOG_BINANCE_API_KEY=sim.api_key,
        HEDGEHOG_BINANCE_API_SECRET=sim.api_secret,
    )
    args = [
        *("-m", "hedgehog", "run", "--exchange", "binance", "--no-view", "--duration", "60"),
        *("--rest-url", sim.url, "--stream-url", sim.ws_url, "--ws-api-url", sim.ws_api_url),
    ]
    node = await asyncio.create_subprocess_exec(
        sys.executable, *args, env=env, stdout=-1, stderr=-1
    )
    try:
        control = tmp_path / "control.json"
        await eventually(lambda: control.exists() or node.returncode is not None, 60)
        address = json.loads(control.read_text())
        killer = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hedgehog", "kill", "root", env=env, stdout=-1, stderr=-1
        )
        await asyncio.wait_for(killer.communicate(), 30)
        _, stderr = await asyncio.wait_for(node.communicate(), 30)
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()
        await sim.close()
    text = stderr.decode()
    assert node.returncode == 1, text
    assert "Traceback" not in text
    crash = [line for line in text.splitlines() if "root supervisor exited" in line]
    assert len(crash) == 1, text
    assert address["pid"] == node.pid and not control.exists()
