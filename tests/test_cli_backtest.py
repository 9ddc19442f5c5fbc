"""End-to-end: the real `hedgehog backtest` command, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hedgehog.market.synthetic import synthetic_trades, write_binance_zip
from tests.conftest import shared_data_dir


def hedgehog(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hedgehog", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _stable(out: str) -> dict[str, object]:
    data = json.loads(out)
    for key in ("elapsed_s", "ticks_per_s", "restarts"):
        data.pop(key)
    return data


def test_synthetic_backtest_json_is_reproducible() -> None:
    args = ("backtest", "--synthetic", "XRPUSDT,ETHUSDT", "--trades", "5000", "--json")
    first, second = hedgehog(*args), hedgehog(*args)
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    for key in (
        "ticks",
        "orders_placed",
        "buys_filled",
        "sells_filled",
        "cycles_completed",
        "open_buy_orders",
        "open_sell_orders",
        "realised_pnl",
        "fees_paid",
        "unrealised_pnl",
        "traders_started",
        "restarts",
        "ledger_sha256",
        "elapsed_s",
        "ticks_per_s",
    ):
        assert key in data
    assert data["ticks"] == 10_000
    assert isinstance(data["realised_pnl"], str)
    assert _stable(second.stdout) == _stable(first.stdout)


def test_chaos_flag_changes_only_restarts() -> None:
    base = hedgehog("backtest", "--synthetic", "XRPUSDT", "--trades", "8000", "--json")
    chaos = hedgehog(
        "backtest",
        "--synthetic",
        "XRPUSDT",
        "--trades",
        "8000",
        "--json",
        "--chaos-kills",
        "15",
        "--chaos-seed",
        "3",
    )
    assert chaos.returncode == 0, chaos.stderr
    assert json.loads(chaos.stdout)["restarts"] >= 15
    assert _stable(chaos.stdout) == _stable(base.stdout)


def test_readable_summary() -> None:
    result = hedgehog("backtest", "--synthetic", "XRPUSDT", "--trades", "2000")
    assert result.returncode == 0, result.stderr
    assert "cycles completed" in result.stdout
    assert "ledger sha256" in result.stdout


def test_binance_zip_with_explicit_filters(tmp_path: Path) -> None:
    zipped = write_binance_zip(
        synthetic_trades("ABCUSDT", 3000, seed=4), tmp_path / "ABCUSDT-trades-2024-01-02.zip"
    )
    result = hedgehog(
        "backtest",
        str(zipped),
        "--tick-size",
        "0.0001",
        "--step-size",
        "0.1",
        "--min-notional",
        "1",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ticks"] == 3000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backtest", "missing.zip", "--tick-size", "1", "--step-size", "1"], "missing.zip"),
        (["backtest", "--synthetic", "XRPUSDT", "--budget", "-5"], "budget must be positive"),
        (["backtest", "--synthetic", "XRPUSDT", "--chunks", "0"], "chunks must be at least 1"),
        (["backtest", "--synthetic", "XRPUSDT", "--budget", "2", "--chunks", "5"], "min notional"),
        (["backtest", "--synthetic", "XRPUSDT", "--fee", "abc"], "not a number"),
        (["backtest"], "give trade files"),
    ],
)
def test_bad_input_is_a_clear_error(args: list[str], message: str) -> None:
    result = hedgehog(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_row_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "ABCUSDT-trades-2024-01-02.csv"
    bad.write_text("1,0.5,10,5,1700000000000,True,True\n2,oops,10,5,1700000000001,True,True\n")
    result = hedgehog("backtest", str(bad), "--tick-size", "0.0001", "--step-size", "0.1")
    assert result.returncode == 2
    assert "ABCUSDT-trades-2024-01-02.csv" in result.stderr
    assert "line 2" in result.stderr
    skipped = hedgehog(
        "backtest",
        str(bad),
        "--tick-size",
        "0.0001",
        "--step-size",
        "0.1",
        "--skip-bad-rows",
        "--json",
    )
    assert skipped.returncode == 0, skipped.stderr
    assert json.loads(skipped.stdout)["ticks"] == 1


@pytest.mark.shared_data
def test_the_issue_command_on_the_real_day() -> None:
    data = shared_data_dir("XRPUSDT-trades-2019-05-25.zip", "exchangeInfo.json")
    result = hedgehog(
        "backtest",
        str(data / "XRPUSDT-trades-2019-05-25.zip"),
        "--symbol",
        "XRPUSDT",
        "--exchange-info",
        str(data / "exchangeInfo.json"),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ticks"] == 70_130


def test_report_option_writes_a_self_contained_page(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = hedgehog(
        "backtest", "--synthetic", "XRPUSDT", "--trades", "3000", "--report", str(out), "--json"
    )
    assert result.returncode == 0, result.stderr
    page = (out / "index.html").read_text()
    assert "data:image/png;base64," in page and "<script" not in page
    assert (out / "price_XRPUSDT.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


GRID = ("--strategy", "grid", "--param", "lower=0.37", "--param", "upper=0.41")


@pytest.mark.shared_data
def test_grid_on_the_real_day_is_exact_and_chaos_invariant(tmp_path: Path) -> None:
    """The issue's command: `hedgehog backtest FILE --strategy grid --param ... --json`."""
    data = shared_data_dir("XRPUSDT-trades-2019-05-25.zip", "exchangeInfo.json")
    base = (
        "backtest",
        str(data / "XRPUSDT-trades-2019-05-25.zip"),
        "--exchange-info",
        str(data / "exchangeInfo.json"),
        *GRID,
        "--param",
        "levels=9",
        "--json",
    )
    runs = [hedgehog(*base, *extra) for extra in ((), ("--every-tick",), ("--chaos-kills", "20"))]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    first, *others = [_stable(r.stdout) for r in runs]
    assert first["cycles_completed"] == 3 and first["orders_placed"] == 13
    assert first["ledger_sha256"] == (
        "efae7117542e077f2671dbf2d0723da917bba7e4010115b1ad295090d0447231"
    )
    assert all(o == first for o in others)  # every tick and chaos: the same ledger
    report = hedgehog(*base, "--report", str(tmp_path / "grid"))
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "grid" / "index.html").read_text()
    assert "levels" in page and "lower" in page  # the grid's own settings are shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "grid"], "grid needs lower, upper, levels"),
        ([*GRID, "--param", "levels=9", "--chunks", "3"], "--chunks: naive's options"),
        ([*GRID, "--param", "levels"], "expected key=value"),
        ([*GRID, "--param", "levels=9", "--param", "levels=3"], "levels given twice"),
        (["--strategy", "martingale"], "unknown strategy 'martingale'"),
        (["--param", "chunks=3", "--chunks", "4"], "chunks given both as --chunks and --param"),
    ],
)
def test_bad_strategy_input_is_a_clear_error(args: list[str], message: str) -> None:
    result = hedgehog("backtest", "--synthetic", "XRPUSDT", "--trades", "500", *args)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_naive_settings_by_param_equal_its_own_options() -> None:
    common = ("backtest", "--synthetic", "XRPUSDT", "--trades", "5000", "--json")
    by_flag = hedgehog(*common, "--chunks", "3", "--budget", "300")
    by_param = hedgehog(*common, "--param", "chunks=3", "--param", "budget=300")
    assert by_flag.returncode == by_param.returncode == 0, by_param.stderr
    assert _stable(by_flag.stdout) == _stable(by_param.stdout)
