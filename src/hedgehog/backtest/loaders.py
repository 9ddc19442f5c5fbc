"""Loaders of historical trades into `TradeTable`s, one per symbol.

Two formats, told apart by content: Binance public-data "trades" files (a zip holding one
headerless CSV, or the bare CSV; from 2025 on their times are in microseconds) and the book's
recorded CSV (gzipped or not, with a header, several symbols, rows in any order). Parsing is
vectorised with polars; prices and quantities are read as text and converted exactly to 1e-8
units, never through float. A bad row stops the load with its file and line, or is skipped.
"""

from __future__ import annotations

import gzip
import io
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from hedgehog.backtest.tables import TradeTable
from hedgehog.errors import DataError

BINANCE_COLUMNS = ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match")
BOOK_COLUMNS = (
    "event_type", "event_time", "symbol", "trade_id", "price", "quantity",
    "buyer_order_id", "seller_order_id", "trade_time", "buyer_market_maker",
)  # fmt: skip
SUFFIXES = (".zip", ".csv", ".csv.gz")
MICROS_ABOVE = 10**14  # a time above this is in microseconds (ms reach 1e14 in year 5138)
MAX_DESCRIBED = 10

_INT = r"^\d{1,19}$"
_DEC = r"^\d+(\.\d{1,8})?$"
_TOO_PRECISE = r"^\d+\.\d{9,}$"
_BOOL = r"^(?i:true|false)$"
_SYMBOL = r"^[A-Za-z0-9]{2,30}$"
_NAME_SYMBOL = re.compile(r"^([A-Za-z0-9]+)-trades-", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Format:
    columns: tuple[str, ...]
    names: dict[str, str]  # our name -> the file's column name
    checks: tuple[tuple[str, str], ...]  # (file column, kind) to validate


BINANCE = _Format(
    BINANCE_COLUMNS,
    {"trade_id": "id", "price": "price", "qty": "qty", "time": "time", "maker": "is_buyer_maker"},
    (("id", "int"), ("price", "dec"), ("qty", "dec"), ("time", "int"),
     ("is_buyer_maker", "bool"), ("is_best_match", "bool")),
)  # fmt: skip
BOOK = _Format(
    BOOK_COLUMNS,
    {"trade_id": "trade_id", "price": "price", "qty": "quantity", "time": "trade_time",
     "maker": "buyer_market_maker", "symbol": "symbol"},
    (("symbol", "symbol"), ("trade_id", "int"), ("price", "dec"), ("quantity", "dec"),
     ("trade_time", "int"), ("buyer_market_maker", "bool")),
)  # fmt: skip


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
    for path in files:
        for table in _load_file(path, want, skip_bad_rows, result):
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
    if fmt is BINANCE:
        df = df.with_columns(symbol=pl.lit(name_symbol or want))
    elif want:
        df = df.filter(pl.col("symbol") == want)
    return [
        TradeTable(
            str(key[0]),
            part["trade_id"].to_numpy(),
            part["price"].to_numpy(),
            part["qty"].to_numpy(),
            part["time"].to_numpy(),
            part["maker"].to_numpy(),
        )
        for key, part in df.partition_by("symbol", as_dict=True).items()
    ]


def _read_bytes(path: Path) -> bytes:
    """The CSV bytes of a plain, gzipped or zipped file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        elif raw[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                csvs = [i for i in zf.infolist() if i.filename.lower().endswith(".csv")]
                if len(csvs) != 1:
                    found = [i.filename for i in zf.infolist()]
                    raise DataError(f"{path}: expected one CSV file in the zip, found {found}")
                raw = zf.read(csvs[0])
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
        kind = "gzip" if raw[:2] == b"\x1f\x8b" else "zip"
        raise DataError(f"{path}: corrupt {kind} file ({exc})") from None
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    if not raw.strip():
        raise DataError(f"{path}: empty file, no trades")
    return raw


def _parse(
    path: Path, data: bytes, fmt: _Format, header: bool, skip: bool, result: LoadResult
) -> pl.DataFrame:
    """Validated rows as (trade_id, price, qty, time, maker[, symbol]) with exact ints."""
    schema = {c: pl.String for c in fmt.columns}
    try:  # fast path: a clean file parses in one go; anything odd is redone line by line
        df = pl.read_csv(io.BytesIO(data), has_header=header, schema=schema, quote_char=None)
    except pl.exceptions.PolarsError:
        df = None
    if df is not None:
        df = df.with_row_index("_line", offset=2 if header else 1)
        df = df.filter(~pl.all_horizontal(pl.col(list(fmt.columns)).is_null()))
        checked = _check(df.lazy(), fmt).collect()
    if df is None or not checked["_ok"].all():
        checked = _check(_split_lines(data, fmt, header), fmt).collect()
    bad = checked.filter(~pl.col("_ok"))
    if len(bad):
        messages = [f"{path}: line {_describe(row, fmt)}" for row in bad.head(MAX_DESCRIBED).rows(named=True)]
        if not skip:
            more = f" (and {len(bad) - 1} more bad rows)" if len(bad) > 1 else ""
            raise DataError(messages[0] + more)
        result.skipped_rows += len(bad)
        result.bad_rows.extend(messages[: MAX_DESCRIBED - len(result.bad_rows)])
    names = {ours: pl.col(f"_{theirs}") for ours, theirs in fmt.names.items()}
    return checked.filter(pl.col("_ok")).select(**names)


def _split_lines(data: bytes, fmt: _Format, header: bool) -> pl.LazyFrame:
    """Slow path: every line split by hand, so bad rows keep their line numbers."""
    lines = pl.read_csv(
        io.BytesIO(data), has_header=False, separator="\x1f", quote_char=None,
        schema={"_raw": pl.String}, truncate_ragged_lines=True, encoding="utf8-lossy",
    )  # fmt: skip
    fields = pl.col("_raw").str.split(",")
    return (
        lines.lazy()
        .with_row_index("_line", offset=1)
        .filter(pl.col("_raw").str.strip_chars() != "", pl.col("_line") > (1 if header else 0))
        .with_columns(_nf=fields.list.len(), **{
            c: fields.list.get(i, null_on_oob=True).replace("", None)
            for i, c in enumerate(fmt.columns)
        })  # fmt: skip
    )


def _check(df: pl.LazyFrame, fmt: _Format) -> pl.LazyFrame:
    """Add converted columns `_<name>` and one boolean per rule; `_ok` when all hold."""
    values: dict[str, pl.Expr] = {}
    exprs: dict[str, pl.Expr] = {}
    oks: list[str] = []
    for col, kind in fmt.checks:
        raw = pl.col(col)
        rules = {"present": raw.is_not_null()}
        if kind == "int":
            values[f"_{col}"] = raw.cast(pl.Int64, strict=False)
            rules["int"] = raw.str.contains(_INT) & pl.col(f"_{col}").is_not_null()
        elif kind == "dec":
            values[f"_{col}"] = (
                raw.cast(pl.Decimal(19, 8), strict=False).to_physical().cast(pl.Int64, strict=False)
            )
            rules["sign"] = ~raw.str.starts_with("-")
            rules["precise"] = ~raw.str.contains(_TOO_PRECISE)
            rules["dec"] = raw.str.contains(_DEC)
            rules["range"] = pl.col(f"_{col}").is_not_null()
            rules["positive"] = pl.col(f"_{col}") > 0
        elif kind == "bool":
            values[f"_{col}"] = raw.str.to_lowercase() == "true"
            rules["bool"] = raw.str.contains(_BOOL)
        else:
            values[f"_{col}"] = raw.str.to_uppercase()
            rules["symbol"] = raw.str.contains(_SYMBOL)
        for rule, ok in rules.items():
            exprs[f"_ok:{col}:{rule}"] = ok.fill_null(False)
            oks.append(f"_ok:{col}:{rule}")
    if "_nf" in df.collect_schema():
        exprs["_ok:_nf:count"] = pl.col("_nf") == len(fmt.columns)
        oks.insert(0, "_ok:_nf:count")
    time = f"_{fmt.names['time']}"
    return (
        df.with_columns(**values)
        .with_columns(**exprs)
        .with_columns(pl.when(pl.col(time) > MICROS_ABOVE).then(pl.col(time) // 1000)
                      .otherwise(pl.col(time)).alias(time))
        .with_columns(_ok=pl.all_horizontal(oks))
    )  # fmt: skip


_WHAT = {
    "present": "missing {col}",
    "int": "{col} {value!r} is not a whole number",
    "sign": "{col} must be positive, found {value!r}",
    "precise": "{col} {value!r} has more than 8 decimals",
    "dec": "{col} {value!r} is not a decimal number",
    "range": "{col} {value!r} is too large",
    "positive": "{col} must be positive, found {value!r}",
    "bool": "{col} {value!r} is not True or False",
    "symbol": "symbol {value!r} is not a symbol",
}


def _describe(row: dict[str, object], fmt: _Format) -> str:
    """'<line>: <what is wrong>' for a row that failed a rule."""
    for key, ok in row.items():
        if key.startswith("_ok:") and not ok:
            _, col, rule = key.split(":")
            if col == "_nf":
                return f"{row['_line']}: expected {len(fmt.columns)} columns, found {row['_nf']}"
            return f"{row['_line']}: " + _WHAT[rule].format(col=col, value=row[col])
    return f"{row['_line']}: invalid row"
