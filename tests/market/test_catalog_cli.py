"""`hedgehog data import`, `data catalog`, `data exchange-info`, and `data download` into the
catalog; servers are ours, on 127.0.0.1 (an aiohttp stand-in of Binance, the simulator)."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer
from aiohttp import web
from typer.testing import CliRunner

from hedgehog.cli.data import data_app
from hedgehog.core.errors import ConfigError, DataError
from hedgehog.market.catalog import Catalog
from hedgehog.market.catalog_manifest import day_start_ms
from hedgehog.market.download_exchange_info import fetch_exchange_info
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades, write_binance_zip
from hedgehog.simulator.app import start_simulator
from tests.conftest import shared_data_dir
from tests.market.test_download import FakeBinance, _ServerThread, closed_port, day_zip

SYMBOL = "XRPUSDT"
INFO = json.dumps(synthetic_exchange_info([SYMBOL, "BTCUSDT"])).encode()
INFO_PATH = "/api/v3/exchangeInfo"


@pytest.fixture(autouse=True)
def _no_internet_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEHOG_REST_URL", f"http://127.0.0.1:{closed_port()}")


def cli(*args: str) -> tuple[int, str, str]:
    app = typer.Typer()
    app.add_typer(data_app, name="data")
    result = CliRunner().invoke(app, ["data", *args])
    return result.exit_code, result.stdout, result.stderr


def zips(tmp_path: Path, days: list[date], n: int = 300) -> Path:
    folder = tmp_path / "zips"
    folder.mkdir(exist_ok=True)
    for k, day in enumerate(days):
        t = synthetic_trades(SYMBOL, n, k, start_time_ms=day_start_ms(day), first_id=1 + k * n)
        write_binance_zip(t, folder)
    return folder


# --- data import / data catalog ------------------------------------------------------------


def test_import_a_folder_then_again(tmp_path: Path) -> None:
    folder = zips(tmp_path, [date(2024, 3, 1), date(2024, 3, 2)])
    cat = tmp_path / "cat"
    code, out, err = cli("import", str(folder), "--catalog", str(cat))
    assert code == 0, out + err
    row = next(line.replace("│", " ").split() for line in out.splitlines() if SYMBOL in line)
    assert row == [SYMBOL, "2", "0", "0", "600"]  # days added, merged, unchanged; rows
    assert "2 files imported" in out
    code, out, _ = cli("import", str(folder), "--catalog", str(cat), "--json")
    assert code == 0
    doc = json.loads(out)
    assert [s["status"] for s in doc["sources"]] == ["already imported"] * 2
    assert doc["days"] == [] and doc["catalog"] == str(cat)
    code, out, _ = cli("catalog", "--catalog", str(cat))
    assert code == 0 and "2024-03-01..2024-03-02" in out and "600" in out
    assert "exchange info: absent" in out and "hedgehog data exchange-info" in out


def test_import_goes_to_the_data_directory_by_default(tmp_path: Path) -> None:
    folder = zips(tmp_path, [date(2024, 3, 1)])
    assert cli("import", str(folder / f"{SYMBOL}-trades-2024-03-01.zip"))[0] == 0
    data_dir = Path(__import__("os").environ["HEDGEHOG_DATA_DIR"])
    assert Catalog.default(data_dir).rows(SYMBOL) == 300


def test_import_the_real_day(tmp_path: Path) -> None:
    data = shared_data_dir("XRPUSDT-trades-2019-05-25.zip")
    code, out, err = cli("import", str(data / "XRPUSDT-trades-2019-05-25.zip"),
                         "--catalog", str(tmp_path), "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["symbols"] == {
        SYMBOL: {"added": 1, "merged": 0, "unchanged": 0, "rows": 70_130}
    }


def test_import_bad_input_exits_non_zero_with_the_reason(tmp_path: Path) -> None:
    code, _, err = cli("import", str(tmp_path / "nope.zip"), "--catalog", str(tmp_path / "c"))
    assert code == 2 and "nope.zip: no such file or directory" in err
    junk = tmp_path / "junk.csv"
    junk.write_text("hello,world\n")
    code, _, err = cli("import", str(junk), "--catalog", str(tmp_path / "c"))
    assert code == 2 and "junk.csv: unrecognised format" in err
    folder = zips(tmp_path, [date(2024, 3, 1)])
    code, _, err = cli("import", str(folder), "--symbol", "BTCUSDT", "--catalog", str(tmp_path))
    assert code == 1 and "no file of BTCUSDT" in err


def test_catalog_verify_reports_a_damaged_file(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    cat.write_table(synthetic_trades(SYMBOL, 2000, 1, start_time_ms=day_start_ms(date(2024, 3, 1))))
    code, out, _ = cli("catalog", "--catalog", str(tmp_path), "--verify")
    assert code == 0 and "verified 1 file: all match the manifest" in out
    path = cat.partition_path(SYMBOL, date(2024, 3, 1))
    raw = bytearray(path.read_bytes())
    raw[100] ^= 0xFF
    path.write_bytes(bytes(raw))
    code, out, err = cli("catalog", "--catalog", str(tmp_path), "--verify")
    assert code == 1 and f"problem: {path}: sha256" in err and "1 problem in" in err
    code, out, _ = cli("catalog", "--catalog", str(tmp_path), "--verify", "--json")
    assert code == 1 and len(json.loads(out)["problems"]) == 1


def test_catalog_of_a_corrupt_manifest_exits_2(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("[]")
    code, _, err = cli("catalog", "--catalog", str(tmp_path))
    assert code == 2 and "corrupt catalog manifest" in err


# --- data exchange-info ---------------------------------------------------------------------


class Server:
    """An aiohttp app served from its own thread (the CLI runs its own event loop)."""

    def __init__(self, start: Callable[[], Awaitable[tuple[str, Callable[[], Awaitable[Any]]]]]):
        self.start = start
        self.loop = asyncio.new_event_loop()
        self.url = ""

    def __enter__(self) -> str:
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.url, self.stop = self.loop.run_until_complete(self.start())
            ready.set()
            self.loop.run_forever()
            self.loop.run_until_complete(self.stop())
            self.loop.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(10)
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def answering(status: int, body: bytes) -> Server:
    async def start() -> tuple[str, Callable[[], Awaitable[Any]]]:
        app = web.Application()

        async def handle(request: web.Request) -> web.Response:
            assert request.path == INFO_PATH
            return web.Response(status=status, body=body, content_type="application/json")

        app.router.add_get("/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}", runner.cleanup

    return Server(start)


def test_exchange_info_is_saved_into_the_catalog(tmp_path: Path) -> None:
    with answering(200, INFO) as url:
        code, out, err = cli("exchange-info", "--base-url", url, "--catalog", str(tmp_path))
    assert code == 0, err
    assert "2 symbols" in out and str(tmp_path / "exchangeInfo.json") in out
    assert (tmp_path / "exchangeInfo.json").read_bytes() == INFO
    assert list(Catalog(tmp_path).filters([SYMBOL])) == [SYMBOL]


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, b"oops", "HTTP 500"),
        (200, b"<html>", "not JSON"),
        (200, b'{"symbols": 3}', "not an exchangeInfo answer"),
        (200, b'{"symbols": []}', "lists no symbols"),
    ],
)
def test_exchange_info_refuses_a_bad_answer(
    tmp_path: Path, status: int, body: bytes, message: str
) -> None:
    dest = tmp_path / "info.json"
    dest.write_bytes(INFO)  # a good file already there stays
    with answering(status, body) as url:
        code, _, err = cli("exchange-info", "--base-url", url, "--dest", str(dest))
    assert code == 1 and message in err and f"{url}{INFO_PATH}" in err
    assert dest.read_bytes() == INFO


def test_exchange_info_bad_input_and_no_server(tmp_path: Path) -> None:
    code, _, err = cli("exchange-info", "--base-url", "api.binance.com", "--dest", str(tmp_path))
    assert code == 2 and "must start with http://" in err
    port = closed_port()
    code, _, err = cli("exchange-info", "--base-url", f"http://127.0.0.1:{port}",
                       "--dest", str(tmp_path / "i.json"))  # fmt: skip
    assert code == 1 and "failed" in err and not (tmp_path / "i.json").exists()


def test_exchange_info_from_the_simulator(tmp_path: Path) -> None:
    async def start() -> tuple[str, Callable[[], Awaitable[Any]]]:
        handle = await start_simulator(symbols=[SYMBOL, "ETHUSDT"])
        return handle.url, handle.close

    with Server(start) as url:
        code, _, err = cli("exchange-info", "--base-url", url, "--catalog", str(tmp_path))
    assert code == 0, err
    got = Catalog(tmp_path).filters(["ETHUSDT", SYMBOL])
    assert sorted(got) == ["ETHUSDT", SYMBOL]


async def test_fetch_reports_errors_as_hedgehog_errors() -> None:
    handle = await start_simulator(symbols=[SYMBOL])
    try:
        body, count = await fetch_exchange_info(handle.url + "/")
        assert count == 1 and json.loads(body)["symbols"][0]["symbol"] == SYMBOL
    finally:
        await handle.close()
    with pytest.raises(ConfigError, match="failed"):
        await fetch_exchange_info(f"http://127.0.0.1:{closed_port()}", timeout=5)
    assert issubclass(DataError, ValueError)


# --- data download into the catalog ---------------------------------------------------------


@pytest.fixture
def binance() -> Iterator[FakeBinance]:
    with _ServerThread(FakeBinance()) as fake:
        yield fake


def test_download_imports_into_the_catalog_and_fetches_exchange_info(
    binance: FakeBinance, tmp_path: Path
) -> None:
    days = [date(2020, 1, 2), date(2020, 1, 3)]
    for day in days:
        binance.add_day(day, day_zip(day, tmp_path))
    binance.files[INFO_PATH] = INFO
    cat = tmp_path / "cat"
    args = ["download", SYMBOL, "--from", "2020-01-02", "--to", "2020-01-03",
            "--dest", str(tmp_path / "d"), "--base-url", binance.url, "--catalog", str(cat),
            "--api-url", binance.url]  # fmt: skip
    code, out, err = cli(*args)
    assert code == 0, out + err
    catalog = Catalog(cat)
    assert catalog.days(SYMBOL) == days and catalog.rows(SYMBOL) == 6000
    assert (cat / "exchangeInfo.json").read_bytes() == INFO and "2 symbols" in out
    before = catalog.manifest_path.stat().st_mtime_ns
    asked = len([r for r in binance.requests if r[0] == INFO_PATH])
    code, out, err = cli(*args)
    assert code == 0 and "2 files already imported" in out
    assert catalog.manifest_path.stat().st_mtime_ns == before
    assert len([r for r in binance.requests if r[0] == INFO_PATH]) == asked  # not again


def test_download_warns_when_exchange_info_cannot_be_had(
    binance: FakeBinance, tmp_path: Path
) -> None:
    day = date(2020, 1, 2)
    binance.add_day(day, day_zip(day, tmp_path))  # no exchangeInfo: a 404
    code, out, err = cli("download", SYMBOL, "--from", "2020-01-02", "--to", "2020-01-02",
                         "--dest", str(tmp_path / "d"), "--base-url", binance.url,
                         "--catalog", str(tmp_path / "cat"), "--api-url", binance.url)  # fmt: skip
    assert code == 0, out + err
    assert "warning: could not fetch the exchange info" in err and "HTTP 404" in err
    assert "hedgehog data exchange-info --catalog" in err
    assert Catalog(tmp_path / "cat").rows(SYMBOL) == 3000


def test_download_no_catalog_only_downloads(binance: FakeBinance, tmp_path: Path) -> None:
    day = date(2020, 1, 2)
    binance.add_day(day, day_zip(day, tmp_path))
    code, out, err = cli("download", SYMBOL, "--from", "2020-01-02", "--to", "2020-01-02",
                         "--dest", str(tmp_path / "d"), "--base-url", binance.url,
                         "--catalog", str(tmp_path / "cat"), "--no-catalog")  # fmt: skip
    assert code == 0, out + err
    assert not (tmp_path / "cat").exists() and "exchange info" not in out + err


def test_import_draws_progress_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    from hedgehog.cli import data_catalog

    screen = io.StringIO()
    monkeypatch.setattr(data_catalog, "err", Console(file=screen, force_terminal=True, width=100))
    folder = zips(tmp_path, [date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)])
    code, out, err = cli("import", str(folder), "--catalog", str(tmp_path / "cat"))
    assert code == 0, out + err
    drawn = screen.getvalue()
    assert "importing" in drawn and "3/3" in drawn and "2024-03-03.zip" in drawn
