"""`hedgehog backtest --export DIR` and `--from/--to` on trade files, on the real day in
../shared/data: the files written, the trades kept (counted with numpy on the loaded table),
and clear errors for bad ranges."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from hedgehog.cli.backtest import backtest
from hedgehog.core.errors import ConfigError
from hedgehog.core.time_range import time_range
from hedgehog.market.loaders import load_trades
from tests.conftest import shared_data_dir

ZIP = "XRPUSDT-trades-2019-05-25.zip"
INFO = "exchangeInfo.json"
NAMES = [f"{t}.{x}" for t in ("orders", "fills", "cycles", "equity") for x in ("parquet", "csv")]


def _ms(text: str) -> int:
    """Epoch ms of a UTC time written as `datetime.fromisoformat` reads it (not our parser)."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def _args() -> list[str]:
    data = shared_data_dir(ZIP, INFO)
    return [str(data / ZIP), "--exchange-info", str(data / INFO)]


def _cli(*args: str) -> tuple[int, str, str]:
    app = typer.Typer()
    app.command()(backtest)
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, " ".join(result.stderr.split())


@pytest.fixture(scope="module")
def times() -> np.ndarray:
    data = shared_data_dir(ZIP)
    return load_trades([data / ZIP], symbol="XRPUSDT").tables["XRPUSDT"].time


@pytest.mark.shared_data
def test_export_with_json(tmp_path: Path) -> None:
    out = tmp_path / "new" / "exports"
    done = subprocess.run(
        [sys.executable, "-m", "hedgehog", "backtest", *_args(), "--export", str(out), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(done.stdout)
    assert list(data)[-1] == "exports" and list(data)[-2] == "skipped_rows"  # after the others
    assert data["exports"] == [str(out / n) for n in NAMES]
    assert sorted(p.name for p in out.iterdir()) == sorted(NAMES)
    assert pq.read_table(out / "orders.parquet").num_rows == data["orders_placed"]
    assert f"exports: {out}" in " ".join(done.stderr.split())


@pytest.mark.shared_data
def test_the_table_says_where_and_json_without_export_has_no_key(tmp_path: Path) -> None:
    code, out, err = _cli(*_args(), "--export", str(tmp_path))
    assert code == 0, err
    assert f"exports: {tmp_path} (orders.parquet, orders.csv," in err
    assert "hedgehog backtest" in out  # the table
    code, out, err = _cli(*_args(), "--to", "2019-05-25T00:10", "--json")
    assert code == 0, err
    assert "exports" not in json.loads(out)


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("2019-05-25T06:00", "2019-05-25T12:00:30.5Z"),
        ("2019-05-25T23:00:00", None),  # open end
        (None, "2019-05-25T00:30"),  # open start
        ("2019-05-25", "2019-05-25"),  # a whole day: everything
    ],
)
def test_a_range_keeps_exactly_its_trades(
    times: np.ndarray, first: str | None, last: str | None
) -> None:
    start = _ms(first) if first else 0
    end = (_ms(last.rstrip("Z")) if "T" in last else _ms(last) + 86_400_000) if last else 2**62
    expected = int(np.sum((times >= start) & (times < end)))
    args = [*(["--from", first] if first else []), *(["--to", last] if last else [])]
    code, out, err = _cli(*_args(), *args, "--json")
    assert code == 0, err
    assert json.loads(out)["ticks"] == expected
    assert (expected < len(times)) == (first != "2019-05-25")


@pytest.mark.shared_data
def test_to_a_time_is_exclusive(times: np.ndarray) -> None:
    """--to at a trade's very time leaves that trade out; --from at it keeps it."""
    at = int(times[5000])
    assert np.sum(times == at) >= 1 and at % 1000  # a time with milliseconds
    text = datetime.fromtimestamp(at / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    code, out, err = _cli(*_args(), "--to", text, "--json")
    assert code == 0, err
    assert json.loads(out)["ticks"] == int(np.sum(times < at))
    code, out, err = _cli(*_args(), "--from", text, "--json")
    assert code == 0, err
    assert json.loads(out)["ticks"] == int(np.sum(times >= at))


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--from", "2019-05-26"],
            "no trades from 2019-05-26T00:00:00.000Z on in the data given (they span "
            "2019-05-25T00:00:00.339Z to 2019-05-25T23:59:58.169Z)",
        ),
        (
            ["--from", "2019-05-24T10:00", "--to", "2019-05-24T11:00"],
            "no trades from 2019-05-24T10:00:00.000Z to 2019-05-24T11:00:00.000Z (excluded)",
        ),
        (["--from", "2019-05-26", "--to", "2019-05-25"], "--from 2019-05-26 is after --to"),
        (
            ["--from", "2019-05-25T12:00", "--to", "2019-05-25T12:00"],
            "or equal to it (--to is exclusive for a time)",
        ),
        (["--from", "2019-05-25T1200"], "--from '2019-05-25T1200' is not a day: give YYYY-MM"),
        (["--to", "2019-05-25T25:00"], "--to '2019-05-25T25:00' is not a day"),
        (["--to", "yesterday"], "--to 'yesterday' is not a day"),
        (["--export", "/proc/no/such"], "--export /proc/no/such: cannot create it"),
    ],
)
def test_bad_ranges_are_clear_errors(args: list[str], message: str) -> None:
    code, _, err = _cli(*_args(), *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_synthetic_has_no_range() -> None:
    code, _, err = _cli("--synthetic", "XRPUSDT", "--trades", "100", "--from", "2019-05-25")
    assert code == 2
    assert "--from and --to choose the time range of trade files or of --from-db" in err


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2019-05-25", "2019-05-25", (1558742400000, 1558828800000)),
        ("2019-05-25T06:30", None, (1558765800000, None)),
        (" 2019-05-25T06:30:15.25Z ", "2019-05-25 07:00:00", (1558765815250, 1558767600000)),
        (None, "2019-05-25T06:30:15.007", (None, 1558765815007)),
        (None, None, (None, None)),
        ("2024-02-29", "2024-03-01", (1709164800000, 1709337600000)),  # a leap day
    ],
)
def test_time_range(
    first: str | None, last: str | None, expected: tuple[int | None, int | None]
) -> None:
    # 2019-05-25T00:00Z is 1,558,742,400 s after the epoch (18,041 days × 86,400 s)
    assert 18_041 * 86_400_000 == 1558742400000
    assert time_range(first, last) == expected


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2019-5-25", None, "--from '2019-5-25' is not a day"),
        (None, "2019-02-29", "--to '2019-02-29' is not a day"),
        ("2019-05-25T06:30:15.1234", None, "is not a day"),  # below the millisecond
        ("2019-05-25T06:30+02:00", None, "is not a day"),  # UTC only
        ("2019-05-25", "2019-05-24", "--from 2019-05-25 is after --to 2019-05-24"),
        ("2019-05-25T00:00", "2019-05-24T23:59:59.999", "is after --to"),
    ],
)
def test_time_range_errors(first: str | None, last: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("+", r"\+")):
        time_range(first, last)
