"""The write side of the catalog: imports and tables split into day files and merged.

Kept apart from `catalog` so that reading the catalog (a backtest) never imports the file
loaders (polars). Every function takes the `Catalog` and holds its writer lock while it works.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hedgehog.core.errors import ConfigError
from hedgehog.core.symbols import normalize_symbol
from hedgehog.market.catalog_files import read_partition, write_partition
from hedgehog.market.catalog_import import (
    DayChange,
    DayStatus,
    ImportProgress,
    ImportReport,
    SourceResult,
    SourceStatus,
    ahead,
    expand,
    named_symbol,
)
from hedgehog.market.catalog_manifest import DAY_MS, Manifest, Partition, Source, day_of
from hedgehog.market.download_files import sha256_file
from hedgehog.market.loaders import MAX_DESCRIBED, LoadResult, load_trades
from hedgehog.market.tables import TradeTable

if TYPE_CHECKING:
    from hedgehog.market.catalog import Catalog

SAVE_EVERY_S = 2.0  # an import saves the manifest this often, and when it ends


def write_table(cat: Catalog, table: TradeTable, source: str | None = None) -> list[DayChange]:
    """See `Catalog.write_table`."""
    with locked(cat.root):
        manifest = cat.manifest()
        changes = write_days(cat, manifest, table, Source(source or "(table)"))
        manifest.save(cat.manifest_path)
    return changes


def import_files(
    cat: Catalog,
    paths: Sequence[str | Path] | str | Path,
    symbol: str | None = None,
    skip_bad_rows: bool = False,
    progress: ImportProgress | None = None,
) -> ImportReport:
    """See `Catalog.import_files`. Files are hashed, then loaded a few ahead on threads
    (inflating and parsing release the GIL) while the previous one is written. The manifest is
    saved every `SAVE_EVERY_S` and at the end, also when a file fails: a day file written
    after the last save is taken up again by the next import of its source."""
    want = normalize_symbol(symbol) if symbol else None
    files = expand(paths)
    report = ImportReport()
    workers = max(1, min(len(files), os.cpu_count() or 1))
    with locked(cat.root), ThreadPoolExecutor(workers) as pool:
        manifest = cat.manifest()
        results: dict[int, SourceResult] = {}
        todo: list[tuple[int, Path, str]] = []
        seen: set[str] = set()
        for i, (path, sha) in enumerate(zip(files, pool.map(sha256_file, files), strict=True)):
            if manifest.has_source(sha, want) or sha in seen:
                results[i] = SourceResult(path.name, sha, SourceStatus.ALREADY)
            elif want is not None and named_symbol(path) not in (None, want):
                results[i] = SourceResult(path.name, sha, SourceStatus.OTHER_SYMBOL)
            else:
                seen.add(sha)
                todo.append((i, path, sha))
        done = len(results)
        if progress is not None and done:
            progress(done, len(files), "")

        def load(job: tuple[int, Path, str]) -> LoadResult:
            return load_trades([job[1]], want, skip_bad_rows)

        saved = time.monotonic()
        try:
            jobs = zip(todo, ahead(pool, load, todo, workers), strict=True)
            for (i, path, sha), loaded in jobs:
                rows = 0
                for table in loaded.tables.values():
                    report.days += write_days(cat, manifest, table, Source(path.name, sha))
                    rows += len(table)
                manifest.add_source(sha, want)
                if time.monotonic() - saved > SAVE_EVERY_S:
                    manifest.save(cat.manifest_path)
                    saved = time.monotonic()
                report.skipped_rows += loaded.skipped_rows
                report.bad_rows += loaded.bad_rows[: max(0, MAX_DESCRIBED - len(report.bad_rows))]
                results[i] = SourceResult(
                    path.name, sha, SourceStatus.IMPORTED, rows, loaded.skipped_rows
                )
                done += 1
                if progress is not None:
                    progress(done, len(files), path.name)
        finally:  # what was written so far, also when a file fails or a signal stops it
            if todo:
                manifest.save(cat.manifest_path)
    report.sources = [results[i] for i in range(len(files))]
    return report


def write_days(
    cat: Catalog, manifest: Manifest, table: TradeTable, source: Source
) -> list[DayChange]:
    """Split `table` at UTC midnights and write each day (the manifest is updated, not saved)."""
    if not len(table):
        return []
    normalize_symbol(table.symbol)  # a ConfigError for what cannot name a folder of the catalog
    cuts = np.flatnonzero(np.diff(table.time // DAY_MS)) + 1
    edges = [0, *cuts.tolist(), len(table)]
    return [
        write_day(cat, manifest, table.slice(a, b), source) for a, b in itertools.pairwise(edges)
    ]


def write_day(cat: Catalog, manifest: Manifest, part: TradeTable, source: Source) -> DayChange:
    """Add one day's trades: a new file, or merged into the file there (rewritten only when
    the merge adds rows)."""
    sym, day = part.symbol, day_of(int(part.time[0]))
    path = cat.partition_path(sym, day)
    old = manifest.get(sym, day)
    if old is not None and path.is_file():
        before = read_partition(path, sym)
        merged = TradeTable.concat([before, part])
        sources = old.sources if source in old.sources else (*old.sources, source)
        if merged.equals(before):
            size, digest = old.bytes, old.sha256
            if len(before) != old.rows:  # a file newer than its entry (an interrupted import)
                size, digest = path.stat().st_size, sha256_file(path)
            manifest.put(entry(merged, day, size, digest, sources))
            return DayChange(sym, day, DayStatus.UNCHANGED, len(merged), 0)
        size, digest = write_partition(path, merged, day)
        manifest.put(entry(merged, day, size, digest, sources))
        return DayChange(sym, day, DayStatus.MERGED, len(merged), len(merged) - len(before))
    size, digest = write_partition(path, part, day)
    manifest.put(entry(part, day, size, digest, (source,)))
    return DayChange(sym, day, DayStatus.ADDED, len(part), len(part))


def entry(
    table: TradeTable, day: date, size: int, digest: str, sources: tuple[Source, ...]
) -> Partition:
    """The manifest's entry of a day file holding `table`."""
    return Partition(
        table.symbol,
        day,
        rows=len(table),
        first_time=int(table.time[0]),
        last_time=int(table.time[-1]),
        first_id=int(table.trade_id.min()),
        last_id=int(table.trade_id.max()),
        bytes=size,
        sha256=digest,
        sources=sources,
    )


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """Writers one at a time (an advisory lock on `<root>/.lock`; readers do not wait)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the catalog {root}: {exc.strerror}") from None
    with (root / ".lock").open("a") as lock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
