"""The max-loss halt in backtests (issue 13): the same halt, on the same trade, with the same
ledger, whether the replay skips ahead, delivers every trade, or kills processes between
trades; and the skip-ahead is exact only because the halt threshold is in the traders' band
(the mutant without it halts later, or never)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgehog.backtest.report import write_report
from hedgehog.backtest.runner import BacktestConfig, run_backtest
from hedgehog.core.filters import load_exchange_info, parse_exchange_info
from hedgehog.grid.strategy import GRID
from hedgehog.market.loaders import load_trades
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades
from hedgehog.naive.settings import TradingSettings
from hedgehog.naive.trader import Trader
from tests.conftest import shared_data_dir

NAMES = ["S0USDT", "S1USDT"]
KILLS = 3  # kills of traders, leaders and symbol supervisors: within every intensity
FILTERS = parse_exchange_info(synthetic_exchange_info(NAMES, "0.0001", "0.1"))


def run(
    seed: int, max_loss: str | None, *, every_tick: bool = False, kills: int = 0, **more: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    tables = {
        s: synthetic_trades(s, 5_000, seed + i, volatility=0.0005) for i, s in enumerate(NAMES)
    }
    settings = {
        s: TradingSettings.parse(
            s, chunks=3, budget="100", rebuy_interval="0.001", max_loss=max_loss, **more
        )
        for s in NAMES
    }
    config = BacktestConfig(
        settings,
        FILTERS,
        every_tick=every_tick,
        chaos_kills=kills,
        chaos_seed=seed,
        chaos_targets=("trader", "leader", "symbol"),
    )
    result = asyncio.run(run_backtest(tables, config))
    data = result.as_json()
    for key in ("elapsed_s", "ticks_per_s", "restarts"):  # kills restart processes
        data.pop(key)
    return data, result.halted


@pytest.mark.parametrize(("seed", "max_loss"), [(1, "0.2"), (2, "0.5"), (3, "0.5")])
@pytest.mark.parametrize("cancels", ["false", "true"])
def test_the_halt_is_the_same_skipping_every_tick_and_under_chaos(
    seed: int, max_loss: str, cancels: str
) -> None:
    fast, halted = run(seed, max_loss, halt_cancels_buys=cancels)
    slow, _ = run(seed, max_loss, every_tick=True, halt_cancels_buys=cancels)
    chaos, _ = run(seed, max_loss, kills=KILLS, halt_cancels_buys=cancels)
    assert fast == slow == chaos
    # many kills may exceed a supervisor's intensity (the run differs then, by design): the
    # same kills, skipping or not, still give the same run
    many = run(seed, max_loss, kills=12, halt_cancels_buys=cancels)[0]
    assert many == run(seed, max_loss, kills=12, every_tick=True, halt_cancels_buys=cancels)[0]
    assert set(fast["halted"]) == set(NAMES)  # both symbols run with the control
    assert any(h is not None for h in halted.values())  # and at least one was halted
    for symbol, h in halted.items():
        assert (h is None) == (fast["halted"][symbol] is None)
        assert h is None or f"trade {h['trade_id']}" in fast["halted"][symbol]


def test_a_halt_stops_the_buying() -> None:
    on, _ = run(2, "0.5")
    off, nothing = run(2, None)
    assert nothing == {} and "halted" not in off  # off: the JSON of before
    assert on["orders_placed"] < off["orders_placed"]
    assert on["ledger_sha256"] != off["ledger_sha256"]


def test_without_the_threshold_in_the_band_the_skip_ahead_would_miss_the_halt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mutant: the halt still decided at the trader, but the band is the strategy's alone."""
    exact, halted = run(1, "0.2")
    assert exact == run(1, "0.2", every_tick=True)[0]

    def strategy_band(self: Trader) -> Any:
        risk = self._risk
        may_buy = not self.shutting_down and not (risk is not None and risk.halted)
        return self.strategy.trade_band(self.state, may_buy)

    monkeypatch.setattr(Trader, "trade_band", strategy_band)
    mutant, mutant_halted = run(1, "0.2")
    assert mutant != exact
    assert mutant_halted != halted


