"""Grid backtests through the book's tree: exact (skip-ahead = every tick), repeatable,
chaos-invariant; the leader starts the levels in order and replaces a finished level."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hedgehog.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from hedgehog.core.filters import parse_exchange_info
from hedgehog.core.types import OrderStatus, Side
from hedgehog.grid.strategy import GRID
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades

SYMBOLS = ["AAAUSDT", "BBBUSDT"]  # synthetic prices wander around 0.96 .. 1.00


def run(**extra: Any) -> BacktestResult:
    tables = {s: synthetic_trades(s, 20_000, seed=i + 3) for i, s in enumerate(SYMBOLS)}
    filters = parse_exchange_info(synthetic_exchange_info(SYMBOLS, "0.0001", "0.1"))
    params = {"lower": "0.95", "upper": "1.01", "levels": "7", "budget": "600"}
    settings = {s: GRID.parse_settings(s, params) for s in SYMBOLS}
    config = BacktestConfig(settings, filters, strategy=GRID, **extra)
    return asyncio.run(run_backtest(tables, config))  # type: ignore[arg-type]


def stable(result: BacktestResult) -> dict[str, Any]:
    data = result.as_json()
    for key in ("elapsed_s", "ticks_per_s", "restarts"):
        data.pop(key)
    return data


@pytest.fixture(scope="module")
def baseline() -> BacktestResult:
    return run()


def test_grid_trades_and_is_exact_and_repeatable(baseline: BacktestResult) -> None:
    assert baseline.summary.cycles_completed > 0
    assert stable(run()) == stable(baseline)
    assert stable(run(every_tick=True)) == stable(baseline)  # the bands skip nothing that matters


def test_grid_is_chaos_invariant(baseline: BacktestResult) -> None:
    chaotic = run(chaos_kills=25, chaos_seed=7, chaos_targets=("trader", "leader", "symbol"))
    assert chaotic.kills == 25
    assert stable(chaotic) == stable(baseline)


def test_every_order_sits_on_a_level_and_sells_one_level_up(baseline: BacktestResult) -> None:
    levels = GRID.parse_settings(
        "AAAUSDT", {"lower": "0.95", "upper": "1.01", "levels": "7"}
    ).prices(parse_exchange_info(synthetic_exchange_info(SYMBOLS, "0.0001", "0.1"))["AAAUSDT"])
    buys = {o.client_order_id[:-1]: o for o in baseline.ledger if o.side == Side.BUY}
    for order in baseline.ledger:
        assert order.price in levels
        if order.side == Side.SELL:
            buy = buys[order.client_order_id[:-1]]
            assert buy.status == OrderStatus.FILLED
            assert levels.index(order.price) == levels.index(buy.price) + 1
    ids = [o.client_order_id for o in baseline.ledger]
    assert len(ids) == len(set(ids))  # no duplicate


def test_six_level_traders_start_before_the_first_trade_and_finished_ones_are_replaced(
    baseline: BacktestResult,
) -> None:
    # 6 buy levels x 2 symbols at start, plus one fresh trader per completed cycle
    assert baseline.traders_started == 12 + baseline.summary.cycles_completed
