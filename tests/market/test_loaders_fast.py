"""The fast load path (issue 14, item 7): exact decimal units, the two parse tiers agreeing,
bad rows still named by file and line, every inflate codec giving the same bytes, read-ahead."""

from __future__ import annotations

import gzip
import re
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from hedgehog.core.errors import DataError
from hedgehog.market import csv_parse, inflate, prefetch
from hedgehog.market.loaders import load_trades
from hedgehog.market.synthetic import synthetic_trades, write_binance_zip

VALID = re.compile(r"[0-9]+(\.[0-9]{1,8})?")
INT64_MAX = 2**63 - 1


def exact(text: str) -> int | None:
    """The reference: Python's Decimal, when the text is a valid amount that fits."""
    if not VALID.fullmatch(text):
        return None
    units = int(Decimal(text) * 10**8)
    assert Decimal(units) == Decimal(text) * 10**8
    return units if units <= INT64_MAX else None


Rule = Callable[[pl.Expr], tuple[pl.Expr, pl.Expr]]


def units_of(texts: list[str], rule: Rule = csv_parse.decimal_units) -> list[int | None]:
    """What a units rule gives for each text (None: refused)."""
    value, ok = rule(pl.col("t"))
    df = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    out = df.select(v=value, ok=ok.fill_null(False))
    return [v if k else None for v, k in zip(out["v"], out["ok"], strict=True)]


whole = st.integers(0, 10**11 - 1).map(str) | st.text("0123456789", min_size=1, max_size=19)
places = st.text("0123456789", min_size=1, max_size=8)
valid_text = st.builds(lambda w, p: f"{w}.{p}" if p else w, whole, st.none() | places)
any_text = st.text("0123456789.+-e _", max_size=22) | valid_text


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(valid_text, min_size=1, max_size=40))
def test_valid_decimal_text_gives_exact_units(texts: list[str]) -> None:
    assert units_of(texts) == [exact(t) for t in texts]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_text, min_size=1, max_size=40))
def test_any_text_is_exact_or_refused(texts: list[str]) -> None:
    assert units_of(texts) == [exact(t) for t in texts]


def test_hand_computed_units() -> None:
    texts = ["0.38286000", "1", "0.00000001", "26990.56", "92233720368.54775807", "007.5"]
    assert units_of(texts) == [38_286_000, 10**8, 1, 2_699_056_000_000, INT64_MAX, 750_000_000]
    refused = [
        "1.123456789",
        "+1.5",
        "-1.5",
        "1e5",
        ".5",
        "5.",
        " 1.5",
        "1.5.5",
        "",
        "92233720368.54775808",
    ]
    assert units_of(refused) == [None] * len(refused)


def _mutant(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """A plausible wrong rule: the Decimal read without the pattern (it rounds a 9th place)."""
    units = text.cast(pl.Decimal(19, 8), strict=False).to_physical().cast(pl.Int64, strict=False)
    return units, units.is_not_null()


def test_the_property_catches_a_wrong_rule() -> None:
    bad = find(any_text, lambda t: units_of([t], _mutant) != [exact(t)])
    assert units_of([bad]) == [exact(bad)]  # the real rule is right where the mutant is wrong


rows = st.tuples(
    st.integers(1, 10**12),
    valid_text.filter(lambda t: (exact(t) or 0) > 0),
    valid_text.filter(lambda t: (exact(t) or 0) > 0),
    st.integers(0, 2 * 10**15),
    st.booleans(),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows, min_size=1, max_size=30))
