"""Loaders of historical trades into `TradeTable`s, one per symbol.

Two formats, told apart by content: Binance public-data "trades" files (a zip holding one
headerless CSV, or the bare CSV; from 2025 on their times are in microseconds) and the book's
recorded CSV (gzipped or not, with a header, several symbols, rows in any order). Parsing is
vectorised with polars; prices and quantities are read as text and converted exactly to 1e-8
units, never through float. A bad row stops the load with its file and line, or is skipped.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from hedgehog.core.errors import DataError
from hedgehog.market.inflate import read_csv_bytes
from hedgehog.market.tables import TradeTable, to_units

BINANCE_COLUMNS = ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match")
BOOK_HEADER = (
    "event_type,event_time,symbol,trade_id,price,quantity,buyer_order_id,seller_order_id,"
    "trade_time,buyer_market_maker"
)
BOOK_COLUMNS = tuple(BOOK_HEADER.split(","))
SUFFIXES = (".zip", ".csv", ".csv.gz")
MICROS_ABOVE = 10**14  # a time above this is in microseconds (ms reach 1e14 in year 5138)
MAX_DESCRIBED = 10

_DEC = r"^[0-9]+(\.[0-9]{1,8})?$"
_SYMBOL = r"^[A-Za-z0-9]{2,30}$"
_BOOLS = ("True", "False", "true", "false")
_NAME_SYMBOL = re.compile(r"^([A-Za-z0-9]+)-trades-", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Format:
    columns: tuple[str, ...]
    fields: tuple[tuple[str, str, str], ...]  # (our name, the file's column, kind) read


# fmt: off
BINANCE = _Format(BINANCE_COLUMNS, (
    ("trade_id", "id", "int"), ("price", "price", "dec"), ("qty", "qty", "dec"),
    ("time", "time", "int"), ("maker", "is_buyer_maker", "bool"),
    ("best", "is_best_match", "bool"),
))
BOOK = _Format(BOOK_COLUMNS, (
    ("symbol", "symbol", "symbol"), ("trade_id", "trade_id", "int"), ("price", "price", "dec"),
    ("qty", "quantity", "dec"), ("time", "trade_time", "int"),
    ("maker", "buyer_market_maker", "bool"),
))
# fmt: on


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
    data = _read_bytes(path)
    first = data[: data.find(b"\n")] if b"\n" in data else data
    head = [f.strip().lower() for f in first.decode("utf-8", "replace").split(",")]
    if tuple(head) == BOOK_COLUMNS:
        fmt, header = BOOK, True
    elif tuple(head) == BINANCE_COLUMNS:
        fmt, header = BINANCE, True
    elif head[0].isdigit():
        fmt, header = BINANCE, False
    else:
        raise DataError(f"{path}: unrecognised format (line 1 is {first[:80]!r})")
    if fmt is BINANCE and not (name_symbol or want):
        raise DataError(
            f"{path}: cannot tell the symbol; name the file SYMBOL-trades-YYYY-MM-DD.zip "
            "or pass symbol="
        )
    df = _parse(path, data, fmt, header, skip, result)
    del data  # the CSV text (70 MB a busy day) is not needed any more
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


def _parse(
    path: Path, data: bytes, fmt: _Format, header: bool, skip: bool, result: LoadResult
) -> pl.DataFrame:
    """Validated rows as (trade_id, price, qty, time, maker[, symbol]) with exact ints."""
    kinds = {col: kind for _, col, kind in fmt.fields}
    schema = {c: pl.Int64 if kinds.get(c) == "int" else pl.String for c in fmt.columns}
    output = {ours: pl.col(f"_{col}") for ours, col, _ in fmt.fields}
    try:  # fast path: a clean file parses in one go; anything odd is redone line by line
        # every column is read: with a projection polars would ignore extra fields
        df = pl.read_csv(io.BytesIO(data), has_header=header, schema=schema, quote_char=None)
        checked = _convert(df.lazy(), fmt).select(*output.values(), "_ok", "_blank").collect()
        if (checked["_ok"] | checked["_blank"]).all():  # blank lines read as all-null rows
            if checked["_blank"].any():
                checked = checked.filter(~pl.col("_blank"))
            return checked.select(**output)
    except pl.exceptions.ComputeError:
        pass
    checked = _convert(_split_lines(data, fmt, header), fmt).collect()
    bad = checked.filter(~pl.col("_ok"))
    if len(bad):
        rows = bad.head(MAX_DESCRIBED).rows(named=True)
        messages = [f"{path}: line {row['_line']}: {_describe(row, fmt)}" for row in rows]
        if not skip:
            more = len(bad) - 1
            raise DataError(messages[0] + (f" (and {more} more bad rows)" if more else ""))
        result.skipped_rows += len(bad)
        result.bad_rows.extend(messages[: max(0, MAX_DESCRIBED - len(result.bad_rows))])
    return checked.filter(pl.col("_ok")).select(**output)


def _split_lines(data: bytes, fmt: _Format, header: bool) -> pl.LazyFrame:
    """Slow path: every line split by hand, so bad rows keep their line numbers."""
    lines = pl.read_csv(
        io.BytesIO(data),
        has_header=False,
        separator="\x1f",
        quote_char=None,
        schema={"_raw": pl.String},
        truncate_ragged_lines=True,
        encoding="utf8-lossy",
    )
    fields = pl.col("_raw").str.split(",")
    columns = {
        c: fields.list.get(i, null_on_oob=True).str.strip_chars().replace("", None)
        for i, c in enumerate(fmt.columns)
    }
    return (
        lines.lazy()
        .with_row_index("_line", offset=1)
        .filter(pl.col("_raw").str.strip_chars() != "", pl.col("_line") > int(header))
        .with_columns(_nf=fields.list.len(), **columns)
    )


def _convert(df: pl.LazyFrame, fmt: _Format) -> pl.LazyFrame:
    """Add the converted columns `_<column>`, `_ok` (row valid) and `_blank` (row empty)."""
    schema = df.collect_schema()
    values: dict[str, pl.Expr] = {}
    oks: list[pl.Expr] = [pl.col("_nf") == len(fmt.columns)] if "_nf" in schema else []
    for _, col, kind in fmt.fields:
        raw, value = pl.col(col), pl.col(f"_{col}")
        if kind == "int":  # the fast path reads Int64; text is cast the same way
            values[f"_{col}"] = raw if schema[col] == pl.Int64 else raw.cast(pl.Int64, strict=False)
            oks.append(value >= 0)
        elif kind == "dec":
            exact = raw.cast(pl.Decimal(19, 8), strict=False).to_physical()  # exact after _DEC
            values[f"_{col}"] = exact.cast(pl.Int64, strict=False)
            oks.append(raw.str.contains(_DEC) & (value > 0))
        elif kind == "bool":
            values[f"_{col}"] = (raw == "True") | (raw == "true")
            oks.append(raw.is_in(_BOOLS))
        else:
            values[f"_{col}"] = raw.str.to_uppercase()
            oks.append(raw.str.contains(_SYMBOL))
    name = f"_{dict((ours, col) for ours, col, _ in fmt.fields)['time']}"
    time = pl.col(name)
    return df.with_columns(**values).with_columns(
        pl.when(time > MICROS_ABOVE).then(time // 1000).otherwise(time).alias(name),
        _ok=pl.all_horizontal(oks).fill_null(False),
        _blank=pl.all_horizontal(pl.col(col).is_null() for _, col, _ in fmt.fields),
    )


def _describe(row: dict[str, Any], fmt: _Format) -> str:
    """What is wrong with a row that failed `_convert`'s rules."""
    if "_nf" in row and row["_nf"] != len(fmt.columns):
        return f"expected {len(fmt.columns)} columns, found {row['_nf']}"
    for _, col, kind in fmt.fields:
        value = row[col]
        if value is None:
            return f"missing value in column {col}"
        problem = _problem(kind, str(value))
        if problem:
            return f"{col} {value!r} {problem}"
    return "invalid row"


def _problem(kind: str, value: str) -> str | None:
    """The rules of `_convert`, one value at a time, saying what is wrong."""
    if kind == "int":
        if not re.fullmatch(r"[+-]?[0-9]+", value):
            return "is not a whole number"
        if int(value) < 0:
            return "must not be negative"
        return None if int(value) < 2**63 else "is too large"
    if kind == "dec":
        if value.startswith("-"):
            return "must be positive"
        if re.fullmatch(r"[0-9]+\.[0-9]{9,}", value):
            return "has more than 8 decimals"
        if not re.fullmatch(_DEC, value):
            return "is not a decimal number"
        try:
            return None if to_units(Decimal(value)) > 0 else "must be positive"
        except ValueError:
            return "is too large"
    if kind == "bool":
        return None if value in _BOOLS else "is not True or False"
    return None if re.fullmatch(_SYMBOL, value) else "is not a symbol"
