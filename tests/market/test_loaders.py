"""Loaders of Binance public-data and book-format trade files: formats, exactness, bad input."""

from __future__ import annotations

import csv
import gzip
import io
import random
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgehog.core.errors import DataError
from hedgehog.market.loaders import BOOK_COLUMNS, load_trades
from hedgehog.market.synthetic import (
    binance_csv_bytes,
    synthetic_trades,
    write_binance_csv,
    write_binance_zip,
)
from hedgehog.market.tables import TradeTable, from_units, to_units

REAL_ZIP = "XRPUSDT-trades-2019-05-25.zip"
REAL_GZ = "2019-05-25-XRPUSDT.csv.gz"
ROW1 = "24140233,0.38286000,434.20000000,166.23781200,1558742400339,True,True"
ROW2 = "24140234,0.38286000,1812.20000000,693.81889200,1558742400571,false,true"
HEADER = ",".join(BOOK_COLUMNS)
BOOK1 = "trade,1558742400341,XRPUSDT,24140233,0.38286000,434.20000000,1,2,1558742400339,true"
BOOK2 = "trade,1558742400500,btcusdt,5,8000.10000000,0.00100000,3,4,1558742400400,false"


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def write_zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def book_text(t: TradeTable, shuffle: int = 0) -> str:
    rows = [
        f"trade,{tm + 2},{t.symbol},{i},{from_units(p):f},{from_units(q):f},1,2,{tm},{m}"
        for i, p, q, tm, m in zip(
            t.trade_id.tolist(),
            t.price.tolist(),
            t.qty.tolist(),
            t.time.tolist(),
            map(str.lower, map(str, t.buyer_maker.tolist())),
            strict=True,
        )
    ]
    random.Random(shuffle).shuffle(rows)
    return "".join(f"{line}\n" for line in [HEADER, *rows])


def test_binance_csv_takes_its_symbol_from_the_file_name(tmp_path: Path) -> None:
    result = load_trades([write(tmp_path / "XRPUSDT-trades-2019-05-25.csv", ROW2, ROW1)])
    t = result.table("xrpusdt")
    assert result.skipped_rows == 0 and list(result.tables) == ["XRPUSDT"]
    assert t.trade_id.tolist() == [24140233, 24140234]
    assert t.price.tolist() == [38_286_000, 38_286_000]
    assert t.qty.tolist() == [43_420_000_000, 181_220_000_000]
    assert t.time.tolist() == [1558742400339, 1558742400571]
    assert t.buyer_maker.tolist() == [True, False]


def test_a_binance_file_with_no_symbol_in_its_name_needs_the_argument(tmp_path: Path) -> None:
    path = write(tmp_path / "trades.txt", ROW1)
    with pytest.raises(DataError, match=r"trades\.txt: cannot tell the symbol"):
        load_trades([path])
    assert len(load_trades(path, symbol="xrpusdt").table("XRPUSDT")) == 1


def test_a_binance_file_of_another_symbol_is_left_out(tmp_path: Path) -> None:
    write(tmp_path / "XRPUSDT-trades-2019-05-25.csv", ROW1)
    write(tmp_path / "BTCUSDT-trades-2019-05-25.csv", "1,8000.1,0.5,4000.05,1558742400000,1,true")
    with pytest.raises(DataError, match="no trades of ETHUSDT"):
        load_trades([tmp_path], symbol="ETHUSDT")
    assert list(load_trades([tmp_path], symbol="XRPUSDT").tables) == ["XRPUSDT"]


def test_binance_header_row_is_accepted(tmp_path: Path) -> None:
    header = "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match"
    path = write(tmp_path / "XRPUSDT-trades-2019-05-25.csv", header, ROW1)
    assert len(load_trades([path]).table()) == 1


@pytest.mark.parametrize(
    ("time", "ms"),
    [
        ("1558742400339", 1558742400339),
        ("1735689600123456", 1735689600123),
        ("1735689600123999", 1735689600123),
    ],
)
def test_microsecond_times_become_milliseconds(tmp_path: Path, time: str, ms: int) -> None:
    path = write(tmp_path / "XRPUSDT-trades-2025-01-01.csv", f"1,0.5,1,0.5,{time},True,True")
    assert load_trades([path]).table().time.tolist() == [ms]


def test_book_format_splits_symbols_and_sorts_rows(tmp_path: Path) -> None:
    later = BOOK1.replace("24140233", "24140234").replace("1558742400339", "1558742400999")
    path = tmp_path / "2019-05-25-mixed.csv.gz"
    path.write_bytes(gzip.compress("\n".join([HEADER, later, BOOK2, BOOK1]).encode()))
    result = load_trades([path])
    assert sorted(result.tables) == ["BTCUSDT", "XRPUSDT"]
    assert result.table("XRPUSDT").trade_id.tolist() == [24140233, 24140234]
    btc = result.table("BTCUSDT")
    assert btc.price.tolist() == [800_010_000_000] and btc.qty.tolist() == [100_000]
    assert btc.time.tolist() == [1558742400400]  # trade_time, not event_time
    assert list(load_trades([path], symbol="btcusdt").tables) == ["BTCUSDT"]
    with pytest.raises(DataError, match=r"no trades of ETHUSDT in .*mixed\.csv\.gz"):
        load_trades([path], symbol="ETHUSDT")
    with pytest.raises(KeyError, match="several symbols"):
        result.table()


def test_format_is_detected_from_content_not_name(tmp_path: Path) -> None:
    zipped = write_zip(tmp_path / "a.dat", {"XRPUSDT-trades-2019-05-25.csv": ROW1 + "\n"})
    gz = tmp_path / "XRPUSDT-trades-book.csv"  # a gzipped book file with a misleading name
    gz.write_bytes(gzip.compress(f"{HEADER}\n{BOOK1}\n".encode()))
    assert load_trades([zipped], symbol="XRPUSDT").table() == load_trades([gz]).table()


def test_directory_loads_supported_files_and_merges_overlaps(tmp_path: Path) -> None:
    write(tmp_path / "XRPUSDT-trades-2019-05-25.csv", ROW1, ROW2)
    write_zip(
        tmp_path / "XRPUSDT-trades-2019-05-26.zip",
        {"XRPUSDT-trades-2019-05-26.csv": ROW2.replace("24140234", "24140235") + "\n"},
    )
    write(tmp_path / "2019-05-25-XRPUSDT.csv", HEADER, BOOK1)  # a repeat of ROW1
    write(tmp_path / "notes.txt", "not trades")
    write(tmp_path / "XRPUSDT-trades-2019-05-25.zip.CHECKSUM", "abc")
    t = load_trades([tmp_path]).table()
    assert t.trade_id.tolist() == [24140233, 24140234, 24140235]


def test_blank_lines_and_crlf_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "XRPUSDT-trades-2019-05-25.csv"
    path.write_bytes(f"{ROW1}\r\n\r\n  \r\n{ROW2}\r\n\r\n".encode())
    assert len(load_trades([path]).table()) == 2


@pytest.mark.parametrize(
    ("row", "what"),
    [
        ("1,0.5,1,0.5,1558742400339,True", "expected 7 columns, found 6"),
        ("1,0.5,1,0.5,1558742400339,True,True,9", "expected 7 columns, found 8"),
        ("1,abc,1,0.5,1558742400339,True,True", "price 'abc' is not a decimal number"),
        ("1,1e5,1,0.5,1558742400339,True,True", "price '1e5' is not a decimal number"),
        ("1,-0.5,1,0.5,1558742400339,True,True", "price '-0.5' must be positive"),
        ("1,0.00000000,1,0.5,1558742400339,True,True", "price '0.00000000' must be positive"),
        ("1,0.123456789,1,0.5,1558742400339,True,True", "price '0.123456789' has more than 8"),
        ("1,0.5,,0.5,1558742400339,True,True", "missing value in column qty"),
        ("1,0.5,99999999999,0.5,1558742400339,True,True", "qty '99999999999' is too large"),
        ("x1,0.5,1,0.5,1558742400339,True,True", "id 'x1' is not a whole number"),
        ("-1,0.5,1,0.5,1558742400339,True,True", "id '-1' must not be negative"),
        ("1,0.5,1,0.5,9223372036854775808,True,True", "time '9223372036854775808' is too large"),
        ("1,0.5,1,0.5,15587424003.39,True,True", "time '15587424003.39' is not a whole number"),
        ("1,0.5,1,0.5,1558742400339,yes,True", "is_buyer_maker 'yes' is not True or False"),
    ],
)
def test_a_bad_binance_row_names_file_line_and_problem(tmp_path: Path, row: str, what: str) -> None:
    path = write(tmp_path / "XRPUSDT-trades-2019-05-25.csv", ROW1, "", row, ROW2)
    with pytest.raises(DataError) as err:
        load_trades([path])
    assert str(err.value).startswith(f"{path}: line 3: {what}")
    skipped = load_trades([path], skip_bad_rows=True)
    assert skipped.skipped_rows == 1 and len(skipped.table()) == 2
    assert skipped.bad_rows == [str(err.value)]


