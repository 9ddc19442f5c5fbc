"""`hedgehog data download` against a local stand-in of data.binance.vision (127.0.0.1 only):
checksums, 404 days, resumed and restarted transfers, skips, network failures, exit codes."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import typer
from aiohttp import web
from rich.console import Console
from typer.testing import CliRunner

from hedgehog.cli import data as data_command
from hedgehog.cli.data import data_app
from hedgehog.core.errors import ConfigError
from hedgehog.market.download import (
    DayStatus,
    download_days,
    parse_checksum,
    trades_file_name,
    trades_url,
)
from hedgehog.market.loaders import load_trades
from hedgehog.market.synthetic import synthetic_trades, write_binance_zip
from tests.conftest import shared_data_dir

SYMBOL = "XRPUSDT"
REAL_DAY = date(2019, 5, 25)
REAL_ZIP = trades_file_name(SYMBOL, REAL_DAY)
FAST = {"retries": 2, "backoff": 0.01, "timeout": 5.0}


@dataclass
class FakeBinance:
    """Serves `files` (URL path -> bytes) like data.binance.vision; anything else is a 404."""

    files: dict[str, bytes] = field(default_factory=dict)
    ranges: bool = True  # honour Range requests with 206
    drop_after: dict[str, int] = field(default_factory=dict)  # once: send n bytes, then hang up
    fail_first: dict[str, int] = field(default_factory=dict)  # path -> 503s before serving
    stall: set[str] = field(default_factory=set)  # paths that never answer in time
    delay: float = 0.0
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)
    in_flight: int = 0
    max_in_flight: int = 0
    url: str = ""

    def add_day(self, day: date, body: bytes, checksum_of: bytes | None = None) -> str:
        """Publish a day's zip and its checksum (of `checksum_of`, to corrupt it); its path."""
        name = trades_file_name(SYMBOL, day)
        path = trades_url("", SYMBOL, day)
        sha = hashlib.sha256(body if checksum_of is None else checksum_of).hexdigest()
        self.files[path] = body
        self.files[path + ".CHECKSUM"] = f"{sha}  {name}\n".encode()
        return path

    def zip_requests(self) -> list[tuple[str, str | None]]:
        return [r for r in self.requests if r[0].endswith(".zip")]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path, wanted = request.path, request.headers.get("Range")
        self.requests.append((path, wanted))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            if path in self.stall:
                await asyncio.sleep(2)
            if self.fail_first.get(path, 0) > 0:
                self.fail_first[path] -= 1
                return web.Response(status=503, text="slow down")
            body = self.files.get(path)
            if body is None:
                return web.Response(status=404, text="NoSuchKey")
            return await self._send(request, path, body, wanted)
        finally:
            self.in_flight -= 1

    async def _send(
        self, request: web.Request, path: str, body: bytes, wanted: str | None
    ) -> web.StreamResponse:
        start = 0
        resp = web.StreamResponse(status=200)
        if wanted and self.ranges:
            m = re.fullmatch(r"bytes=(\d+)-", wanted)
            assert m, wanted
            start = int(m.group(1))
            if start >= len(body):
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(body)}"})
            resp.set_status(206)
            resp.headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
        resp.content_length = len(body) - start
        await resp.prepare(request)
        cut = self.drop_after.pop(path, None)
        if cut is not None:  # promise the whole file, send part of it, hang up
            await resp.write(body[start : start + cut])
            assert request.transport is not None
            request.transport.close()
            return resp
        await resp.write(body[start:])
        await resp.write_eof()
        return resp


class _ServerThread:
    """The fake server on its own event loop, so both async tests and the CLI (which runs
    its own `asyncio.run`) can use it."""

    def __init__(self, fake: FakeBinance) -> None:
        self.fake = fake
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.runner: web.AppRunner | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self._stop())
        self.loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.fake.handle)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.fake.url = f"http://{host}:{port}"

    async def _stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    def __enter__(self) -> FakeBinance:
        self.thread.start()
        assert self.ready.wait(10), "the fake server did not start"
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(autouse=True)
def _no_internet_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """`data download` fetches exchangeInfo into the catalog: from a closed local port here."""
    monkeypatch.setenv("HEDGEHOG_REST_URL", f"http://127.0.0.1:{closed_port()}")


@pytest.fixture
def binance() -> Iterator[FakeBinance]:
    with _ServerThread(FakeBinance()) as fake:
        yield fake


def day_zip(day: date, tmp_path: Path, n: int = 3000, seed: int = 7) -> bytes:
    """A synthetic Binance trades zip of the day (seeded, so always the same bytes)."""
    start_ms = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000
    table = synthetic_trades(SYMBOL, n, seed + day.toordinal(), start_time_ms=start_ms)
    folder = tmp_path / "made" / day.isoformat()
    folder.mkdir(parents=True)
    return write_binance_zip(table, folder).read_bytes()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def span(first: str, last: str, *more: str) -> list[str]:
    """`--from first --to last` and more options."""
    return ["--from", first, "--to", last, *more]


def cli(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    app = typer.Typer()
    app.add_typer(data_app, name="data")
    result = CliRunner().invoke(app, ["data", "download", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


# --- the real day of ../shared/data, served under Binance's layout ---------------------------


@pytest.mark.shared_data
async def test_the_real_day_downloads_verified_and_loads(
    binance: FakeBinance, tmp_path: Path
) -> None:
    shared = shared_data_dir(REAL_ZIP, REAL_ZIP + ".CHECKSUM")
    path = trades_url("", SYMBOL, REAL_DAY)
    assert path == f"/data/spot/daily/trades/XRPUSDT/{REAL_ZIP}"
    binance.files[path] = (shared / REAL_ZIP).read_bytes()
    binance.files[path + ".CHECKSUM"] = (shared / (REAL_ZIP + ".CHECKSUM")).read_bytes()
    dest = tmp_path / "data"

    report = await download_days(
        "xrpusdt", date(2019, 5, 24), date(2019, 5, 26), dest, binance.url, **FAST
    )

    assert [d.status for d in report.days] == [
        DayStatus.MISSING,
        DayStatus.DOWNLOADED,
        DayStatus.MISSING,
    ]
    assert report.missing[0].detail == "no file for 2019-05-24 (404)"
    assert report.exit_code == 0 and report.ok
    assert files_in(dest) == [REAL_ZIP, REAL_ZIP + ".CHECKSUM"]  # no .part left behind
    assert (dest / REAL_ZIP).read_bytes() == (shared / REAL_ZIP).read_bytes()
    assert (dest / (REAL_ZIP + ".CHECKSUM")).read_bytes() == binance.files[path + ".CHECKSUM"]
    loaded = load_trades(report.paths()).table(SYMBOL)
    assert len(loaded) == len(load_trades(shared / REAL_ZIP).table(SYMBOL)) > 50_000


# --- the core, on synthetic days -------------------------------------------------------------


async def test_skips_days_already_there_and_verified(binance: FakeBinance, tmp_path: Path) -> None:
    day = date(2020, 1, 2)
    binance.add_day(day, day_zip(day, tmp_path))
    dest = tmp_path / "data"
    first = await download_days(SYMBOL, day, day, dest, binance.url, **FAST)
    assert [d.status for d in first.days] == [DayStatus.DOWNLOADED]
    binance.requests.clear()

    again = await download_days(SYMBOL, day, day, dest, binance.url, **FAST)

    assert [d.status for d in again.days] == [DayStatus.SKIPPED]
    assert again.skipped[0].size == len(binance.files[trades_url("", SYMBOL, day)])
    assert binance.requests == []  # verified against the kept checksum file: no request
    assert again.exit_code == 0


async def test_a_damaged_local_file_is_downloaded_again(
    binance: FakeBinance, tmp_path: Path
) -> None:
    day = date(2020, 1, 2)
    body = day_zip(day, tmp_path)
    binance.add_day(day, body)
    dest = tmp_path / "data"
    await download_days(SYMBOL, day, day, dest, binance.url, **FAST)
    (dest / trades_file_name(SYMBOL, day)).write_bytes(body[:-10] + b"x" * 10)

    report = await download_days(SYMBOL, day, day, dest, binance.url, **FAST)

    assert [d.status for d in report.days] == [DayStatus.DOWNLOADED]
    assert "failed its checksum" in report.days[0].note
    assert (dest / trades_file_name(SYMBOL, day)).read_bytes() == body


async def test_a_zip_without_its_checksum_file_is_checked_against_the_server(
    binance: FakeBinance, tmp_path: Path
) -> None:
    day = date(2020, 1, 2)
    body = day_zip(day, tmp_path)
    path = binance.add_day(day, body)
    dest = tmp_path / "data"
    dest.mkdir()
    (dest / trades_file_name(SYMBOL, day)).write_bytes(body)  # fetched by some other tool

    report = await download_days(SYMBOL, day, day, dest, binance.url, **FAST)

    assert [d.status for d in report.days] == [DayStatus.SKIPPED]
    assert binance.zip_requests() == []  # only the checksum was fetched
    assert (dest / (trades_file_name(SYMBOL, day) + ".CHECKSUM")).read_bytes() == (
        binance.files[path + ".CHECKSUM"]
    )


async def test_a_checksum_mismatch_removes_the_file_and_fails_the_day(
    binance: FakeBinance, tmp_path: Path
) -> None:
    good, bad = date(2020, 1, 2), date(2020, 1, 3)
    binance.add_day(good, day_zip(good, tmp_path))
    binance.add_day(bad, day_zip(bad, tmp_path), checksum_of=b"something else")
    dest = tmp_path / "data"

    report = await download_days(SYMBOL, good, bad, dest, binance.url, **FAST)

    assert [d.status for d in report.days] == [DayStatus.DOWNLOADED, DayStatus.FAILED]
    assert "checksum mismatch" in report.failed[0].detail
    assert "removed" in report.failed[0].detail
    assert report.exit_code == 1
    assert files_in(dest) == sorted(
        [trades_file_name(SYMBOL, good), trades_file_name(SYMBOL, good) + ".CHECKSUM"]
    )  # neither the bad zip, nor its .part, nor its checksum


async def test_a_dropped_connection_resumes_with_a_range_request(
    binance: FakeBinance, tmp_path: Path
) -> None:
    day = date(2020, 1, 2)
    body = day_zip(day, tmp_path, n=20_000)
    path = binance.add_day(day, body)
    binance.drop_after[path] = 10_000
    dest = tmp_path / "data"

    report = await download_days(SYMBOL, day, day, dest, binance.url, **FAST)

    assert [d.status for d in report.days] == [DayStatus.DOWNLOADED], report.days
    assert binance.zip_requests() == [(path, None), (path, "bytes=10000-")]
    result = report.days[0]
    assert result.resumed_from == 10_000 and result.attempts == 2
    assert result.fetched == len(body)  # nothing fetched twice
    assert "resumed at byte 10,000" in result.note
    assert (dest / trades_file_name(SYMBOL, day)).read_bytes() == body


async def test_a_server_without_range_support_sends_the_whole_file_again(
    binance: FakeBinance, tmp_path: Path
) -> None:
    day = date(2020, 1, 2)
    body = day_zip(day, tmp_path, n=20_000)
    path = binance.add_day(day, body)
    binance.ranges = False
    binance.drop_after[path] = 10_000
    dest = tmp_path / "data"

    report = await download_days(SYMBOL, day, day, dest, binance.url, **FAST)

    assert [d.status for d in report.days] == [DayStatus.DOWNLOADED], report.days
    assert binance.zip_requests() == [(path, None), (path, "bytes=10000-")]  # answered 200
    assert report.days[0].resumed_from == 0
    assert report.days[0].fetched == 10_000 + len(body)
    assert (dest / trades_file_name(SYMBOL, day)).read_bytes() == body


async def test_a_part_left_by_an_interrupted_run_is_continued(
    binance: FakeBinance, tmp_path: Path
) -> None:
    day = date(2020, 1, 2)
    body = day_zip(day, tmp_path, n=20_000)
    path = binance.add_day(day, body)
    dest = tmp_path / "data"
    dest.mkdir()
    name = trades_file_name(SYMBOL, day)
    (dest / (name + ".part")).write_bytes(body[:7000])

    report = await download_days(SYMBOL, day, day, dest, binance.url, **FAST)

    assert binance.zip_requests() == [(path, "bytes=7000-")]
    assert report.days[0].status is DayStatus.DOWNLOADED
    assert report.days[0].fetched == len(body) - 7000
    assert files_in(dest) == [name, name + ".CHECKSUM"]
    assert (dest / name).read_bytes() == body


async def test_a_stale_part_is_thrown_away_after_a_mismatch(
    binance: FakeBinance, tmp_path: Path
) -> None:
    day = date(2020, 1, 2)
    body = day_zip(day, tmp_path)
    path = binance.add_day(day, body)
    dest = tmp_path / "data"
    dest.mkdir()
    name = trades_file_name(SYMBOL, day)
    (dest / (name + ".part")).write_bytes(b"\0" * 500)  # not the start of this file

    report = await download_days(SYMBOL, day, day, dest, binance.url, **FAST)

    assert report.days[0].status is DayStatus.DOWNLOADED
    assert binance.zip_requests() == [(path, "bytes=500-"), (path, None)]
    assert "downloaded again" in report.days[0].note
    assert (dest / name).read_bytes() == body


async def test_a_part_longer_than_the_file_starts_over(
    binance: FakeBinance, tmp_path: Path
) -> None:
    day = date(2020, 1, 2)
    body = day_zip(day, tmp_path)
    path = binance.add_day(day, body)
    dest = tmp_path / "data"
    dest.mkdir()
    name = trades_file_name(SYMBOL, day)
    (dest / (name + ".part")).write_bytes(body + b"junk")

    report = await download_days(SYMBOL, day, day, dest, binance.url, **FAST)

    assert binance.zip_requests() == [(path, f"bytes={len(body) + 4}-"), (path, None)]  # 416
    assert report.days[0].status is DayStatus.DOWNLOADED
    assert (dest / name).read_bytes() == body


async def test_server_errors_are_retried_then_reported(
    binance: FakeBinance, tmp_path: Path
) -> None:
    ok_day, bad_day = date(2020, 1, 2), date(2020, 1, 3)
    ok_path = binance.add_day(ok_day, day_zip(ok_day, tmp_path))
    bad_path = binance.add_day(bad_day, day_zip(bad_day, tmp_path))
    binance.fail_first[ok_path] = 2  # mended by the retries
    binance.fail_first[bad_path + ".CHECKSUM"] = 99
    dest = tmp_path / "data"

    report = await download_days(SYMBOL, ok_day, bad_day, dest, binance.url, **FAST)

    assert [d.status for d in report.days] == [DayStatus.DOWNLOADED, DayStatus.FAILED]
    assert report.days[0].attempts == 3
    assert "HTTP 503" in report.failed[0].detail and "tried 3 times" in report.failed[0].detail
    assert report.exit_code == 1
    assert files_in(dest) == sorted(
        [trades_file_name(SYMBOL, ok_day), trades_file_name(SYMBOL, ok_day) + ".CHECKSUM"]
    )


async def test_a_timeout_is_retried_then_reported(binance: FakeBinance, tmp_path: Path) -> None:
    day = date(2020, 1, 2)
    path = binance.add_day(day, day_zip(day, tmp_path))
    binance.stall.add(path + ".CHECKSUM")

    report = await download_days(
        SYMBOL, day, day, tmp_path, binance.url, retries=1, backoff=0.01, timeout=0.2
    )

    assert [d.status for d in report.days] == [DayStatus.FAILED]
    assert "timed out" in report.failed[0].detail and "tried 2 times" in report.failed[0].detail


async def test_concurrency_is_limited(binance: FakeBinance, tmp_path: Path) -> None:
    days = [date(2020, 1, d) for d in range(1, 7)]
    for day in days:
        binance.add_day(day, day_zip(day, tmp_path, n=200))
    binance.delay = 0.05

    report = await download_days(SYMBOL, days[0], days[-1], tmp_path / "d", binance.url, 2)

    assert len(report.downloaded) == 6
    assert binance.max_in_flight == 2


async def test_bad_arguments_raise_before_any_request(tmp_path: Path) -> None:
    day = date(2020, 1, 2)
    for kwargs, message in [
        ({"symbol": "XRP/USDT"}, "not a valid symbol"),
        ({"start": date(2020, 1, 3)}, "after the last day"),
        ({"concurrency": 0}, "concurrency"),
        ({"base_url": "ftp://example.org"}, "http://"),
    ]:
        args = {"symbol": SYMBOL, "start": day, "end": day, "dest": tmp_path, **kwargs}
        with pytest.raises(ConfigError, match=message):
            await download_days(**args)  # type: ignore[arg-type]


def test_parse_checksum() -> None:
    sha = "9EA0C4FD9CE63BE4FFBCC794E640AFE3F6236FCF77946B7852E3DC7A528E5853"
    assert parse_checksum(f"{sha}  {REAL_ZIP}\n".encode(), REAL_ZIP) == sha.lower()
    assert parse_checksum(f"{sha} *{REAL_ZIP}", REAL_ZIP) == sha.lower()
    assert parse_checksum(sha, REAL_ZIP) == sha.lower()
    with pytest.raises(ValueError, match=r"names 'other\.zip'"):
        parse_checksum(f"{sha}  other.zip", REAL_ZIP)
    for bad in ("", "<html>Access denied</html>", sha[:-1], f"{sha}  a\n{sha}  b"):
        with pytest.raises(ValueError, match="malformed"):
            parse_checksum(bad, REAL_ZIP)


# --- the command -----------------------------------------------------------------------------


def test_command_reports_each_day_and_sums_up(binance: FakeBinance, tmp_path: Path) -> None:
    have, fresh, bad = date(2020, 1, 2), date(2020, 1, 3), date(2020, 1, 5)
    for day in (have, fresh):
        binance.add_day(day, day_zip(day, tmp_path))
    binance.add_day(bad, day_zip(bad, tmp_path), checksum_of=b"other")
    dest = tmp_path / "xrp"
    base = ["XRPUSDT", "--dest", str(dest), "--base-url", binance.url, "--retries", "0"]
    code, _, _ = cli([*base, "--from", "2020-01-02", "--to", "2020-01-02"])
    assert code == 0

    code, out, err = cli([*base, "--from", "2020-01-01", "--to", "2020-01-05"])

    assert code == 1, out + err
    assert "no file for 2020-01-01 (404)" in err and "no file for 2020-01-04 (404)" in err
    assert "failed: 2020-01-05: checksum mismatch" in err
    assert "1 day failed" in err
    lines = [line.split() for line in out.splitlines()]
    assert ["downloaded", "1"] in [line[:2] for line in lines]
    assert ["already", "there", "1"] in [line[:3] for line in lines]
    assert ["missing", "(404)", "2:", "2020-01-01,", "2020-01-04"] in lines
    assert ["failed", "1:", "2020-01-05"] in lines
    names = files_in(dest)
    assert trades_file_name(SYMBOL, fresh) in names
    assert trades_file_name(SYMBOL, bad) not in names
    assert not [n for n in names if n.endswith(".part")]


def test_command_exits_0_when_every_existing_day_is_there(
    binance: FakeBinance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = date(2020, 1, 2)
    binance.add_day(day, day_zip(day, tmp_path))
    monkeypatch.chdir(tmp_path)  # the default --dest is ./data/SYMBOL

    code, out, err = cli(
        ["xrpusdt", "--from", "2020-01-01", "--to", "2020-01-02"],
        env={"HEDGEHOG_DATA_BASE_URL": binance.url},
    )

    assert code == 0, out + err
    assert "no file for 2020-01-01 (404)" in err
    assert binance.url in out
    dest = tmp_path / "data" / "XRPUSDT"
    assert files_in(dest) == [
        trades_file_name(SYMBOL, day),
        trades_file_name(SYMBOL, day) + ".CHECKSUM",
    ]
    assert len(load_trades(dest).table(SYMBOL)) == 3000  # usable as it is


def test_command_fails_when_no_day_exists(binance: FakeBinance, tmp_path: Path) -> None:
    where = ["--dest", str(tmp_path), "--base-url", binance.url]
    code, _, err = cli(["NOPEUSDT", *span("2020-01-01", "2020-01-03", *where)])
    assert code == 1
    assert "no file for any day of NOPEUSDT from 2020-01-01 to 2020-01-03" in err


def test_a_refused_connection_is_a_reported_failure(tmp_path: Path) -> None:
    port = closed_port()
    where = ["--dest", str(tmp_path), "--base-url", f"http://127.0.0.1:{port}"]
    code, out, err = cli(["XRPUSDT", *span("2020-01-01", "2020-01-02", *where, "--retries", "1")])
    assert code == 1, out + err
    assert f"failed: 2020-01-01: cannot connect to 127.0.0.1:{port} (Connection refused)" in err
    assert "(tried 2 times)" in err and "2 days failed" in err
    assert ["failed", "2:", "2020-01-01..2020-01-02"] in [line.split() for line in out.splitlines()]
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2020-1-2", "--to", "2020-01-03"], "--from '2020-1-2' is not a day"),
        (["--from", "2020-01-02", "--to", "2020-02-30"], "--to '2020-02-30' is not a day"),
        (["--from", "2020-01-03", "--to", "2020-01-02"], "--from 2020-01-03 is after --to"),
        (["--from", "2020-01-01", "--to", "2099-01-01"], "is in the future"),
        (["--from", "2018-01-01", "--to", "2021-12-31"], "1,461 days (more than 1,096)"),
        (["--from", "2020-01-01", "--to", "2020-01-01", "--concurrency", "0"], "--concurrency"),
        (["--from", "2020-01-01", "--to", "2020-01-01", "--retries", "-1"], "--retries"),
        (["--from", "2020-01-01", "--to", "2020-01-01", "--base-url", "data.bin"], "http://"),
    ],
)
def test_bad_input_exits_2(args: list[str], message: str, tmp_path: Path) -> None:
    code, out, err = cli(["XRPUSDT", *args, "--dest", str(tmp_path / "d")])
    assert code == 2, out + err
    assert message in err
    assert not (tmp_path / "d").exists()


def test_a_bad_symbol_exits_2(tmp_path: Path) -> None:
    code, _, err = cli(["XRP/USDT", "--from", "2020-01-01", "--to", "2020-01-01"])
    assert code == 2 and "not a valid symbol" in err
    code, _, err = cli(["XRPUSDT", "--to", "2020-01-01"])
    assert code == 2 and "--from" in err


def test_a_long_range_with_yes_is_accepted(tmp_path: Path) -> None:
    port = closed_port()  # no server: each day fails at once, which is all this needs
    where = ["--dest", str(tmp_path), "--base-url", f"http://127.0.0.1:{port}"]
    quick = ["--retries", "0", "--concurrency", "32"]
    code, out, _ = cli(["XRPUSDT", *span("2017-01-01", "2020-12-31", "--yes", *where, *quick)])
    assert code == 1
    assert ["failed", "1,461:", "2017-01-01..2020-12-31"] in [
        line.split() for line in out.splitlines()
    ]


def test_progress_is_drawn_on_a_terminal(
    binance: FakeBinance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = date(2020, 1, 2)
    binance.add_day(day, day_zip(day, tmp_path))
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100)
    monkeypatch.setattr(data_command, "out", terminal)

    where = ["--dest", str(tmp_path / "d"), "--base-url", binance.url]
    code, _, err = cli(["XRPUSDT", *span("2020-01-01", "2020-01-02", *where)])

    assert code == 0, err
    drawn = screen.getvalue()
    assert "XRPUSDT" in drawn and "/2 days" in drawn and "kB" in drawn
    assert "downloaded" in drawn  # the summary, after the bars
