"""A grid node end to end through the real CLI against the local simulator (real sockets, the
real Binance client): `hedgehog settings set --strategy grid --param ...`, `hedgehog run`, the
node SIGKILLed mid-grid, a fill it misses while it is down, and a new node on the same SQLite
store that resumes each level's trader with its level and orders: no order lost, none placed
twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hedgehog.config.token import ADDRESS_FILE, TOKEN_FILE
from hedgehog.simulator import SimulatorHandle, start_simulator
from hedgehog.store import Database, SettingsRepo, SqlTraderStore
from tests.helpers import eventually

SYMBOL = "XRPUSDT"
# levels 0.96 0.98 1.00 1.02 1.04: traders at levels 0..3 buy 25 USDT's worth each
GRID = ("lower=0.96", "upper=1.04", "levels=5", "budget=100")
LEVEL_PRICES = [D("0.96"), D("0.98"), D("1.00"), D("1.02"), D("1.04")]


def node_env(sim: SimulatorHandle, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEHOG_")}
    env.update(
        HEDGEHOG_DATA_DIR=str(data_dir),
        HEDGEHOG_BINANCE_API_KEY=sim.api_key,
        HEDGEHOG_BINANCE_API_SECRET=sim.api_secret,
    )
    return env


async def hedgehog(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hedgehog", *args, env=env, stdout=-1, stderr=-1
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, stdout.decode(), stderr.decode()


class Rig:
    def __init__(self, sim: SimulatorHandle, data_dir: Path, http: aiohttp.ClientSession):
        self.sim, self.data_dir, self.http = sim, data_dir, http
        self.env = node_env(sim, data_dir)
        self.node: asyncio.subprocess.Process | None = None

    async def start_node(self, *args: str) -> None:
        """`hedgehog run` against the simulator; returns once its control API answers."""
        address = self.data_dir / ADDRESS_FILE
        address.unlink(missing_ok=True)  # a SIGKILLed node leaves its own behind
        self.node = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "hedgehog", "run", "--exchange", "binance", "--no-view"),
            *("--rest-url", self.sim.url, "--stream-url", self.sim.ws_url),
            *("--ws-api-url", self.sim.ws_api_url, *args),
            env=self.env,
            stdout=-1,
            stderr=-1,
        )
        node = self.node
        await eventually(lambda: address.exists() or node.returncode is not None, 60)
        assert node.returncode is None, "the node did not start"
        await eventually(self._trading, 60, what="the node trading with streams up")

    async def _trading(self) -> bool:
        try:
            status = await self.status()
        except (aiohttp.ClientError, OSError, ValueError, KeyError):
            return False
        connections = status["streams"].get("connections", {}).values()
        return SYMBOL in status["symbols"] and any(c.get("connected") for c in connections)

    async def status(self) -> dict[str, Any]:
        address = json.loads((self.data_dir / ADDRESS_FILE).read_text())
        token = (self.data_dir / TOKEN_FILE).read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        async with self.http.get(f"{address['url']}/api/status", headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            data: dict[str, Any] = await resp.json()
            return data

    async def traders(self) -> dict[int, dict[str, Any]]:
        """The symbol's traders by level, as `status` shows them."""
        traders = (await self.status())["symbols"][SYMBOL]["traders"]
        return {t["level"]: t for t in traders if "level" in t}

    async def kill_node(self) -> None:
        assert self.node is not None
        self.node.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.node.communicate(), 30)

    async def stop_node(self) -> str:
        assert self.node is not None
        self.node.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(self.node.communicate(), 30)
        return stderr.decode()

    async def trade(self, price: str, qty: str = "10000") -> None:
        async with self.http.post(
            f"{self.sim.url}/_sim/trade", json={"symbol": SYMBOL, "price": price, "qty": qty}
        ) as resp:
            assert resp.status == 200, await resp.text()

    async def ledger(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.sim.url}/_sim/ledger") as resp:
            orders: list[dict[str, Any]] = (await resp.json())["orders"]
            return orders

    async def orders(self, side: str, status: str | None = None) -> list[tuple[D, str]]:
        """(price, status) of the ledger's orders of `side`, by price."""
        return sorted(
            (D(o["price"]), o["status"])
            for o in await self.ledger()
            if o["side"] == side and (status is None or o["status"] == status)
        )


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    sim = await start_simulator(symbols=[SYMBOL])
    http = aiohttp.ClientSession()
    r = Rig(sim, tmp_path, http)
    try:
        yield r
    finally:
        if r.node is not None and r.node.returncode is None:
            r.node.kill()
            await r.node.communicate()
        await http.close()
        await sim.close()


