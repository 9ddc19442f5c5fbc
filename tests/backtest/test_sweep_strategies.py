"""`hedgehog sweep --strategy S --param key=v1,v2,...`: any strategy, any of its settings.

The `--param` entries and their exact ranges, naive's own options beside them (and refused for
another strategy), the plan checked by the strategy's own parser, the process pool equal to
in-process runs, and the real command: each row equals `hedgehog backtest` with the same
settings, bad input a clear error naming the parameter (exit 2, no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import pytest

from hedgehog.backtest.sweep import (
    DataSpec,
    check_plan,
    parse_param_entries,
    plan,
    process_pool,
    run_one,
    run_sweep,
    settings_grid,
)
from hedgehog.backtest.sweep_params import expand
from hedgehog.core.errors import ConfigError
from hedgehog.core.filters import parse_exchange_info
from hedgehog.market.synthetic import synthetic_exchange_info
from hedgehog.strategy.registry import load_strategy

SYMBOLS = ("AAAUSDT", "BBBUSDT")  # synthetic prices wander around 0.96 .. 1.00
# not compared: the timings, and the keys `backtest --json` adds beyond a sweep row's (issue 14)
STABLE = ("elapsed_s", "ticks_per_s", "symbols", "settings", "metrics", "skipped_rows")
GRID = {"lower": "0.95", "upper": "1.01"}


def _spec(strategy: str | None = "grid", trades: int = 8_000) -> DataSpec:
    filters = parse_exchange_info(synthetic_exchange_info(SYMBOLS, "0.0001", "0.1"))
    return DataSpec(
        tuple(filters.values()), synthetic=SYMBOLS, trades=trades, seed=3, strategy=strategy
    )


def _threads(spec: DataSpec) -> Executor:
    return ThreadPoolExecutor(1)


def _stable(result: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in STABLE}


def hedgehog(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hedgehog", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# ----------------------------------------------------------------------------- --param


def test_one_value_is_fixed_several_are_an_axis_in_the_order_given() -> None:
    fixed, axes, order = parse_param_entries(
        ["levels=3,5, 7", "lower=0.95", " upper = 1.01 ", "budget=100:300:100"]
    )
    assert fixed == {"lower": "0.95", "upper": "1.01"}
    assert axes == {"levels": ("3", "5", "7"), "budget": ("100", "200", "300")}
    assert order == ["levels", "lower", "upper", "budget"]


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("3..9", ("3", "4", "5", "6", "7", "8", "9")),
        ("3,5..7,20", ("3", "5", "6", "7", "20")),
        ("-2..1", ("-2", "-1", "0", "1")),
        ("4..4", ("4",)),
        ("0.36:0.40:0.01", ("0.36", "0.37", "0.38", "0.39", "0.40")),
        ("0.36:0.40:0.03", ("0.36", "0.39")),  # up to STOP, never past it
        ("1e-3:3e-3:1e-3", ("0.001", "0.002", "0.003")),
        ("0.1:0.3:0.1", ("0.1", "0.2", "0.3")),  # exact: never 0.30000000000000004
        ("3:9:2", ("3", "5", "7", "9")),
        ("-0.02:0.02:0.02", ("-0.02", "0.00", "0.02")),
        ("1E-9:3E-9:1E-9", ("0.000000001", "0.000000002", "0.000000003")),
    ],
)
def test_ranges_are_exact(text: str, values: tuple[str, ...]) -> None:
    assert expand(text, "--param x") == values


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["levels"], "--param 'levels': expected key=value or key=v1,v2,..."),
        (["=3"], "--param '=3': expected key=value"),
        (["levels="], "--param 'levels=': empty value"),
        (["levels=3,,5"], "--param 'levels=3,,5': empty value"),
        (["levels=3", "levels=5"], "--param levels given twice"),
        (["levels=3,3"], "--param 'levels=3,3': 3 is given twice"),
        (["levels=3,2..4"], "3 is given twice"),
        (["levels=9..3"], "--param 'levels=9..3': the range ends below its start"),
        (["levels=3..x"], "--param 'levels=3..x': A..B takes whole numbers"),
        (["lower=0.3..0.4"], "A..B takes whole numbers (e.g. 3..9); for decimals"),
        (["levels=2,3..x"], "--param 'levels=2,3..x': '3..x': A..B takes whole numbers"),
        (["levels=1..200000"], "--param 'levels=1..200000': 200,000 values (at most 100,000)"),
        (["lower=0.36:0.40"], "--param 'lower=0.36:0.40': a range is START:STOP:STEP"),
        (["lower=0.40:0.36:0.01"], "the range ends below its start"),
        (["lower=0.36:0.40:0"], "--param 'lower=0.36:0.40:0': the step must be positive"),
        (["lower=0.36:0.40:-0.01"], "the step must be positive"),
        (["lower=0.36:x:0.01"], "--param 'lower=0.36:x:0.01': 'x' is not a number"),
        (["lower=0:1:NaN"], "'NaN' is out of range"),
        (["lower=0:1:0.000001"], "1,000,001 values (at most 100,000)"),
    ],
)
def test_bad_param_entries_are_clear_errors(entries: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_param_entries(entries)
    assert message in str(caught.value)


def test_naive_options_join_params_in_canonical_order() -> None:
    values = {"chunks": 3, "budget": None, "fee": "0.002"}
    axes, fixed, order = settings_grid(
        "naive", ["profit_interval=0.001,0.002"], values, ["budget=100,200", "rebuy_interval=0.01"]
    )
    assert axes == {"profit_interval": ("0.001", "0.002"), "budget": ("100", "200")}
    assert fixed == {"chunks": "3", "fee": "0.002", "rebuy_interval": "0.01"}
    combos = plan(axes, fixed, order)
    assert len(combos) == 4
    assert list(combos[0]) == ["chunks", "budget", "profit_interval", "rebuy_interval", "fee"]


@pytest.mark.parametrize(
    ("strategy", "grid", "values", "params", "message"),
    [
        ("grid", [], {"chunks": 3}, [], "--chunks: naive's options; give grid's with --param"),
        ("grid", ["chunks=2,3"], {}, [], "--grid: naive's options; give grid's with --param"),
        ("naive", [], {"chunks": 3}, ["chunks=2,4"], "chunks given both as --chunks and --param"),
        ("naive", ["fee=0,0.001"], {}, ["fee=0.002"], "fee given both in --grid and --param"),
    ],
)
def test_options_given_two_ways_or_for_another_strategy_are_refused(
    strategy: str, grid: list[str], values: dict[str, Any], params: list[str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_grid(strategy, grid, values, params)


def test_the_strategy_checks_every_combination() -> None:
    grid = load_strategy("grid")
    filters = _spec().filter_map
    good = plan({"levels": ("3", "5")}, GRID, ["lower", "upper", "levels"])
    check_plan(good, filters, shown=["levels"], strategy=grid)
    assert good[0] == {"lower": "0.95", "upper": "1.01", "levels": "3"}

    def problem(axes: dict[str, tuple[str, ...]], fixed: Mapping[str, str]) -> str:
        with pytest.raises(ConfigError) as caught:
            check_plan(plan(axes, fixed), filters, shown=list(axes), strategy=grid)
        return str(caught.value)

    assert problem({"levels": ("3", "x", "1")}, GRID) == (
        "combination levels=x: grid: levels must be a whole number (got 'x') "
        "(and 1 more bad combinations)"
    )
    assert problem({"levels": ("5", "05")}, GRID) == (
        "combinations levels=5 and levels=05 are the same settings; give each value once"
    )
    assert problem({"upper": ("1.01", "1.010")}, {"lower": "0.95", "levels": "3"}).startswith(
        "combinations upper=1.01 and upper=1.010 are the same settings"
    )
    # a fixed setting's fault fails every combination alike: the strategy's message alone
    assert problem({"levels": ("3", "5")}, {"lower": "0.95"}) == (
        "grid needs upper (e.g. --param lower=0.40 --param upper=0.44 --param levels=5)"
    )
    assert problem({"levels": ("3", "5")}, {**GRID, "foo": "1"}).startswith(
        "grid: unknown setting 'foo'"
    )
    assert "collapse on the tick size" in problem(
        {"levels": ("3", "900")}, {"lower": "0.95", "upper": "0.9501"}
    )


# ----------------------------------------------------------------------------- running


def test_the_process_pool_equals_in_process_runs() -> None:
    combos = plan({"levels": ("3", "5", "9"), "budget": ("300", "600")}, GRID)
    spec = _spec()
    pooled = run_sweep(combos, spec, process_pool(2))
    local = run_sweep(combos, spec, _threads)
    assert all(o.ok for o in pooled + local), [o.error for o in pooled + local]
    assert [o.params for o in pooled] == [o.params for o in local] == combos
    assert [_stable(o.result or {}) for o in pooled] == [_stable(o.result or {}) for o in local]
    assert len({(o.result or {})["ledger_sha256"] for o in pooled}) == len(combos)
    assert any((o.result or {})["cycles_completed"] > 0 for o in pooled)


def test_naive_by_name_equals_the_default() -> None:
    params = {"chunks": "3", "budget": "200"}
    named = run_one(_spec("naive", 4_000), params)
    default = run_one(_spec(None, 4_000), params)
    assert _stable(named["result"]) == _stable(default["result"])


# ----------------------------------------------------------------------------- the command


def test_each_row_equals_the_single_backtest() -> None:
    data = ("--synthetic", "XRPUSDT", "--trades", "20000", "--seed", "1")
    swept = hedgehog(
        "sweep",
        *data,
        "--strategy",
        "grid",
        "--param",
        "lower=0.95",
        "--param",
        "upper=1.01",
        "--param",
        "levels=3,5,7,9",
        "--workers",
        "2",
        "--json",
    )
    assert swept.returncode == 0, swept.stderr
    document = json.loads(swept.stdout)
    assert document["strategy"] == "grid"
    assert document["combinations"] == 4 and document["failures"] == []
    runs = document["runs"]
    assert sorted(r["params"]["levels"] for r in runs) == ["3", "5", "7", "9"]
    assert sum(r["result"]["cycles_completed"] for r in runs) > 0
    for run in runs:
        params = run["params"]
        assert list(params) == ["lower", "upper", "levels"]
        args = [arg for key, value in params.items() for arg in ("--param", f"{key}={value}")]
        single = hedgehog("backtest", *data, "--strategy", "grid", *args, "--json")
        assert single.returncode == 0, single.stderr
        assert _stable(run["result"]) == _stable(json.loads(single.stdout))


def test_the_table_shows_the_axes_and_the_strategy() -> None:
    result = hedgehog(
        "sweep",
        "--synthetic",
        "XRPUSDT",
        "--trades",
        "3000",
        "--strategy",
        "grid",
        "--param",
        "lower=0.95:0.96:0.01",
        "--param",
        "upper=1.01",
        "--param",
        "levels=3..4",
        "--workers",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert "hedgehog sweep: 4 combinations, best net pnl first" in result.stdout
    assert "lower" in result.stdout and "levels" in result.stdout
    assert "grid, 1 worker" in result.stdout


GRID_ARGS = ("--strategy", "grid", "--param", "lower=0.95", "--param", "upper=1.01")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "nope"], "unknown strategy 'nope'"),
        ([*GRID_ARGS, "--param", "levels=3,x"], "combination levels=x: grid: levels must be a"),
        ([*GRID_ARGS, "--param", "levels=1,3"], "combination levels=1: grid: levels must be 2.."),
        ([*GRID_ARGS], "grid needs levels"),
        ([*GRID_ARGS, "--param", "levels=3", "--param", "foo=1,2"], "unknown setting 'foo'"),
        ([*GRID_ARGS, "--param", "levels=5,05"], "levels=5 and levels=05 are the same settings"),
        ([*GRID_ARGS, "--param", "levels=3", "--chunks", "2"], "--chunks: naive's options"),
        ([*GRID_ARGS, "--param", "levels=3", "--grid", "chunks=2,3"], "--grid: naive's options"),
        ([*GRID_ARGS, "--param", "levels=9..3"], "'levels=9..3': the range ends below its start"),
        ([*GRID_ARGS, "--param", "levels=3:9"], "'levels=3:9': a range is START:STOP:STEP"),
        ([*GRID_ARGS, "--param", "lower=0.9"], "--param lower given twice"),
        ([*GRID_ARGS, "--param", "levels"], "--param 'levels': expected key=value"),
        (["--param", "chunks=2", "--chunks", "3"], "chunks given both as --chunks and --param"),
        (["--param", "chunks=0,3"], "combination chunks=0: XRPUSDT: chunks must be at least 1"),
    ],
)
def test_bad_input_is_a_clear_error_naming_the_parameter(args: list[str], message: str) -> None:
    result = hedgehog("sweep", "--synthetic", "XRPUSDT", "--trades", "100", *args)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr
