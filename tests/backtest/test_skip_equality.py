"""Skip-ahead replay equals the every-trade replay exactly: over many synthetic markets and
settings (hypothesis), with chaos kills, and on the real day in ../shared/data."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgehog.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from hedgehog.backtest.skip import next_outside
from hedgehog.core.filters import load_exchange_info, parse_exchange_info
from hedgehog.market.loaders import load_trades
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades
from hedgehog.market.tables import TradeTable
from hedgehog.naive.settings import TradingSettings
from tests.conftest import shared_data_dir


def both(tables: dict[str, TradeTable], config: BacktestConfig) -> tuple[dict, dict]:  # type: ignore[type-arg]
    def stable(r: BacktestResult) -> dict:  # type: ignore[type-arg]
        data = r.as_json()
        for key in ("elapsed_s", "ticks_per_s"):
            data.pop(key)
        return data

    fast = asyncio.run(run_backtest(tables, config))
    config.every_tick = True
    slow = asyncio.run(run_backtest(tables, config))
    config.every_tick = False
    return stable(fast), stable(slow)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(500, 6_000),
    symbols=st.integers(1, 3),
    chunks=st.integers(1, 6),
    budget=st.sampled_from(["20", "100", "1000"]),
    buy_down=st.sampled_from(["0", "0.0001", "0.001", "0.005"]),
    profit=st.sampled_from(["0", "0.0005", "0.001", "0.004"]),
    rebuy=st.sampled_from(["0", "0.0005", "0.001", "0.01"]),
    volatility=st.sampled_from([0.0002, 0.0005, 0.002]),
    kills=st.integers(0, 6),
)
def test_skip_ahead_equals_every_trade(
    seed: int,
    n: int,
    symbols: int,
    chunks: int,
    budget: str,
    buy_down: str,
    profit: str,
    rebuy: str,
    volatility: float,
    kills: int,
) -> None:
    names = [f"S{i}USDT" for i in range(symbols)]
    tables = {
        s: synthetic_trades(s, n, seed + i, volatility=volatility) for i, s in enumerate(names)
    }
    filters = parse_exchange_info(synthetic_exchange_info(names, "0.0001", "0.1"))
    trading = {
        s: TradingSettings.parse(
            s,
            chunks=chunks,
            budget=budget,
            buy_down_interval=buy_down,
            profit_interval=profit,
            rebuy_interval=rebuy,
        )
        for s in names
    }
    config = BacktestConfig(
        trading,
        filters,
        chaos_kills=kills,
        chaos_seed=seed,
        chaos_targets=("trader", "leader", "symbol"),
    )
    fast, slow = both(tables, config)
    assert fast == slow


@pytest.mark.shared_data
def test_skip_ahead_equals_every_trade_on_the_real_day() -> None:
    data = shared_data_dir("XRPUSDT-trades-2019-05-25.zip", "exchangeInfo.json")
    tables = load_trades([data / "XRPUSDT-trades-2019-05-25.zip"]).tables
    filters = load_exchange_info(data / "exchangeInfo.json")
    for values in ({}, {"chunks": 2, "buy_down_interval": "0.001", "rebuy_interval": "0.005"}):
        config = BacktestConfig(
            {"XRPUSDT": TradingSettings.parse("XRPUSDT", **values)},
            {"XRPUSDT": filters["XRPUSDT"]},
            chaos_kills=10,
            chaos_seed=4,
        )
        fast, slow = both(tables, config)
        assert fast == slow
        assert fast["cycles_completed"] > 0


def test_next_outside() -> None:
    prices = np.array([5, 6, 7, 8, 3, 9], dtype=np.int64)
    assert next_outside(prices, 0, (5, 8)) == 4
    assert next_outside(prices, 5, (5, 8)) == 5
    assert next_outside(prices, 0, None) == 0
    assert next_outside(prices, 0, (0, 100)) == 6
    long = np.full(100_000, 10, dtype=np.int64)
    long[77_777] = 11
    assert next_outside(long, 3, (10, 10)) == 77_777