def test_a_bad_book_row_counts_the_header_line(tmp_path: Path) -> None:
    bad = BOOK2.replace("btcusdt", "btc-usdt")
    path = tmp_path / "2019-05-25-XRPUSDT.csv.gz"
    path.write_bytes(gzip.compress("\n".join([HEADER, BOOK1, BOOK1, bad, bad[:20]]).encode()))
    with pytest.raises(DataError, match=r"line 4: symbol 'btc-usdt' is not a symbol \(and 1 more"):
        load_trades([path])
    result = load_trades([path], skip_bad_rows=True)
    assert result.skipped_rows == 2 and len(result.table()) == 1
    assert result.bad_rows[1].endswith("line 5: expected 10 columns, found 3")


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("XRPUSDT-trades-2019-05-25.csv", b"", "empty file"),
        ("XRPUSDT-trades-2019-05-25.csv", b"\n  \n", "empty file"),
        ("XRPUSDT-trades-2019-05-25.zip", b"PK\x03\x04garbage", "corrupt zip file"),
        ("2019-05-25-XRPUSDT.csv.gz", gzip.compress(b"abc")[:12], "corrupt gzip file"),
        ("XRPUSDT-trades-2019-05-25.csv", b'{"symbols": []}', "unrecognised format"),
        ("XRPUSDT-trades-2019-05-25.csv", b"price,qty\n1,2\n", "unrecognised format"),
        ("2019-05-25-XRPUSDT.csv", f"{HEADER}\n".encode(), "no trades in"),
    ],
)
def test_unreadable_files_raise_data_error(
    tmp_path: Path, name: str, content: bytes, what: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=what) as err:
        load_trades([path])
    assert str(path) in str(err.value)


def test_prices_and_quantities_are_exact_to_the_last_digit(tmp_path: Path) -> None:
    rows = [
        "1,92233720368.54775807,0.00000001,1,1558742400339,True,True",
        "2,12345678901.23456789,87654321098.7654321,1,1558742400340,False,True",
        "3,0.1,7,1,1558742400341,true,true",
    ]
    t = load_trades(write(tmp_path / "XRPUSDT-trades-2019-05-25.csv", *rows)).table()
    assert t.price.tolist() == [2**63 - 1, 1234567890123456789, 10_000_000]
    assert t.qty.tolist() == [1, 8765432109876543210, 700_000_000]