@pytest.mark.parametrize("cancels", ["false", "true"])
def test_grid_halts_too(cancels: str) -> None:
    tables = {"S0USDT": synthetic_trades("S0USDT", 5_000, 1, volatility=0.0005)}
    params = {
        "lower": "0.99",
        "upper": "1.01",
        "levels": "9",
        "budget": "100",
        "max_loss": "0.3",
        "halt_cancels_buys": cancels,
    }
    settings = {"S0USDT": GRID.parse_settings("S0USDT", params)}
    results = []
    for every_tick in (False, True):
        config = BacktestConfig(
            settings, FILTERS, strategy=GRID, every_tick=every_tick, chaos_kills=KILLS
        )
        result = asyncio.run(run_backtest(tables, config))
        data = result.as_json()
        data.pop("elapsed_s"), data.pop("ticks_per_s")
        results.append(data)
    assert results[0] == results[1]
    assert results[0]["halted"]["S0USDT"] is not None
    assert (results[0]["open_buy_orders"] == 0) == (cancels == "true")  # 3 left open, or none


def test_the_report_says_when_a_symbol_was_halted(tmp_path: Path) -> None:
    tables = {"S1USDT": synthetic_trades("S1USDT", 5_000, 2, volatility=0.0005)}
    settings = {"S1USDT": TradingSettings.parse("S1USDT", chunks=3, budget="100", max_loss="0.2")}
    config = BacktestConfig(settings, FILTERS)
    result = asyncio.run(run_backtest(tables, config))
    halt = result.halted["S1USDT"]
    assert halt is not None
    page = write_report(result, tables, config, tmp_path).read_text()
    assert "<b>S1USDT halted.</b>" in page and f"(trade {halt['trade_id']})" in page
    assert "<code>halted</code>" in page


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hedgehog", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_cli_takes_max_loss_as_a_param() -> None:
    common = ("backtest", "--synthetic", "XRPUSDT", "--trades", "5000", "--json")
    off = _cli(*common)
    on = _cli(*common, "--param", "max_loss=0.05", "--param", "halt_cancels_buys=true")
    every = _cli(
        *common, "--param", "max_loss=0.05", "--param", "halt_cancels_buys=true", "--every-tick"
    )
    assert off.returncode == on.returncode == every.returncode == 0, on.stderr
    plain, halted, reference = (json.loads(r.stdout) for r in (off, on, every))
    assert "halted" not in plain
    assert halted["halted"]["XRPUSDT"].startswith("max loss 0.05 reached")
    assert halted["orders_placed"] < plain["orders_placed"]
    for data in (halted, reference):
        data.pop("elapsed_s"), data.pop("ticks_per_s")
    assert halted == reference
    text = _cli(*common[:-1], "--param", "max_loss=0.05")
    assert text.returncode == 0 and "XRPUSDT halted" in text.stdout


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("max_loss=-1", "max_loss must be a positive quote amount"),
        ("max_loss=abc", "max_loss"),
        ("halt_cancels_buys=maybe", "halt_cancels_buys must be true or false"),
        ("stop_loss_interval=1.5", "stop_loss_interval must be in (0, 1)"),
    ],
)
def test_bad_risk_params_are_clear_errors(param: str, message: str) -> None:
    result = _cli("backtest", "--synthetic", "XRPUSDT", "--trades", "100", "--param", param)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_the_stop_loss_is_the_same_skipping_every_tick_and_under_chaos(seed: int) -> None:
    params = {"stop_loss_interval": "0.002", "budget": "100"}
    tables = {
        s: synthetic_trades(s, 5_000, seed + i, volatility=0.0005) for i, s in enumerate(NAMES)
    }
    settings = {s: TradingSettings.parse(s, chunks=3, **params) for s in NAMES}
    plain = {s: TradingSettings.parse(s, chunks=3, budget="100") for s in NAMES}
    runs = []
    for values, every_tick, kills in (
        (settings, False, 0),
        (settings, True, 0),
        (settings, False, KILLS),
        (plain, False, 0),
        (settings, False, 12),
        (settings, True, 12),
    ):
        config = BacktestConfig(
            values,
            FILTERS,
            every_tick=every_tick,
            chaos_kills=kills,
            chaos_seed=seed,
            chaos_targets=("trader", "leader", "symbol"),
        )
        result = asyncio.run(run_backtest(tables, config))
        data = result.as_json()
        for key in ("elapsed_s", "ticks_per_s", "restarts"):
            data.pop(key)
        stops = [o for o in result.ledger if o.client_order_id.endswith("S1")]
        _check_market_stops(result.ledger, stops, tables)
        runs.append((data, len(stops)))
    (fast, stops), (slow, _), (chaos, _), (off, none), (many, _), (many_slow, _) = runs
    assert fast == slow == chaos
    assert many == many_slow
    assert stops > 0 and none == 0  # the stop fired, and only with the setting
    assert fast["ledger_sha256"] != off["ledger_sha256"]


def test_a_sweep_varies_the_controls() -> None:
    result = _cli(
        "sweep",
        "--synthetic",
        "XRPUSDT",
        "--trades",
        "5000",
        "--param",
        "max_loss=1,50",
        "--param",
        "stop_loss_interval=0.002,off",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    runs = {
        (r["params"]["max_loss"], r["params"]["stop_loss_interval"]): r["result"]
        for r in json.loads(result.stdout)["runs"]
    }
    assert len(runs) == 4
    assert runs[("1", "off")]["halted"]["XRPUSDT"].startswith("max loss 1 reached")
    assert runs[("50", "off")]["halted"] == {"XRPUSDT": None}
    assert runs[("50", "0.002")]["orders_placed"] > runs[("50", "off")]["orders_placed"]


def _check_market_stops(ledger: list[Any], stops: list[Any], tables: dict[str, Any]) -> None:
    """The rule of a backtest's MARKET order, exactly: each stop sells at the market, filled
    whole at once at the price of the trade that fired it, the first trade strictly below
    buy * (1 - 0.002) from the buy's fill on."""
    by_id = {o.client_order_id: o for o in ledger}
    for stop in stops:
        assert stop.order_type == "MARKET" and stop.status.value == "FILLED"
        assert stop.executed_qty == stop.orig_qty
        buy = by_id[stop.client_order_id[:-2] + "B"]
        threshold = buy.price * (1 - Decimal("0.002"))
        table = tables[stop.symbol]
        prices = (Decimal(int(p)) / 10**8 for p in table.price[table.time >= buy.update_time])
        assert stop.price == next(p for p in prices if p < threshold)  # exact 1e-8 units
        assert stop.cumulative_quote_qty == stop.price * stop.executed_qty


REAL_DAY, REAL_INFO = "XRPUSDT-trades-2019-05-25.zip", "exchangeInfo.json"
BOOK_LEDGER = "24b4ed0eb5e64f4837ae99b424c3419aff8dea0a980dcac1a7597089b35d8722"
STOP_LEDGER = "f1e1201fefc3dec2af787a0674d90ec798593163b51121047ecc6b6385645d43"


def _real_day(every_tick: bool = False, **params: str) -> Any:
    data = shared_data_dir(REAL_DAY, REAL_INFO)
    tables = load_trades([data / REAL_DAY], symbol="XRPUSDT").tables
    filters = load_exchange_info(data / REAL_INFO)
    settings = {"XRPUSDT": TradingSettings.parse("XRPUSDT", **params)}
    config = BacktestConfig(settings, {"XRPUSDT": filters["XRPUSDT"]}, every_tick=every_tick)
    return asyncio.run(run_backtest(tables, config))


@pytest.mark.shared_data
def test_the_real_day_stops_at_the_market_and_is_unchanged_without_the_stop() -> None:
    """docs/strategies.md's figures: `--param stop_loss_interval=0.01` on the real day."""
    assert _real_day().as_json()["ledger_sha256"] == BOOK_LEDGER
    stopped = _real_day(stop_loss_interval="0.01")
    data = stopped.as_json()
    assert data["ledger_sha256"] == STOP_LEDGER
    assert (data["orders_placed"], data["realised_pnl"]) == (334, "-41.6596950778")
    stops = [o for o in stopped.ledger if o.order_type == "MARKET"]
    assert len(stops) == 26 and {o.status.value for o in stops} == {"FILLED"}
    assert _real_day(True, stop_loss_interval="0.01").as_json()["ledger_sha256"] == STOP_LEDGER
