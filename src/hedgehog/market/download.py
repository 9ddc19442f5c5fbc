"""Download Binance's public daily spot trade files, verified against their checksums.

Binance publishes one zip per symbol and UTC day (the next day) at
`{base}/data/spot/daily/trades/{SYMBOL}/{SYMBOL}-trades-{YYYY-MM-DD}.zip`, next to a
`.zip.CHECKSUM` file in `sha256sum` format (`<sha256>  <file name>`). A day is fetched into
`{name}.part` and renamed to `{name}` only once its sha256 matches, so a file that looks complete
always is; the checksum file is kept beside it. An interrupted `.part` is continued with an HTTP
Range request when the server honours it (206), else fetched again whole. A zip already there is
checked against its kept checksum file and skipped when it matches.

Days without a file (404) are reported as missing; network failures (refused connections,
timeouts, dropped transfers, 5xx) are retried with backoff, then reported as failed.
`download_days` does it all and returns a `DownloadReport`; it prints nothing.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import aiohttp

from hedgehog import __version__
from hedgehog.core.errors import ConfigError
from hedgehog.core.symbols import normalize_symbol

DEFAULT_BASE_URL = "https://data.binance.vision"
BASE_URL_ENV = "HEDGEHOG_DATA_BASE_URL"
DEFAULT_CONCURRENCY = 4
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_S = 0.5  # waits 0.5 s, 1 s, 2 s, ... between attempts
DEFAULT_TIMEOUT_S = 30.0  # to connect, and between two reads of a transfer
MAX_BACKOFF_S = 30.0
CHUNK = 1 << 16
MAX_CHECKSUM_BYTES = 4096
PART_SUFFIX = ".part"
CHECKSUM_SUFFIX = ".CHECKSUM"

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_RETRY_STATUSES = frozenset({408, 425, 429})


class DayStatus(StrEnum):
    DOWNLOADED = "downloaded"
    SKIPPED = "already there"
    MISSING = "missing"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DayResult:
    """What became of one day. `path` is the verified zip (downloaded or skipped days);
    `detail` says why a day is missing or failed; `note` tells anything else worth knowing
    (a transfer resumed, an existing file replaced)."""

    day: date
    status: DayStatus
    path: Path | None = None
    size: int = 0  # bytes of the verified zip
    fetched: int = 0  # bytes received over the network for this day in this run
    resumed_from: int = 0  # bytes of an interrupted transfer continued with a Range request
    attempts: int = 0
    detail: str = ""
    note: str = ""


@dataclass(slots=True)
class DownloadReport:
    """Every day's result, in day order."""

    symbol: str
    start: date
    end: date
    dest: Path
    base_url: str
    days: list[DayResult] = field(default_factory=list)

    def with_status(self, status: DayStatus) -> list[DayResult]:
        return [d for d in self.days if d.status is status]

    @property
    def downloaded(self) -> list[DayResult]:
        return self.with_status(DayStatus.DOWNLOADED)

    @property
    def skipped(self) -> list[DayResult]:
        return self.with_status(DayStatus.SKIPPED)

    @property
    def missing(self) -> list[DayResult]:
        return self.with_status(DayStatus.MISSING)

    @property
    def failed(self) -> list[DayResult]:
        return self.with_status(DayStatus.FAILED)

    @property
    def fetched_bytes(self) -> int:
        return sum(d.fetched for d in self.days)

    @property
    def all_missing(self) -> bool:
        return bool(self.days) and len(self.missing) == len(self.days)

    @property
    def ok(self) -> bool:
        """Every day that exists on the server is here and verified (and at least one does)."""
        return not self.failed and not self.all_missing

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def paths(self) -> list[Path]:
        """The verified zips (downloaded or already there), in day order."""
        return [d.path for d in self.days if d.path is not None]


class DownloadProgress(Protocol):
    """Told about transfers as they go (all calls from the event loop's thread)."""

    def started(self, day: date, done: int, total: int | None) -> None:
        """A transfer of the day's zip (re)starts with `done` bytes already there, `total`
        the full size when the server tells it."""

    def advanced(self, day: date, nbytes: int) -> None:
        """`nbytes` more bytes of the day's zip arrived."""

    def finished(self, result: DayResult) -> None:
        """The day is settled (downloaded, skipped, missing or failed)."""


def trades_file_name(symbol: str, day: date) -> str:
    return f"{symbol}-trades-{day.isoformat()}.zip"


def trades_url(base_url: str, symbol: str, day: date) -> str:
    """The URL of the day's zip; its checksum is this plus `.CHECKSUM`."""
    name = trades_file_name(symbol, day)
    return f"{base_url.rstrip('/')}/data/spot/daily/trades/{symbol}/{name}"


def day_range(start: date, end: date) -> Iterator[date]:
    """Every day from `start` to `end`, both included."""
    for i in range((end - start).days + 1):
        yield start + timedelta(days=i)


def parse_checksum(text: bytes | str, name: str) -> str:
    """The lower-case sha256 of a `sha256sum`-style line `<sha256>  <name>` (the name may be
    absent, or marked binary with `*`). ValueError if malformed or naming another file."""
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    lines = [line for line in raw.strip().splitlines() if line.strip()]
    fields = lines[0].split(maxsplit=1) if lines else []
    if len(lines) != 1 or not fields or not _SHA256.match(fields[0]):
        raise ValueError(f"malformed checksum file (expected '<sha256>  {name}'): {raw[:100]!r}")
    if len(fields) == 2 and fields[1].strip().removeprefix("*") != name:
        raise ValueError(f"the checksum file names {fields[1].strip()!r}, not {name!r}")
    return fields[0].lower()


def sha256_file(path: Path, into: hashlib._Hash | None = None) -> str:
    """The hex sha256 of a file (feeding `into` when given, which then holds its state)."""
    hasher = into if into is not None else hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            hasher.update(block)
    return hasher.hexdigest()


async def download_days(
    symbol: str,
    start: date,
    end: date,
    dest: Path,
    base_url: str = DEFAULT_BASE_URL,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: DownloadProgress | None = None,
    *,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF_S,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> DownloadReport:
    """Fetch and verify the symbol's daily trade zips from `start` to `end` (both included)
    into `dest` (created). At most `concurrency` days at once; a network failure is tried
    `retries` more times, waiting `backoff` seconds, then twice that, and so on.

    Raises `ConfigError` on bad arguments; every per-day problem is in the report instead.
    """
    symbol = normalize_symbol(symbol)
    if start > end:
        raise ConfigError(f"the first day {start} is after the last day {end}")
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    if retries < 0 or backoff < 0 or timeout <= 0:
        raise ConfigError("retries and backoff must be >= 0, timeout > 0")
    base = base_url.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", base):
        raise ConfigError(f"base URL {base_url!r} must start with http:// or https://")
    dest.mkdir(parents=True, exist_ok=True)

    report = DownloadReport(symbol, start, end, dest, base)
    connector = aiohttp.TCPConnector(limit=concurrency)
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(sock_connect=timeout, sock_read=timeout),
        headers={"User-Agent": f"hedgehog/{__version__}", "Accept-Encoding": "identity"},
        auto_decompress=False,  # byte offsets of a Range request are those of the file itself
    )
    async with session:
        fetcher = _Fetcher(session, symbol, base, dest, progress, retries, backoff)
        gate = asyncio.Semaphore(concurrency)

        async def one(day: date) -> DayResult:
            async with gate:
                result = await fetcher.day(day)
            if progress is not None:
                progress.finished(result)
            return result

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(d)) for d in day_range(start, end)]
        report.days = [t.result() for t in tasks]
    return report


class _Missing(Exception):
    """The server has no such file (404)."""


class _Retry(Exception):
    """A failure worth trying again (network, 5xx, 429); the message says what happened."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


class _Fail(Exception):
    """A failure that trying again will not mend (a 403, a bad checksum, a local error)."""


class _Fetcher:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        symbol: str,
        base_url: str,
        dest: Path,
        progress: DownloadProgress | None,
        retries: int,
        backoff: float,
    ) -> None:
        self.session = session
        self.symbol = symbol
        self.base_url = base_url
        self.dest = dest
        self.progress = progress
        self.retries = retries
        self.backoff = backoff

    async def day(self, day: date) -> DayResult:
        name = trades_file_name(self.symbol, day)
        zip_path = self.dest / name
        sum_path = self.dest / (name + CHECKSUM_SUFFIX)
        if zip_path.is_file() and await self._verified_locally(zip_path, sum_path, name):
            size = zip_path.stat().st_size
            return DayResult(day, DayStatus.SKIPPED, zip_path, size)
        state = _DayState(
            day, name, zip_path, sum_path, trades_url(self.base_url, self.symbol, day)
        )
        for attempt in range(1, self.retries + 2):
            state.attempts = attempt
            try:
                return await self._attempt(state)
            except _Missing:
                detail = f"no file for {day} (404)"
                return state.result(DayStatus.MISSING, detail=detail)
            except _Fail as exc:
                return state.result(DayStatus.FAILED, detail=str(exc))
            except _Retry as exc:
                problem, wait = str(exc), exc.wait
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem, wait = _network_problem(exc, state.url), None
            except OSError as exc:  # the local disk, not the network
                where = exc.filename or self.dest
                return state.result(
                    DayStatus.FAILED, detail=f"cannot write {where}: {exc.strerror or exc}"
                )
            if attempt > self.retries:
                tries = f" (tried {attempt} times)" if attempt > 1 else ""
                return state.result(DayStatus.FAILED, detail=problem + tries)
            delay = min(MAX_BACKOFF_S, self.backoff * 2 ** (attempt - 1))
            await asyncio.sleep(delay if wait is None else max(delay, min(wait, MAX_BACKOFF_S)))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _verified_locally(self, zip_path: Path, sum_path: Path, name: str) -> bool:
        try:
            expected = parse_checksum(sum_path.read_bytes(), name)
        except (OSError, ValueError):
            return False
        return await asyncio.to_thread(sha256_file, zip_path) == expected

    async def _attempt(self, state: _DayState) -> DayResult:
        if state.expected is None:
            state.checksum_text = await self._get_checksum(state.url + CHECKSUM_SUFFIX)
            try:
                state.expected = parse_checksum(state.checksum_text, state.name)
            except ValueError as exc:
                raise _Fail(f"{state.url}{CHECKSUM_SUFFIX}: {exc}") from None
        if state.zip_path.is_file():  # there, but not verified against the kept checksum
            got = await asyncio.to_thread(sha256_file, state.zip_path)
            if got == state.expected:
                await asyncio.to_thread(self._keep_checksum, state)
                size = state.zip_path.stat().st_size
                return state.result(DayStatus.SKIPPED, state.zip_path, size)
            state.zip_path.unlink()
            state.notes.append("the file already there failed its checksum: downloaded again")
        size = await self._get_zip(state)
        await asyncio.to_thread(self._finish, state)
        return state.result(DayStatus.DOWNLOADED, state.zip_path, size)

    async def _get_checksum(self, url: str) -> bytes:
        async with self.session.get(url) as resp:
            _check_status(resp, url)
            if resp.content_length is not None and resp.content_length > MAX_CHECKSUM_BYTES:
                raise _Fail(f"{url}: not a checksum file ({resp.content_length} bytes)")
            body = await resp.content.read(MAX_CHECKSUM_BYTES + 1)
        if len(body) > MAX_CHECKSUM_BYTES:
            raise _Fail(f"{url}: not a checksum file (more than {MAX_CHECKSUM_BYTES} bytes)")
        return body

    async def _get_zip(self, state: _DayState) -> int:
        """Fetch the zip into its `.part` (continuing what is there) and check its sha256."""
        part = state.part_path
        restarted = False
        while True:
            hasher = hashlib.sha256()
            have = part.stat().st_size if part.is_file() else 0
            # hash what is there already: it may even be the whole file
            if have and await asyncio.to_thread(sha256_file, part, hasher) == state.expected:
                return have
            headers = {"Range": f"bytes={have}-"} if have else {}
            async with self.session.get(state.url, headers=headers) as resp:
                if have and resp.status == 416:  # the part is no prefix of the file
                    part.unlink()
                    restarted = True
                    continue
                _check_status(resp, state.url)
                resumed = have if resp.status == 206 else 0
                if resumed and _content_range_start(resp.headers.get("Content-Range")) != have:
                    part.unlink()  # not the bytes asked for: start over without Range
                    restarted = True
                    continue
                if not resumed:
                    hasher = hashlib.sha256()
                total = None if resp.content_length is None else resumed + resp.content_length
                if self.progress is not None:
                    self.progress.started(state.day, resumed, total)
                if resumed:
                    state.resumed_from = resumed
                with part.open("ab" if resumed else "wb") as f:
                    async for chunk in resp.content.iter_chunked(CHUNK):
                        f.write(chunk)
                        hasher.update(chunk)
                        state.fetched += len(chunk)
                        if self.progress is not None:
                            self.progress.advanced(state.day, len(chunk))
            got = hasher.hexdigest()
            if got == state.expected:
                return part.stat().st_size
            part.unlink()
            if resumed and not restarted:  # the kept part may have been stale: once afresh
                state.notes.append("a resumed transfer failed its checksum: downloaded again")
                restarted = True
                continue
            raise _Fail(
                f"checksum mismatch: expected sha256 {state.expected}, got {got}; "
                "the bad file was removed"
            )

    def _keep_checksum(self, state: _DayState) -> None:
        if state.checksum_text is not None:
            _write_atomically(state.sum_path, state.checksum_text)

    def _finish(self, state: _DayState) -> None:
        """The verified `.part` becomes the zip (after its checksum file), durably."""
        self._keep_checksum(state)
        with state.part_path.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(state.part_path, state.zip_path)
        _fsync_dir(state.zip_path.parent)


@dataclass(slots=True)
class _DayState:
    day: date
    name: str
    zip_path: Path
    sum_path: Path
    url: str
    expected: str | None = None
    checksum_text: bytes | None = None
    attempts: int = 0
    fetched: int = 0
    resumed_from: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def part_path(self) -> Path:
        return self.zip_path.with_name(self.name + PART_SUFFIX)

    def result(
        self, status: DayStatus, path: Path | None = None, size: int = 0, detail: str = ""
    ) -> DayResult:
        notes = list(self.notes)
        if self.resumed_from and status is DayStatus.DOWNLOADED:
            notes.insert(0, f"resumed at byte {self.resumed_from:,}")
        return DayResult(
            self.day,
            status,
            path,
            size,
            self.fetched,
            self.resumed_from,
            self.attempts,
            detail,
            "; ".join(notes),
        )


def _check_status(resp: aiohttp.ClientResponse, url: str) -> None:
    status = resp.status
    if status in (200, 206):
        return
    if status == 404:
        raise _Missing(url)
    what = f"{url}: HTTP {status}" + (f" {resp.reason}" if resp.reason else "")
    if status >= 500 or status in _RETRY_STATUSES:
        raise _Retry(what, _retry_after(resp.headers.get("Retry-After")))
    raise _Fail(what)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _content_range_start(value: str | None) -> int | None:
    m = _CONTENT_RANGE.match(value.strip()) if value else None
    return int(m.group(1)) if m else None


def _network_problem(exc: BaseException, url: str) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        error = exc.os_error
        if isinstance(error, socket.gaierror):  # its codes are getaddrinfo's, not errno's
            why = f"cannot resolve the host name: {error.strerror or error}; offline?"
        else:
            code = error.errno
            why = os.strerror(code) if code else (error.strerror or str(error))
        return f"cannot connect to {exc.host}:{exc.port} ({why})"
    if isinstance(exc, TimeoutError):
        return f"{url}: timed out"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return f"{url}: the connection dropped during the transfer"
    if isinstance(exc, aiohttp.ClientOSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE):
        return f"{url}: the connection was reset"
    return f"{url}: {type(exc).__name__}: {exc}" if str(exc) else f"{url}: {type(exc).__name__}"


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + PART_SUFFIX)
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DayResult",
    "DayStatus",
    "DownloadProgress",
    "DownloadReport",
    "day_range",
    "download_days",
    "parse_checksum",
    "sha256_file",
    "trades_file_name",
    "trades_url",
]
