"""`hedgehog sweep --rank-by METRIC --top N --report DIR`: the command's ranking, its table and
JSON, the best combination's report (that of `hedgehog backtest --report`), and on the real day
the best row by net PnL."""

from __future__ import annotations

import json
import re
from concurrent.futures import Executor, ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from hedgehog.backtest.sweep import DataSpec, prepare
from hedgehog.cli import sweep as sweep_command
from hedgehog.cli.backtest import backtest
from hedgehog.cli.sweep import sweep

DATA = Path("/work/shared/data")
DAY = DATA / "XRPUSDT-trades-2019-05-25.zip"
INFO = DATA / "exchangeInfo.json"
SYNTHETIC = ("--synthetic", "AAAUSDT", "--trades", "4000", "--seed", "3", "--budget", "100")
GRID = ("--grid", "profit_interval=0.001,0.002,0.004", "--grid", "chunks=2,3")


def _threads(spec: DataSpec) -> Executor:
    return ThreadPoolExecutor(1)


@pytest.fixture(autouse=True)
def in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's sweeps run on a thread in this process (quick)."""
    monkeypatch.setattr(sweep_command, "process_pool", lambda workers: _threads)


def _invoke(*args: str) -> tuple[int, str, str]:
    app = typer.Typer()
    app.command()(sweep)
    app.command()(backtest)
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _json(*args: str) -> dict[str, Any]:
    code, out, err = _invoke(*args, "--json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def _net(run: dict[str, Any]) -> Decimal:
    return Decimal(run["result"]["realised_pnl"]) + Decimal(run["result"]["unrealised_pnl"])


def test_top_n_of_a_lower_is_better_ranking() -> None:
    every = _json("sweep", *SYNTHETIC, *GRID, "--rank-by", "max_drawdown")
    best = _json("sweep", *SYNTHETIC, *GRID, "--rank-by", "max-drawdown", "--top", "2")
    assert (every["rank_by"], every["sorted_by"], every["higher_is_better"]) == (
        "max_drawdown",
        "max_drawdown",
        False,
    )
    assert (every["top"], every["combinations"], every["ranked"]) == (None, 6, 6)
    assert (best["top"], best["combinations"], best["ranked"]) == (2, 6, 6)
    assert [r["params"] for r in best["runs"]] == [r["params"] for r in every["runs"][:2]]
    drawdowns = [Decimal(r["metrics"]["max_drawdown"]) for r in every["runs"]]
    assert drawdowns == sorted(drawdowns)  # lowest first
    assert [r["rank_value"] for r in every["runs"]] == [
        r["metrics"]["max_drawdown"] for r in every["runs"]
    ]
    for run in every["runs"]:  # the metrics are the run's own
        assert Decimal(run["metrics"]["net_pnl"]) == _net(run).quantize(Decimal("1e-8"))
        assert set(run["symbols"]) == {"AAAUSDT"}


def test_net_pnl_ranks_by_default() -> None:
    data = _json("sweep", *SYNTHETIC, *GRID)
    assert data["rank_by"] == data["sorted_by"] == "net_pnl" and data["higher_is_better"]
    nets = [_net(r) for r in data["runs"]]
    assert nets == sorted(nets, reverse=True)
    assert [r["rank_value"] for r in data["runs"]] == [str(n) for n in nets]


def test_the_table_shows_net_pnl_and_the_ranking_metric() -> None:
    code, out, err = _invoke("sweep", *SYNTHETIC, *GRID, "--rank-by", "fees", "--top", "3")
    assert code == 0, err
    assert "best fees first (lowest)" in out
    assert "net PnL" in out and "realised PnL" in out and "fees" in out
    rows = [row for line in out.splitlines() if (row := line.split()) and row[0].isdigit()]
    assert [row[0] for row in rows] == ["1", "2", "3"]
    fees = [Decimal(row[6]) for row in rows]  # #, profit, chunks, net, realised, cycles, fees
    assert fees == sorted(fees)
    code, out, err = _invoke("sweep", *SYNTHETIC, *GRID, "--rank-by", "sharpe")
    assert code == 0, err
    assert "Sharpe" in out and "n/a" in out  # a minute of trades: no hourly returns


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rank-by", "profit"], "--rank-by: cannot rank by 'profit'; choose from net_pnl,"),
        (["--rank-by", ""], "choose from net_pnl, total_pnl, realised_pnl, cycles_completed"),
        (["--top", "0"], "--top must be at least 1"),
        (["--top", "-3"], "--top must be at least 1"),
    ],
)
def test_bad_ranking_options_exit_2(args: list[str], message: str) -> None:
    code, _, err = _invoke("sweep", *SYNTHETIC, *GRID, *args)
    assert code == 2
    assert message in " ".join(err.split())


