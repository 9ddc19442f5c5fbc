"""Fetching one day of Binance public data: its checksum, then its zip, with retries.

A day is fetched into `{name}.part` (continued with an HTTP Range request when the server
honours it) and renamed to `{name}` once its sha256 matches. 404 means missing; network
failures, 5xx and 408/425/429 are retried with backoff (honouring Retry-After), anything else
fails the day. `Fetcher.day` reports a day's problems in its `DayResult`, and
`download.download_days` sets up the session and runs every day through a `Fetcher`.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import re
import socket
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import aiohttp

from hedgehog.market.download_files import fsync_dir, parse_checksum, sha256_file, write_atomically
from hedgehog.market.download_plan import (
    CHECKSUM_SUFFIX,
    PART_SUFFIX,
    DayResult,
    DayStatus,
    DownloadProgress,
    trades_file_name,
    trades_url,
)

MAX_BACKOFF_S = 30.0
CHUNK = 1 << 16
MAX_CHECKSUM_BYTES = 4096

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_RETRY_STATUSES = frozenset({408, 425, 429})


class _Missing(Exception):
    """The server has no such file (404)."""


class _Retry(Exception):
    """A failure worth trying again (network, 5xx, 429); the message says what happened."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


class _Fail(Exception):
    """A failure that trying again will not mend (a 403, a bad checksum, a local error)."""


class Fetcher:
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
            write_atomically(state.sum_path, state.checksum_text)

    def _finish(self, state: _DayState) -> None:
        """The verified `.part` becomes the zip (after its checksum file), durably."""
        self._keep_checksum(state)
        with state.part_path.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(state.part_path, state.zip_path)
        fsync_dir(state.zip_path.parent)


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