def test_fast_tier_equals_line_by_line(lines: list[tuple[int, str, str, int, bool]]) -> None:
    text = "".join(f"{i},{p},{q},1.0,{t},{m},True\r\n" for i, p, q, t, m in lines).encode()
    fast = csv_parse.fast_parse(text, csv_parse.BINANCE, False)
    good, bad = csv_parse.checked_parse(text, csv_parse.BINANCE, False)
    assert fast is not None and len(bad) == 0
    assert fast.equals(good)
    assert fast["price"].to_list() == [exact(p) for _, p, _, _, _ in lines]
    micros = [t // 1000 if t > csv_parse.MICROS_ABOVE else t for *_, t, _ in lines]
    assert fast["time"].to_list() == micros


GOOD = "1,0.50000000,2.00000000,1.00000000,1700000000000,True,True"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            "3,0.123456789,1.0,1.0,1700000000002,True,True",
            "price '0.123456789' has more than 8 decimals",
        ),
        ("3,-0.5,1.0,1.0,1700000000002,True,True", "price '-0.5' must be positive"),
        ("3,abc,1.0,1.0,1700000000002,True,True", "price 'abc' is not a decimal number"),
        ("3,0.5,1.0,1.0,1700000000002,Maybe,True", "is_buyer_maker 'Maybe' is not True or False"),
        ("3,0.5,1.0,1700000000002,True,True", "expected 7 columns, found 6"),
    ],
)
@pytest.mark.parametrize("packed", ["csv", "zip"])
def test_bad_rows_name_file_and_line(tmp_path: Path, bad: str, message: str, packed: str) -> None:
    good2 = GOOD.replace("1,", "2,", 1).replace("1700000000000", "1700000000001")
    text = f"{GOOD}\r\n{good2}\r\n{bad}\r\n".encode()
    path = tmp_path / f"XRPUSDT-trades-2023-11-14.{packed}"
    if packed == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("XRPUSDT-trades-2023-11-14.csv", text)
    else:
        path.write_bytes(text)
    with pytest.raises(DataError) as caught:
        load_trades(path)
    assert str(caught.value) == f"{path}: line 3: {message}"
    skipped = load_trades(path, skip_bad_rows=True)
    assert skipped.skipped_rows == 1 and len(skipped.table()) == 2
    assert skipped.bad_rows[0].startswith(f"{path}: line 3: ")


CODECS = [inflate.CODEC, inflate.STDLIB]
try:
    from zlib_ng import gzip_ng, zlib_ng

    CODECS.append(inflate.Codec(zlib_ng, gzip_ng, "zlib-ng"))
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(scope="module")
def day_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    table = synthetic_trades("BTCUSDT", 5_000, 3, start_price="27000", tick="0.01", step="0.00001")
    return write_binance_zip(table, tmp_path_factory.mktemp("zip"))


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name)
def test_every_codec_inflates_the_same_bytes(
    codec: inflate.Codec, day_zip: Path, tmp_path: Path
) -> None:
    expected = zipfile.ZipFile(day_zip).read(zipfile.ZipFile(day_zip).namelist()[0])
    assert inflate.read_csv_bytes(day_zip, codec) == expected
    gz = tmp_path / "x.csv.gz"
    gz.write_bytes(gzip.compress(expected[:1000]) + gzip.compress(expected[1000:]))  # 2 members
    assert inflate.read_csv_bytes(gz, codec) == expected
    stored = tmp_path / "BTCUSDT-trades-2023-11-14.zip"
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("BTCUSDT-trades-2023-11-14.csv", expected)
    assert inflate.read_csv_bytes(stored, codec) == expected


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name)
def test_a_corrupt_member_is_refused(codec: inflate.Codec, day_zip: Path, tmp_path: Path) -> None:
    raw = bytearray(day_zip.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # inside the deflated member
    broken = tmp_path / day_zip.name
    broken.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=rf"^{re.escape(str(broken))}: corrupt zip file"):
        inflate.read_csv_bytes(broken, codec)


def test_read_ahead_is_taken_and_gives_the_same_table(day_zip: Path) -> None:
    expected = load_trades(day_zip).table()
    assert prefetch.start([str(day_zip), "--json", "exchangeInfo.json"]) == 1
    ready = prefetch.take(day_zip)
    assert ready is not None and ready[2] is not None
    assert prefetch.start([str(day_zip)]) == 1
    assert load_trades(day_zip).table().equals(expected)
    assert prefetch.take(day_zip) is None  # taken once


def test_a_file_changed_since_the_read_ahead_is_read_again(day_zip: Path, tmp_path: Path) -> None:
    path = tmp_path / day_zip.name
    path.write_bytes(day_zip.read_bytes())
    prefetch.start([str(path)])
    prefetch.take(path)  # wait for it: the next start reads the old bytes again
    prefetch.start([str(path)])
    other = synthetic_trades("BTCUSDT", 7, 9, start_price="5", tick="0.01", step="0.1")
    write_binance_zip(other, path)  # the same name, new bytes (and size)
    assert load_trades(path).table().equals(other)
