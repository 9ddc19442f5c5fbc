"""Parsing a trades CSV (its bytes) into exact int64 columns with polars, in two tiers.

`fast_parse` reads a clean file in one go: integers natively, prices and quantities as text
converted exactly to 1e-8 units (polars' Decimal(19, 8) read of text already checked to have at
most 8 places, so nothing is rounded; never through float). It returns None at the first
doubt (a malformed line, a bad value) and `checked_parse` redoes the file line by line so
every bad row is reported with its line number (or skipped). Both apply the same rules
(`convert`), so a file that passes the fast tier gives what the slow one would.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from hedgehog.market.tables import to_units

BINANCE_COLUMNS = ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match")
BOOK_HEADER = (
    "event_type,event_time,symbol,trade_id,price,quantity,buyer_order_id,seller_order_id,"
    "trade_time,buyer_market_maker"
)
BOOK_COLUMNS = tuple(BOOK_HEADER.split(","))
MICROS_ABOVE = 10**14  # a time above this is in microseconds (ms reach 1e14 in year 5138)

_DEC = r"^[0-9]+(\.[0-9]{1,8})?$"
_SYMBOL = r"^[A-Za-z0-9]{2,30}$"
_BOOLS = ("True", "False", "true", "false")


@dataclass(frozen=True, slots=True)
class Format:
    """A CSV layout: its columns and the fields read."""

    columns: tuple[str, ...]
    fields: tuple[tuple[str, str, str], ...]  # (our name, the file's column, kind) read


# fmt: off
BINANCE = Format(BINANCE_COLUMNS, (
    ("trade_id", "id", "int"), ("price", "price", "dec"), ("qty", "qty", "dec"),
    ("time", "time", "int"), ("maker", "is_buyer_maker", "bool"),
    ("best", "is_best_match", "bool"),
))
BOOK = Format(BOOK_COLUMNS, (
    ("symbol", "symbol", "symbol"), ("trade_id", "trade_id", "int"), ("price", "price", "dec"),
    ("qty", "quantity", "dec"), ("time", "trade_time", "int"),
    ("maker", "buyer_market_maker", "bool"),
))
# fmt: on


def detect(data: bytes) -> tuple[Format, bool] | None:
    """The format of a CSV from its first line, and whether that line is a header."""
    first = data[: data.find(b"\n")] if b"\n" in data else data
    head = tuple(f.strip().lower() for f in first.decode("utf-8", "replace").split(","))
    if head == BOOK_COLUMNS:
        return BOOK, True
    if head == BINANCE_COLUMNS:
        return BINANCE, True
    return (BINANCE, False) if head[0].isdigit() else None


def decimal_units(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(exact value in 1e-8 units, accepted) of decimal text: "0.38286" -> 38286000.

    Accepted: `[0-9]+(.[0-9]{1,8})?` whose units fit in int64. The Decimal read alone would
    round a 9th place and take "+5", "5e3" or ".5": the pattern refuses those first.
    """
    units = text.cast(pl.Decimal(19, 8), strict=False).to_physical().cast(pl.Int64, strict=False)
    return units, text.str.contains(_DEC) & units.is_not_null()


def _output(fmt: Format) -> dict[str, pl.Expr]:
    return {ours: pl.col(f"_{col}") for ours, col, _ in fmt.fields}


def fast_parse(data: bytes, fmt: Format, header: bool) -> pl.DataFrame | None:
    """The rows of a clean file as (trade_id, price, qty, time, maker, ...) with exact ints,
    blank lines dropped; None when a line is malformed or a value breaks the rules."""
    kinds = {col: kind for _, col, kind in fmt.fields}
    schema = {c: pl.Int64 if kinds.get(c) == "int" else pl.String for c in fmt.columns}
    output = _output(fmt)
    try:  # every column is read: with a projection polars would ignore extra fields
        df = pl.read_csv(data, has_header=header, schema=schema, quote_char=None)
    except pl.exceptions.ComputeError:
        return None
    checked = convert(df.lazy(), fmt).select(*output.values(), "_ok", "_blank").collect()
    if not (checked["_ok"] | checked["_blank"]).all():  # blank lines read as all-null rows
        return None
    if checked["_blank"].any():
        checked = checked.filter(~pl.col("_blank"))
    return checked.select(**output)


def checked_parse(data: bytes, fmt: Format, header: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the good rows as `fast_parse` gives them, the bad rows with `_line` and raw fields)."""
    checked = convert(split_lines(data, fmt, header), fmt).collect()
    return checked.filter(pl.col("_ok")).select(**_output(fmt)), checked.filter(~pl.col("_ok"))


def split_lines(data: bytes, fmt: Format, header: bool) -> pl.LazyFrame:
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


def convert(df: pl.LazyFrame, fmt: Format) -> pl.LazyFrame:
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
            values[f"_{col}"], accepted = decimal_units(raw)
            oks.append(accepted & (value > 0))
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


def describe(row: dict[str, Any], fmt: Format) -> str:
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