def test_a_report_that_cannot_be_written_fails_before_the_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweep_command, "run_sweep", None)  # never reached
    (tmp_path / "file").write_text("not a directory")
    code, _, err = _invoke("sweep", *SYNTHETIC, *GRID, "--report", str(tmp_path / "file" / "x"))
    assert code == 2
    assert "--report: cannot write into" in err


_TIMING = re.compile(r"<code>(elapsed_s|ticks_per_s)</code></td><td[^>]*>[^<]*</td>")


def _page(folder: Path) -> str:
    """The report's page without its timings (the wall clock of the run)."""
    return _TIMING.sub("", (folder / "index.html").read_text(encoding="utf-8"))


def test_the_report_is_the_best_combinations(tmp_path: Path) -> None:
    data = _json(
        "sweep", *SYNTHETIC, *GRID, "--rank-by", "realised", "--report", str(tmp_path / "best")
    )
    best = data["runs"][0]
    assert data["report"] == str(tmp_path / "best" / "index.html")
    realised = [Decimal(r["result"]["realised_pnl"]) for r in data["runs"]]
    assert realised[0] == max(realised)
    p = best["params"]
    code, _, err = _invoke(
        "backtest",
        *SYNTHETIC,
        "--chunks",
        p["chunks"],
        "--profit-interval",
        p["profit_interval"],
        "--report",
        str(tmp_path / "single"),
    )
    assert code == 0, err
    page = _page(tmp_path / "best")
    assert best["result"]["ledger_sha256"] in page
    assert page == _page(tmp_path / "single")
    pngs = sorted(f.name for f in (tmp_path / "single").glob("*.png"))
    assert pngs and pngs == sorted(f.name for f in (tmp_path / "best").glob("*.png"))
    for name in pngs:
        assert (tmp_path / "best" / name).read_bytes() == (tmp_path / "single" / name).read_bytes()
    assert not list((tmp_path / "best").glob(".report-*"))  # no scratch left behind


def test_the_table_names_the_report(tmp_path: Path) -> None:
    code, _, err = _invoke("sweep", *SYNTHETIC, *GRID, "--report", str(tmp_path))
    assert code == 0, err
    assert f"report: {tmp_path / 'index.html'} (the best by net_pnl)" in " ".join(err.split())
    assert (tmp_path / "index.html").is_file()


@pytest.mark.skipif(not (DAY.is_file() and INFO.is_file()), reason=f"{DAY} or {INFO} absent")
def test_the_real_day_best_by_net_has_the_highest_net() -> None:
    data = _json(
        "sweep",
        str(DAY),
        "--exchange-info",
        str(INFO),
        "--grid",
        "profit_interval=0.003,0.01",
        "--grid",
        "chunks=2,5",
    )
    runs = data["runs"]
    assert len(runs) == 4 and data["rank_by"] == "net_pnl"
    nets = [_net(r) for r in runs]
    assert all(nets[0] >= net for net in nets[1:])
    # on this day realised PnL picks another combination than net PnL (issue 14's case)
    realised = [Decimal(r["result"]["realised_pnl"]) for r in runs]
    assert realised[0] < max(realised)
    assert all(r["metrics"]["sharpe"] is not None for r in runs)  # a day: 24 hourly returns


def test_a_best_combination_that_reruns_differently_writes_no_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = prepare

    def other(spec: DataSpec, params: dict[str, str]) -> Any:
        return real(spec, {**params, "chunks": "4"})  # not the combination ranked

    monkeypatch.setattr(sweep_command, "prepare", other)
    code, _, err = _invoke("sweep", *SYNTHETIC, *GRID, "--report", str(tmp_path))
    assert code == 2
    assert "re-run here gave another ledger than in its worker" in " ".join(err.split())
    assert not (tmp_path / "index.html").exists()
