"""The dip buyer, tested like any strategy: its rule on bars (pure), its state stored and read
back exactly, and whole backtests through the tree — exact, repeatable, chaos-invariant."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest
from examples.dip_buyer.strategy import DipBuyer, DipState

from hedgehog.backtest.runner import BacktestConfig, run_backtest
from hedgehog.core.errors import ConfigError
from hedgehog.core.filters import SymbolFilters, parse_exchange_info
from hedgehog.market.bars import Bar
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades
from hedgehog.naive.state import PlaceOrder
from hedgehog.simulator import start_simulator

ROOT = Path(__file__).resolve().parents[2]

F = SymbolFilters("XRPUSDT", "XRP", "USDT", D("0.0001"), D("0.1"), D("0.1"), D("1"))
DIP = DipBuyer()


def bar(close: str, minute: int) -> Bar:
    c, t = D(close), minute * 60_000
    return Bar("XRPUSDT", "1m", t, t + 59_999, c, c, c, c, D(1), c, 1, minute, minute, D(0), D(0))


def fresh(**params: str) -> DipState:
    settings = DIP.parse_settings("XRPUSDT", {"window": "3", "dip": "0.01", **params})
    return DIP.new_trader("XRPUSDT", 1, settings, F, "", 0)


def test_it_buys_a_bar_closing_below_the_average_by_the_dip() -> None:
    state = fresh()
    for minute, close in enumerate(("1.00", "1.00")):
        state, decisions = DIP.on_bar(state, bar(close, minute))
        assert decisions == ()  # still filling its window
    state, decisions = DIP.on_bar(state, bar("0.995", 2))  # average 0.99833: not 1% below
    assert decisions == ()
    state, decisions = DIP.on_bar(state, bar("0.97", 3))  # average 0.98833 * 0.99 = 0.97845
    assert decisions == (PlaceOrder(state.buy),)
    assert (state.buy.price, state.buy.quantity) == (D("0.97"), D("103"))
    assert state.sell_at == D("0.9758")  # 0.97 * 1.001 * 1.004 * 1.001, floored to the tick
    assert DIP.on_bar(state, bar("0.90", 4))[1] == ()  # one buy at a time


def test_its_state_is_stored_and_read_back_exactly() -> None:
    state = fresh()
    for minute, close in enumerate(("1.00", "1.00", "1.00", "0.97")):
        state, _ = DIP.on_bar(state, bar(close, minute))
    assert state.buy is not None
    assert DIP.load_state(DIP.dump_state(state)) == state


def test_bad_settings_are_refused() -> None:
    cases = [
        ({"windw": "3"}, "unknown setting 'windw'"),
        ({"dip": "x"}, "not a number"),
        ({"interval": "7m"}, "7m"),
        ({"window": "0"}, "1 <= window"),
    ]
    for params, says in cases:
        with pytest.raises(ConfigError, match=says):
            DIP.parse_settings("XRPUSDT", params)


def backtest(**extra: object) -> dict[str, object]:
    tables = {"XRPUSDT": synthetic_trades("XRPUSDT", 60_000, seed=4)}
    filters = parse_exchange_info(synthetic_exchange_info(["XRPUSDT"], "0.0001", "0.1"))
    params = {"window": "5", "dip": "0.002", "profit": "0.001", "interval": "1s"}
    settings = {"XRPUSDT": DIP.parse_settings("XRPUSDT", params)}
    config = BacktestConfig(settings, filters, strategy=DIP, **extra)  # type: ignore[arg-type]
    result = asyncio.run(run_backtest(tables, config))  # type: ignore[arg-type]
    data = result.as_json()
    for key in ("elapsed_s", "ticks_per_s", "restarts"):
        data.pop(key)
    return data


def test_backtests_are_exact_and_chaos_invariant() -> None:
    base = backtest()
    assert base["cycles_completed"] > 5
    assert backtest() == base
    assert backtest(every_tick=True) == base
    assert backtest(chaos_kills=20, chaos_seed=1, chaos_targets=("trader", "leader")) == base


# -- the tutorial's commands, through the real CLI ------------------------------------------
STRATEGY = ("--strategy", "examples.dip_buyer.strategy:DipBuyer")
FAST = ("--param", "interval=1s", "--param", "window=5", "--param", "profit=0.001")


def hedgehog(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hedgehog", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env={**os.environ, **env},
    )


def test_the_sweep_rows_are_the_backtests() -> None:
    common = ("--synthetic", "XRPUSDT", "--trades", "30000", "--seed", "4", *STRATEGY, *FAST)
    swept = hedgehog("sweep", *common, "--param", "dip=0.001,0.002", "--json", "--yes")
    assert swept.returncode == 0, swept.stderr
    data = json.loads(swept.stdout)
    assert data["strategy"] == "dip-buyer" and len(data["runs"]) == 2
    for run in data["runs"]:
        alone = hedgehog("backtest", *common, "--param", f"dip={run['params']['dip']}", "--json")
        assert alone.returncode == 0, alone.stderr
        assert json.loads(alone.stdout)["ledger_sha256"] == run["result"]["ledger_sha256"]


def test_it_runs_against_the_local_simulator(tmp_path: Path) -> None:
    """`hedgehog run` with the strategy, on the simulator, through the real Binance client."""

    async def scenario() -> subprocess.CompletedProcess[str]:
        sim = await start_simulator(synthetic=["XRPUSDT"], speed=20, seed=4)
        try:
            return await asyncio.to_thread(
                hedgehog,
                *("run", "--exchange", "binance", "--no-view", "--duration", "4"),
                *("--rest-url", sim.url, "--stream-url", sim.ws_url),
                *("--ws-api-url", sim.ws_api_url, "--symbols", "XRPUSDT", *STRATEGY, *FAST),
                HEDGEHOG_DATA_DIR=str(tmp_path),
                HEDGEHOG_BINANCE_API_KEY=sim.api_key,
                HEDGEHOG_BINANCE_API_SECRET=sim.api_secret,
            )
        finally:
            await sim.close()

    done = asyncio.run(scenario())
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)["XRPUSDT"]
    assert summary["strategy"] == "dip-buyer" and summary["trades"] > 0, summary
    assert "Traceback" not in done.stderr


def test_the_strategy_lives_only_in_its_own_files() -> None:
    """Adding it touched nothing in hedgehog: no module of the package names it."""
    for path in (ROOT / "src" / "hedgehog").rglob("*.py"):
        text = path.read_text()
        assert "dip_buyer" not in text and "DipBuyer" not in text, path
