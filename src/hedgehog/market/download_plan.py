"""What a download of Binance's public trade files is made of: its days, their URLs and results.

Where each day's zip lives on data.binance.vision (`trades_url`), the defaults of a download,
and what became of each day (`DayResult`, `DownloadReport`, the `DownloadProgress` callbacks).
No I/O here: `download_files` handles the files on disk, `download_fetch` the transfers, and
`download.download_days` runs it all (and re-exports these names).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol

DEFAULT_BASE_URL = "https://data.binance.vision"
BASE_URL_ENV = "HEDGEHOG_DATA_BASE_URL"
DEFAULT_CONCURRENCY = 4
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_S = 0.5  # waits 0.5 s, 1 s, 2 s, ... between attempts
DEFAULT_TIMEOUT_S = 30.0  # to connect, and between two reads of a transfer
PART_SUFFIX = ".part"
CHECKSUM_SUFFIX = ".CHECKSUM"


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
