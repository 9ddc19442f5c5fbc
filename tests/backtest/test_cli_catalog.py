"""`hedgehog backtest --symbol S [--catalog DIR]`, end to end through the real CLI: the catalog
workflow of the README (import, exchangeInfo in the catalog, backtest, report) gives what the
files give, with --from/--to alike; clear errors for what is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import shared_data_dir

DAY = "XRPUSDT-trades-2019-05-25.zip"


def hedgehog(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if data_dir is not None:
        env["HEDGEHOG_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "hedgehog", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def figures(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    for key in ("elapsed_s", "ticks_per_s"):
        out.pop(key)
    out.pop("skipped_rows")  # names the files read: differs by design
    return out


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shared = shared_data_dir(DAY, "exchangeInfo.json")
    home = tmp_path_factory.mktemp("home")
    done = hedgehog("data", "import", str(shared / DAY), data_dir=home)
    assert done.returncode == 0, done.stderr
    shutil.copy(shared / "exchangeInfo.json", home / "catalog" / "exchangeInfo.json")
    return home


def test_the_default_catalog_gives_the_files_ledger(data_dir: Path) -> None:
    shared = shared_data_dir()
    files = figures(
        hedgehog(
            "backtest",
            str(shared / DAY),
            "--exchange-info",
            str(shared / "exchangeInfo.json"),
            "--json",
        )
    )
    stored = figures(hedgehog("backtest", "--symbol", "xrpusdt", "--json", data_dir=data_dir))
    assert stored["ledger_sha256"].startswith("24b4ed0e")
    assert stored == files


def test_a_range_of_the_catalog_is_the_range_of_the_files(data_dir: Path, tmp_path: Path) -> None:
    shared = shared_data_dir()
    span = ("--from", "2019-05-25T06:00", "--to", "2019-05-25T12:00:00Z")
    files = figures(
        hedgehog(
            "backtest",
            str(shared / DAY),
            "--exchange-info",
            str(shared / "exchangeInfo.json"),
            *span,
            "--json",
        )
    )
    done = hedgehog(
        "backtest",
        "--catalog",
        str(data_dir / "catalog"),
        "--symbol",
        "XRPUSDT",
        *span,
        "--report",
        str(tmp_path / "report"),
        "--json",
    )
    stored = figures(done)
    assert 0 < stored["ticks"] < 70_130 and stored == files
    assert (tmp_path / "report" / "index.html").is_file()
    assert (tmp_path / "report" / "price_XRPUSDT.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbol", "BTCUSDT"], "no trades of BTCUSDT in the catalog"),
        (["--catalog", "{missing}", "--symbol", "XRPUSDT"], "no catalog at"),
        (["--catalog", "{catalog}"], "--catalog reads the symbols named by --symbol"),
        (["--symbol", "XRPUSDT", "--from", "2020-01-01"], "no trades of XRPUSDT in"),
        (["--catalog", "{catalog}", "--symbol", "X", "--synthetic", "XRPUSDT"], "only one of them"),
    ],
)
def test_clear_errors(data_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    filled = [a.format(missing=tmp_path / "nothing", catalog=data_dir / "catalog") for a in args]
    done = hedgehog("backtest", *filled, data_dir=data_dir)
    assert done.returncode != 0
    assert message in " ".join(done.stderr.split()), done.stderr


def test_a_catalog_without_exchange_info_says_where_it_comes_from(tmp_path: Path) -> None:
    shared = shared_data_dir(DAY)
    assert hedgehog("data", "import", str(shared / DAY), data_dir=tmp_path).returncode == 0
    done = hedgehog("backtest", "--symbol", "XRPUSDT", data_dir=tmp_path)
    assert done.returncode != 0 and "hedgehog data exchange-info" in done.stderr


def test_a_sweep_over_the_catalog_is_its_backtests(data_dir: Path) -> None:
    span = ("--from", "2019-05-25T03:00")
    done = hedgehog(
        "sweep", "--symbol", "XRPUSDT", *span, "--grid", "profit_interval=0.001,0.002", "--json",
        data_dir=data_dir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)["runs"]
    assert len(runs) == 2
    for run in runs:
        one = hedgehog(
            "backtest", "--symbol", "XRPUSDT", *span,
            "--profit-interval", run["params"]["profit_interval"], "--json",
            data_dir=data_dir,
        )  # fmt: skip
        assert figures(one)["ledger_sha256"] == run["result"]["ledger_sha256"]
        assert 0 < run["result"]["ticks"] < 70_130