async def test_settings_set_grid_run_kill_and_a_new_node_resumes_every_level(rig: Rig) -> None:
    env = rig.env
    code, out, err = await hedgehog(env, "settings", "seed", "--rest-url", rig.sim.url)
    assert code == 0, err
    args = [arg for pair in GRID for arg in ("--param", pair)]
    code, out, err = await hedgehog(env, "settings", "set", SYMBOL, "--strategy", "grid", *args)
    assert code == 0, err
    assert "strategy: grid" in out and "levels: 5" in out
    code, out, err = await hedgehog(env, "settings", "show", SYMBOL, "--json")
    assert code == 0, err
    assert json.loads(out)[0] | {} == {
        "symbol": SYMBOL, "lower": "0.96", "upper": "1.04", "levels": 5, "budget": "100",
        "fee": "0.001", "strategy": "grid", "status": "off",
    }  # fmt: skip

    # -- the first node: every buy level places its buy, two of them fill ----------------------
    await rig.start_node("--symbols", SYMBOL)  # the stored strategy: no options needed
    status = await rig.status()
    assert status["symbols"][SYMBOL]["strategy"] == "grid"
    await eventually(lambda: _levels(rig, {0, 1, 2, 3}), 30, what="a trader per buy level")
    await rig.trade("1.03")  # above every buy level: each level buys
    await eventually(lambda: _count(rig, "BUY", 4), 30, what="four buys")
    assert await rig.orders("BUY") == [(p, "NEW") for p in LEVEL_PRICES[:4]]
    await rig.trade("1.00")  # fills the buys at 1.02 and 1.00: they sell one level up
    await eventually(lambda: _count(rig, "SELL", 2), 30, what="two sells")
    assert await rig.orders("SELL") == [(D("1.02"), "NEW"), (D("1.04"), "NEW")]
    await eventually(lambda: _sells_known(rig, {2, 3}), 30, what="the sells in the traders")
    before = await rig.traders()
    assert {level: D(t["buy_at"]) for level, t in before.items()} == {
        i: LEVEL_PRICES[i] for i in range(4)
    }

    # -- SIGKILL; while the node is down, level 2's sell fills ----------------------------------
    await rig.kill_node()
    await rig.trade("1.02")
    assert (D("1.02"), "FILLED") in await rig.orders("SELL")
    await _stored_levels(rig.data_dir, {0, 1, 2, 3})  # what the new node will resume

    # -- a new node on the same store: booted from the database, no --symbols -------------------
    await rig.start_node()
    status = await rig.status()
    assert status["symbols"][SYMBOL]["strategy"] == "grid"
    assert status["boot_errors"] == {}
    # level 2 learns its sell filled while it was down: its cycle is over, a fresh trader
    # takes the level; the other levels resume as they were, same trader, same orders
    await eventually(lambda: _replaced(rig, before, 2), 30, what="level 2's fresh trader")
    after = await rig.traders()
    assert set(after) == {0, 1, 2, 3}
    for level in (0, 1, 3):
        assert after[level]["trader_id"] == before[level]["trader_id"]
        assert after[level]["buy"]["client_order_id"] == before[level]["buy"]["client_order_id"]
    assert after[3]["sell"]["status"] == "NEW"
    assert after[2]["buy"] is None and D(after[2]["buy_at"]) == D("1.00")

    await rig.trade("1.01")  # level 2's fresh trader buys again; nobody else places anything
    await eventually(lambda: _count(rig, "BUY", 5), 30, what="level 2's new buy")
    await asyncio.sleep(0.5)  # time for a wrong duplicate to show up
    ledger = await rig.ledger()
    ids = [o["clientOrderId"] for o in ledger]
    assert len(ids) == len(set(ids)) == 7
    assert await rig.orders("BUY") == [
        (D("0.96"), "NEW"),
        (D("0.98"), "NEW"),
        (D("1.00"), "FILLED"),
        (D("1.00"), "NEW"),
        (D("1.02"), "FILLED"),
    ]
    assert await rig.orders("SELL") == [(D("1.02"), "FILLED"), (D("1.04"), "NEW")]
    stderr = await rig.stop_node()
    assert rig.node is not None and rig.node.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr


async def _levels(rig: Rig, levels: set[int]) -> bool:
    try:
        return set(await rig.traders()) == levels
    except (aiohttp.ClientError, KeyError):
        return False


async def _count(rig: Rig, side: str, n: int) -> bool:
    return len(await rig.orders(side)) == n


async def _sells_known(rig: Rig, levels: set[int]) -> bool:
    traders = await rig.traders()
    return {i for i, t in traders.items() if (t.get("sell") or {}).get("status") == "NEW"} == levels


async def _replaced(rig: Rig, before: dict[int, dict[str, Any]], level: int) -> bool:
    try:
        traders = await rig.traders()
    except (aiohttp.ClientError, KeyError):
        return False
    fresh = traders.get(level)
    return fresh is not None and fresh["trader_id"] != before[level]["trader_id"]


async def _stored_levels(data_dir: Path, levels: set[int]) -> None:
    """The killed node's store holds a grid state per level, read back through the strategy."""
    async with Database(None, data_dir) as db:
        states = await SqlTraderStore(db).load(SYMBOL)
        assert {type(s).__name__ for s in states} == {"GridState"}
        assert {s.level for s in states} == levels  # type: ignore[attr-defined]
        row = await SettingsRepo(db).get(SYMBOL)
        assert (row.strategy, row.status) == ("grid", "on")


async def test_run_with_strategy_and_params_stores_them_and_trades_the_grid(rig: Rig) -> None:
    args = [arg for pair in GRID for arg in ("--param", pair)]
    await rig.start_node("--symbols", SYMBOL, "--strategy", "grid", *args)
    await eventually(lambda: _levels(rig, {0, 1, 2, 3}), 30, what="a trader per buy level")
    section = (await rig.status())["symbols"][SYMBOL]
    assert section["strategy"] == "grid"
    assert {t["strategy"] for t in section["traders"]} == {"grid"}
    await rig.trade("1.03")
    await eventually(lambda: _count(rig, "BUY", 4), 30, what="four buys")
    await rig.stop_node()
    code, out, err = await hedgehog(rig.env, "settings", "show", SYMBOL, "--json")
    assert code == 0, err
    row = json.loads(out)[0]
    assert (row["strategy"], row["levels"], row["status"]) == ("grid", 5, "on")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--param", "levels=5"), "need --symbols"),
        (("--symbols", SYMBOL, "--strategy", "grid", "--chunks", "2"), "--chunks: naive's"),
        (("--symbols", SYMBOL, "--strategy", "grid", "--param", "lower=1"), "grid needs upper"),
        (("--symbols", SYMBOL, "--strategy", "martingale"), "unknown strategy 'martingale'"),
        (("--symbols", SYMBOL, "--param", "levels"), "expected key=value"),
        (("--symbols", SYMBOL, "--budget", "5", "--param", "budget=6"), "given both"),
    ],
)
async def test_run_refuses_bad_strategy_options_at_once(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEHOG_")}
    code, _, err = await hedgehog(env | {"HEDGEHOG_DATA_DIR": str(tmp_path)}, "run", *args)
    assert code == 2 and message in err, err
    assert "Traceback" not in err