def test_damaged_archives_name_the_file(tmp_path: Path) -> None:
    good = write_binance_zip(synthetic_trades("XRPUSDT", 5_000, 1), tmp_path)
    data = good.read_bytes()
    cut = tmp_path / "XRPUSDT-trades-2023-11-15.zip"
    cut.write_bytes(data[: len(data) // 2])
    flipped = tmp_path / "XRPUSDT-trades-2023-11-16.zip"
    flipped.write_bytes(data[:200] + bytes([data[200] ^ 0xFF]) + data[201:])
    for path in (cut, flipped):
        with pytest.raises(DataError, match=rf"{path.name}: corrupt zip file"):
            load_trades([path])


def test_only_the_first_bad_rows_are_described(tmp_path: Path) -> None:
    bad = ["x,0.5,1,0.5,1558742400339,True,True"] * 25
    path = write(tmp_path / "XRPUSDT-trades-2019-05-25.csv", ROW1, *bad)
    with pytest.raises(DataError, match=r"line 2: id 'x' is not .* \(and 24 more bad rows\)"):
        load_trades([path])
    result = load_trades([path], skip_bad_rows=True)
    assert result.skipped_rows == 25 and len(result.bad_rows) == 10
    assert result.bad_rows[-1].endswith("line 11: id 'x' is not a whole number")


def test_zips_must_hold_exactly_one_csv(tmp_path: Path) -> None:
    none = write_zip(tmp_path / "XRPUSDT-trades-2019-05-25.zip", {"readme.txt": "hi"})
    with pytest.raises(DataError, match=r"XRPUSDT-trades-2019-05-25\.zip: expected one CSV"):
        load_trades([none])
    two = write_zip(tmp_path / "XRPUSDT-trades-2019-05-26.zip", {"a.csv": ROW1, "b.csv": ROW1})
    with pytest.raises(DataError, match="expected one CSV"):
        load_trades([two])


def test_missing_paths_and_empty_directories(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.zip: file not found"):
        load_trades([tmp_path / "nope.zip"])
    with pytest.raises(DataError, match="no trade files"):
        load_trades([tmp_path])
    with pytest.raises(DataError, match="no trade files given"):
        load_trades([])


tables = st.lists(
    st.tuples(
        st.integers(0, 10**12),
        st.integers(1, 10**15),
        st.integers(1, 10**15),
        st.integers(10**12, 2 * 10**12),
        st.booleans(),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(rows=tables, micros=st.booleans())
def test_random_tables_survive_both_formats(rows: list[tuple[int, ...]], micros: bool) -> None:
    ids, prices, qtys, times, makers = (np.array(c) for c in zip(*rows, strict=True))
    t = TradeTable("ABCUSDT", ids, prices, qtys, times, makers.astype(bool))
    with tempfile.TemporaryDirectory() as tmp:
        zipped = write_binance_zip(t, Path(tmp), micros=micros)
        book = Path(tmp) / "book.csv"
        book.write_text(book_text(t, shuffle=len(rows)))
        assert load_trades([zipped]).table() == t
        assert load_trades([book]).table() == t


@pytest.fixture(scope="module")
def real(shared_data: Path) -> dict[str, TradeTable]:
    data = shared_data
    missing = [name for name in (REAL_ZIP, REAL_GZ) if not (data / name).is_file()]
    if missing:
        pytest.skip(f"../shared/data is absent: {missing} not in {data}")
    return {name: load_trades([data / name]).table("XRPUSDT") for name in (REAL_ZIP, REAL_GZ)}


@pytest.mark.shared_data
def test_both_real_formats_load_the_same_70130_trades(real: dict[str, TradeTable]) -> None:
    zipped, book = real[REAL_ZIP], real[REAL_GZ]
    assert len(zipped) == len(book) == 70_130
    assert zipped == book
    assert zipped.trade_id[0] == 24140233 and zipped.price_decimal(0) == Decimal("0.38286")
    assert zipped.nbytes / len(zipped) <= 100


@pytest.mark.shared_data
def test_real_zip_units_match_a_decimal_reference_parse(
    real: dict[str, TradeTable], shared_data: Path
) -> None:
    with zipfile.ZipFile(shared_data / REAL_ZIP) as zf:
        text = zf.read(zf.namelist()[0]).decode()
    rows = list(csv.reader(io.StringIO(text)))
    t = real[REAL_ZIP]
    assert binance_csv_bytes(t).decode() == text  # and our writer gives Binance's bytes back
    assert t.trade_id.tolist() == [int(r[0]) for r in rows]
    assert t.price.tolist() == [to_units(Decimal(r[1])) for r in rows]
    assert t.qty.tolist() == [to_units(Decimal(r[2])) for r in rows]
    assert t.time.tolist() == [int(r[4]) for r in rows]
    assert t.buyer_maker.tolist() == [r[5] == "True" for r in rows]


@pytest.mark.shared_data
def test_real_trades_in_microseconds_and_as_a_directory(
    real: dict[str, TradeTable], shared_data: Path, tmp_path: Path
) -> None:
    original = real[REAL_ZIP]
    write_binance_csv(original, tmp_path / "XRPUSDT-trades-2025-05-25.csv", micros=True)
    assert load_trades([tmp_path]).table() == original
    assert load_trades([shared_data]).table("XRPUSDT") == original
