"""Loaders of historical trades into `TradeTable`s, one per symbol.

Two formats, told apart by content: Binance public-data "trades" files (a zip holding one
headerless CSV, or the bare CSV; from 2025 on their times are in microseconds) and the book's
recorded CSV (gzipped or not, with a header, several symbols, rows in any order). Files are
inflated by `hedgehog.market.inflate` (ISA-L) and parsed by `hedgehog.market.csv_parse`
(polars; prices and quantities read as text and converted exactly to 1e-8 units, never through
float). A bad row stops the load with its file and line, or is skipped. A file the command
line already read ahead (`hedgehog.market.prefetch`) is taken from there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from hedgehog.core.errors import DataError
from hedgehog.market import prefetch
from hedgehog.market.csv_parse import (
    BINANCE,
    BINANCE_COLUMNS,
    BOOK,
    BOOK_COLUMNS,
    BOOK_HEADER,
    MICROS_ABOVE,
    Format,
    checked_parse,
    describe,
    detect,
    fast_parse,
)
from hedgehog.market.inflate import SUFFIXES, read_csv_bytes
from hedgehog.market.tables import TradeTable

__all__ = [
    "BINANCE",
    "BINANCE_COLUMNS",
    "BOOK",
    "BOOK_COLUMNS",
    "BOOK_HEADER",
    "MICROS_ABOVE",
    "SUFFIXES",
    "LoadResult",
    "load_trades",
]

MAX_DESCRIBED = 10

_NAME_SYMBOL = re.compile(r"^([A-Za-z0-9]+)-trades-", re.IGNORECASE)


@dataclass(slots=True)
class LoadResult:
    """Tables keyed by upper-case symbol; how many bad rows were skipped, the first described."""

    tables: dict[str, TradeTable]
    skipped_rows: int = 0
    bad_rows: list[str] = field(default_factory=list)

    def table(self, symbol: str | None = None) -> TradeTable:
        """The table of `symbol`, or the only table when `symbol` is None."""
        if symbol is None:
            if len(self.tables) != 1:
                raise KeyError(f"several symbols loaded, name one of {sorted(self.tables)}")
            return next(iter(self.tables.values()))
        return self.tables[symbol.upper()]


def load_trades(
    paths: Sequence[str | Path] | str | Path,
    symbol: str | None = None,
    skip_bad_rows: bool = False,
) -> LoadResult:
    """Load trade files (or directories of them) into one `TradeTable` per symbol.

    `symbol` names the trades of Binance files whose name does not, and keeps only that
    symbol. Raises `DataError` naming the file (and line) of anything that cannot be read.
    """
    want = symbol.upper() if symbol else None
    result = LoadResult({})
    parts: dict[str, list[TradeTable]] = {}
    files = _expand([paths] if isinstance(paths, str | Path) else list(paths))
    # Files load in threads: inflating (zlib) and parsing (polars) release the GIL. Each file
    # gets its own bad-row tally, merged in file order so messages stay deterministic.
    tallies = [LoadResult({}) for _ in files]
    with ThreadPoolExecutor(max_workers=min(len(files), os.cpu_count() or 1) or 1) as pool:
        loaded = list(
            pool.map(
                lambda i: _load_file(files[i], want, skip_bad_rows, tallies[i]), range(len(files))
            )
        )
    prefetch.clear()  # read-aheads of files not loaded (another symbol's)
    for tables, tally in zip(loaded, tallies, strict=True):
        result.skipped_rows += tally.skipped_rows
        result.bad_rows.extend(tally.bad_rows[: max(0, MAX_DESCRIBED - len(result.bad_rows))])
        for table in tables:
            parts.setdefault(table.symbol, []).append(table)
    result.tables = {s: TradeTable.concat(ts) for s, ts in sorted(parts.items()) if ts}
    if not result.tables:
        where = ", ".join(str(p) for p in files)
        what = f"no trades of {want}" if want else "no trades"
        skipped = f" ({result.skipped_rows} bad rows skipped)" if result.skipped_rows else ""
        raise DataError(f"{what} in {where}{skipped}")
    return result


def _expand(paths: list[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.name.endswith(SUFFIXES))
            if not found:
                raise DataError(f"{p}: no trade files ({', '.join(SUFFIXES)}) in this directory")
            files.extend(found)
        else:
            files.append(p)
    if not files:
        raise DataError("no trade files given")
    return files


def _load_file(path: Path, want: str | None, skip: bool, result: LoadResult) -> list[TradeTable]:
    name_symbol = m.group(1).upper() if (m := _NAME_SYMBOL.match(path.name)) else None
    if want and name_symbol and name_symbol != want:
        return []  # a Binance file of another symbol
    ready = prefetch.take(path)  # started early by the command line, or None
    data, found, df = ready if ready else (_read_bytes(path), None, None)
    fmt, header = found or detect(data) or _unrecognised(path, data)
    if fmt is BINANCE and not (name_symbol or want):
        raise DataError(
            f"{path}: cannot tell the symbol; name the file SYMBOL-trades-YYYY-MM-DD.zip "
            "or pass symbol="
        )
    if df is None:
        df = _parse(path, data, fmt, header, skip, result)
    del data, ready  # the CSV text (70 MB a busy day) is not needed any more
    columns = ("trade_id", "price", "qty", "time", "maker")
    if fmt is BINANCE:  # one symbol: the columns as they are, no partition (a copy)
        return [TradeTable(name_symbol or want or "", *(df[c].to_numpy() for c in columns))]
    if want:
        df = df.filter(pl.col("symbol") == want)
    return [
        TradeTable(str(key[0]), *(part[c].to_numpy() for c in columns))
        for key, part in df.partition_by("symbol", as_dict=True).items()
    ]


def _read_bytes(path: Path) -> bytes:
    """The CSV bytes of a plain, gzipped or zipped file (see `hedgehog.market.inflate`)."""
    return read_csv_bytes(path)


def _unrecognised(path: Path, data: bytes) -> tuple[Format, bool]:
    first = data[: data.find(b"\n")] if b"\n" in data else data
    raise DataError(f"{path}: unrecognised format (line 1 is {first[:80]!r})")


def _parse(
    path: Path, data: bytes, fmt: Format, header: bool, skip: bool, result: LoadResult
) -> pl.DataFrame:
    """Validated rows as (trade_id, price, qty, time, maker[, symbol]) with exact ints: the
    fast tier, else line by line, each bad row named by file and line (raised or skipped)."""
    fast = fast_parse(data, fmt, header)
    if fast is not None:
        return fast
    good, bad = checked_parse(data, fmt, header)
    if len(bad):
        rows = bad.head(MAX_DESCRIBED).rows(named=True)
        messages = [f"{path}: line {row['_line']}: {describe(row, fmt)}" for row in rows]
        if not skip:
            more = len(bad) - 1
            raise DataError(messages[0] + (f" (and {more} more bad rows)" if more else ""))
        result.skipped_rows += len(bad)
        result.bad_rows.extend(messages[: max(0, MAX_DESCRIBED - len(result.bad_rows))])
    return good
