"""The backtest on the real XRPUSDT day in ../shared/data: both formats agree, runs repeat
byte for byte, and chaos kills change nothing but the restart count."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hedgehog.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from hedgehog.core.filters import load_exchange_info
from hedgehog.market.loaders import load_trades
from hedgehog.naive.settings import TradingSettings
from tests.conftest import shared_data_dir

pytestmark = pytest.mark.shared_data

ZIP = "XRPUSDT-trades-2019-05-25.zip"
BOOK = "2019-05-25-XRPUSDT.csv.gz"
INFO = "exchangeInfo.json"


def _run(path: Path, info: Path, **chaos: object) -> BacktestResult:
    tables = load_trades([path], symbol="XRPUSDT").tables
    filters = load_exchange_info(info)
    config = BacktestConfig(
        {"XRPUSDT": TradingSettings("XRPUSDT")}, {"XRPUSDT": filters["XRPUSDT"]}, **chaos
    )  # type: ignore[arg-type]
    return asyncio.run(run_backtest(tables, config))


def _stable(result: BacktestResult) -> dict[str, object]:
    data = result.as_json()
    for key in ("elapsed_s", "ticks_per_s", "restarts"):
        data.pop(key)
    return data


@pytest.fixture(scope="module")
def baseline() -> BacktestResult:
    data = shared_data_dir(ZIP, INFO)
    return _run(data / ZIP, data / INFO)


def test_real_day_trades_and_is_plausible(baseline: BacktestResult) -> None:
    data = baseline.as_json()
    assert data["ticks"] == 70_130
    assert data["orders_placed"] == data["buys_filled"] + data["open_buy_orders"] + (
        data["sells_filled"] + data["open_sell_orders"]
    )
    assert data["cycles_completed"] == data["sells_filled"] > 10
    assert data["traders_started"] >= data["buys_filled"]
    assert data["restarts"] == 0


def test_both_formats_give_the_same_ledger(baseline: BacktestResult) -> None:
    data = shared_data_dir(BOOK, INFO)
    other = _run(data / BOOK, data / INFO)
    assert _stable(other) == _stable(baseline)


def test_same_input_same_output(baseline: BacktestResult) -> None:
    data = shared_data_dir(ZIP, INFO)
    assert _stable(_run(data / ZIP, data / INFO)) == _stable(baseline)


@pytest.mark.parametrize(
    ("targets", "seed"),
    [(("trader",), 1), (("trader", "leader", "symbol"), 2)],
)
def test_chaos_kills_change_nothing_but_restarts(
    baseline: BacktestResult, targets: tuple[str, ...], seed: int
) -> None:
    data = shared_data_dir(ZIP, INFO)
    chaotic = _run(data / ZIP, data / INFO, chaos_kills=40, chaos_seed=seed, chaos_targets=targets)
    assert chaotic.kills == 40
    assert chaotic.restarts >= 40
    assert _stable(chaotic) == _stable(baseline)
