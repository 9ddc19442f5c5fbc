"""What an import into the catalog did, and the files it reads.

`ImportReport` says, per source file, whether it was imported, already imported (same sha256)
or left out (a Binance file named for another symbol than the one asked), and per symbol and
day whether the partition was added, merged (new rows joined, rewritten) or unchanged.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from hedgehog.core.errors import DataError

_NAME_SYMBOL = re.compile(r"^([A-Za-z0-9]+)-trades-", re.IGNORECASE)

T = TypeVar("T")
R = TypeVar("R")

ImportProgress = Callable[[int, int, str], None]
"""Called after each source file: (files done, files in all, the file's name)."""


class DayStatus(StrEnum):
    ADDED = "added"
    MERGED = "merged"
    UNCHANGED = "unchanged"


class SourceStatus(StrEnum):
    IMPORTED = "imported"
    ALREADY = "already imported"
    OTHER_SYMBOL = "other symbol"


@dataclass(frozen=True, slots=True)
class DayChange:
    """A partition touched: `rows` it holds now, `new_rows` of them added by this write."""

    symbol: str
    day: date
    status: DayStatus
    rows: int
    new_rows: int


@dataclass(frozen=True, slots=True)
class SourceResult:
    name: str
    sha256: str
    status: SourceStatus
    rows: int = 0
    skipped_rows: int = 0


@dataclass(slots=True)
class ImportReport:
    """Sources in the order given, the days they touched, and the bad rows skipped."""

    sources: list[SourceResult] = field(default_factory=list)
    days: list[DayChange] = field(default_factory=list)
    skipped_rows: int = 0
    bad_rows: list[str] = field(default_factory=list)

    def by_symbol(self) -> dict[str, dict[str, int]]:
        """Per symbol: days added, merged, unchanged (a day counted once, by the most it
        changed: added, then merged), and rows added."""
        rank = {DayStatus.ADDED: 0, DayStatus.MERGED: 1, DayStatus.UNCHANGED: 2}
        days: dict[tuple[str, date], DayStatus] = {}
        out: dict[str, dict[str, int]] = {}
        for change in self.days:
            key = (change.symbol, change.day)
            if key not in days or rank[change.status] < rank[days[key]]:
                days[key] = change.status
            row = out.setdefault(change.symbol, {s.value: 0 for s in DayStatus} | {"rows": 0})
            row["rows"] += change.new_rows
        for (symbol, _), status in days.items():
            out[symbol][status.value] += 1
        return dict(sorted(out.items()))

    @property
    def already(self) -> list[SourceResult]:
        return [s for s in self.sources if s.status is SourceStatus.ALREADY]

    def to_json(self) -> dict[str, object]:
        return {
            "sources": [
                {"name": s.name, "sha256": s.sha256, "status": s.status.value, "rows": s.rows,
                 "skipped_rows": s.skipped_rows}
                for s in self.sources
            ],
            "days": [
                {"symbol": d.symbol, "day": d.day.isoformat(), "status": d.status.value,
                 "rows": d.rows, "new_rows": d.new_rows}
                for d in self.days
            ],
            "symbols": self.by_symbol(),
            "skipped_rows": self.skipped_rows,
            "bad_rows": self.bad_rows,
        }  # fmt: skip


def expand(paths: Sequence[str | Path] | str | Path) -> list[Path]:
    """Files given, and the trade files (zip, csv, csv.gz) in directories given, in order."""
    from hedgehog.market.loaders import SUFFIXES  # polars: only when importing

    files: list[Path] = []
    for p in map(Path, [paths] if isinstance(paths, str | Path) else paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.name.endswith(SUFFIXES))
            if not found:
                raise DataError(f"{p}: no trade files ({', '.join(SUFFIXES)}) in this directory")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise DataError(f"{p}: no such file or directory")
    if not files:
        raise DataError("no trade files given")
    return files


def named_symbol(path: Path) -> str | None:
    """The symbol of a Binance file name `SYMBOL-trades-YYYY-MM-DD.zip`, else None."""
    m = _NAME_SYMBOL.match(path.name)
    return m.group(1).upper() if m else None


def ahead(pool: Executor, fn: Callable[[T], R], items: Iterable[T], window: int) -> Iterator[R]:
    """`map(fn, items)` run in `pool`, at most `window` results computed ahead of the reader."""
    pending: deque[Future[R]] = deque()
    source = iter(items)
    try:
        for item in source:
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                break
        while pending:
            result = pending.popleft().result()
            for item in source:
                pending.append(pool.submit(fn, item))
                break
            yield result
    finally:
        for fut in pending:
            fut.cancel()
