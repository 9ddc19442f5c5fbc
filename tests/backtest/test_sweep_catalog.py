"""A sweep over the Parquet catalog (issue 14, item 5): each run streams the catalog and gets
the very results of the same trades given as synthetic data; a time range cuts both alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgehog.backtest.sweep import prepare, run_one
from hedgehog.backtest.sweep_data import DataSpec, SweepDataError, sweep_input
from hedgehog.core.filters import parse_exchange_info
from hedgehog.market.catalog import Catalog
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades

NAMES = ("AAAUSDT", "BBBUSDT")
FILTERS = tuple(parse_exchange_info(synthetic_exchange_info(list(NAMES), "0.0001", "0.1")).values())
PARAMS = {"chunks": "3", "budget": "100", "buy_down_interval": "0.0005", "profit_interval": "0.001"}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    catalog = Catalog(tmp_path_factory.mktemp("catalog"))
    for i, s in enumerate(NAMES):
        catalog.write_table(synthetic_trades(s, 20_000, 5 + i), "synthetic")
    return catalog.root


def _without_time(row: dict) -> dict:  # type: ignore[type-arg]
    result = {k: v for k, v in row["result"].items() if k not in ("elapsed_s", "ticks_per_s")}
    return {**row, "result": result}


def test_a_catalog_run_is_the_run_of_its_trades(root: Path) -> None:
    synthetic = DataSpec(FILTERS, synthetic=NAMES, trades=20_000, seed=5)
    stored = DataSpec(FILTERS, catalog=str(root), catalog_symbols=NAMES)
    a, b = run_one(synthetic, PARAMS), run_one(stored, PARAMS)
    assert a["result"]["cycles_completed"] > 5
    assert _without_time(a) == _without_time(b)
    data, config = prepare(stored, PARAMS)
    assert not isinstance(data, dict) and sorted(config.settings) == list(NAMES)


def test_a_time_range_cuts_files_and_catalog_alike(root: Path) -> None:
    first = int(synthetic_trades(NAMES[0], 1, 5).time[0])
    span = dict(start_ms=first + 10_000, end_ms=first + 40_000)
    synthetic = DataSpec(FILTERS, synthetic=NAMES, trades=20_000, seed=5, **span)
    stored = DataSpec(FILTERS, catalog=str(root), catalog_symbols=NAMES, **span)
    a, b = run_one(synthetic, PARAMS), run_one(stored, PARAMS)
    whole = run_one(DataSpec(FILTERS, synthetic=NAMES, trades=20_000, seed=5), PARAMS)
    assert 0 < a["result"]["ticks"] < whole["result"]["ticks"]
    assert _without_time(a) == _without_time(b)


def test_a_symbol_missing_from_the_catalog_is_a_data_error(root: Path) -> None:
    spec = DataSpec(FILTERS, catalog=str(root), catalog_symbols=("CCCUSDT",))
    with pytest.raises(SweepDataError, match="no trades of CCCUSDT"):
        sweep_input(spec)
