"""Backtests over the Parquet catalog (issue 14, items 5 and 6): `data import` then a catalog
backtest give the ledger of the files themselves; a multi-day, multi-symbol catalog streamed a
day at a time, cut to any range, gives the ledger of the same trades all at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgehog.backtest.runner import BacktestConfig, run_backtest
from hedgehog.backtest.source import window
from hedgehog.backtest.source_catalog import CatalogSource
from hedgehog.core.errors import DataError
from hedgehog.core.filters import load_exchange_info, parse_exchange_info
from hedgehog.market.catalog import Catalog
from hedgehog.market.loaders import load_trades
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades
from hedgehog.market.tables import TradeTable
from hedgehog.naive.settings import TradingSettings
from tests.backtest.test_streaming import stable
from tests.conftest import shared_data_dir

DAY = 86_400_000
T0 = 1_700_000_000_000


def _days(n: int, symbols: int, seed: int) -> dict[str, TradeTable]:
    """`n` trades per symbol spread over about three days (several chunks)."""
    out = {}
    for i in range(symbols):
        s = f"S{i}USDT"
        t = synthetic_trades(s, n, seed + i, volatility=0.002)
        time = T0 + (t.time - T0) * (3 * DAY // max(1, int(t.time[-1] - T0)))
        out[s] = TradeTable(s, t.trade_id, t.price, t.qty, time, t.buyer_maker)
    return out


def _config(names: list[str]) -> BacktestConfig:
    filters = parse_exchange_info(synthetic_exchange_info(names, "0.0001", "0.1"))
    trading = {
        s: TradingSettings.parse(
            s, chunks=4, budget="100", buy_down_interval="0.0005", profit_interval="0.0005"
        )
        for s in names
    }
    return BacktestConfig(trading, filters)


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> tuple[Catalog, dict[str, TradeTable]]:
    tables = _days(6_000, 2, 11)
    catalog = Catalog(tmp_path_factory.mktemp("catalog"))
    for table in tables.values():
        catalog.write_table(table, "synthetic")
    return catalog, tables


def test_a_catalog_of_days_replays_as_its_trades_at_once(
    market: tuple[Catalog, dict[str, TradeTable]],
) -> None:
    catalog, tables = market
    config = _config(sorted(tables))
    source = CatalogSource(catalog, sorted(tables))
    assert len(source.days) >= 3 and source.count() == sum(len(t) for t in tables.values())
    whole = asyncio.run(run_backtest(tables, config))
    assert whole.summary.cycles_completed > 10
    streamed = asyncio.run(run_backtest(source, config))
    assert stable(streamed) == stable(whole)
    unread = asyncio.run(
        run_backtest(CatalogSource(catalog, sorted(tables), read_ahead=False), config)
    )
    assert stable(unread) == stable(whole)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(a=st.floats(0, 1), b=st.floats(0, 1), one=st.booleans())
def test_a_time_range_replays_the_trades_in_it(
    market: tuple[Catalog, dict[str, TradeTable]], a: float, b: float, one: bool
) -> None:
    catalog, tables = market
    names = ["S0USDT"] if one else sorted(tables)
    lo, hi = sorted((T0 + int(a * 3 * DAY), T0 + int(b * 3 * DAY) + 1))
    cut = {s: window(tables[s], lo, hi) for s in names}
    source = CatalogSource(catalog, names, lo, hi)
    assert source.count() == sum(len(t) for t in cut.values())
    if not source.count():
        return
    config = _config(names)
    expected = asyncio.run(run_backtest({s: t.slice(0, len(t)) for s, t in cut.items()}, config))
    assert stable(asyncio.run(run_backtest(source, config))) == stable(expected)


def test_unknown_symbols_are_named(market: tuple[Catalog, dict[str, TradeTable]]) -> None:
    catalog, _ = market
    with pytest.raises(DataError, match=r"no trades of BTCUSDT .*symbols: S0USDT, S1USDT"):
        CatalogSource(catalog, ["S0USDT", "btcusdt"])


def test_the_real_day_imported_is_the_real_day(tmp_path: Path) -> None:
    data = shared_data_dir("XRPUSDT-trades-2019-05-25.zip", "exchangeInfo.json")
    zip_path = data / "XRPUSDT-trades-2019-05-25.zip"
    catalog = Catalog(tmp_path / "catalog")
    catalog.import_files([zip_path])
    filters = load_exchange_info(data / "exchangeInfo.json")
    config = BacktestConfig({"XRPUSDT": TradingSettings("XRPUSDT")}, filters)
    files = asyncio.run(run_backtest(load_trades(zip_path).tables, config))
    stored = asyncio.run(run_backtest(CatalogSource(catalog, ["XRPUSDT"]), config))
    assert files.summary.ledger_sha256.startswith("24b4ed0e")
    assert stable(stored) == stable(files)
    assert np.array_equal(catalog.read("XRPUSDT").price, load_trades(zip_path).table().price)
