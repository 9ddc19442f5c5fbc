"""The Parquet catalog: exact round trips, day partitions, idempotent imports and merges,
time filtering, verification and errors (hand-computed tables; real data when present)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgehog.core.errors import ConfigError, DataError
from hedgehog.market.catalog import Catalog, DayStatus, SourceStatus
from hedgehog.market.catalog_manifest import DAY_MS, day_start_ms
from hedgehog.market.loaders import load_trades
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades, write_binance_zip
from hedgehog.market.tables import SCALE, TradeTable
from tests.conftest import shared_data_dir

SYMBOL = "XRPUSDT"
D1, D2, D3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)
M2 = day_start_ms(D2)  # midnight UTC between D1 and D2


def table(ids: list[int], times: list[int], symbol: str = SYMBOL) -> TradeTable:
    """Trades with price = 1000 + id and qty = id units, buyer maker on even ids."""
    i = np.array(ids, dtype=np.int64)
    return TradeTable(symbol, i, 1000 + i, i, np.array(times, dtype=np.int64), i % 2 == 0)


def mtimes(cat: Catalog) -> dict[str, int]:
    files = [cat.manifest_path, *sorted(cat.root.glob("trades/*/*.parquet"))]
    return {str(p): p.stat().st_mtime_ns for p in files}


def test_midnight_splits_days_and_manifest_counts(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    t = table([1, 2, 3, 4, 5], [M2 - DAY_MS, M2 - 1, M2, M2 + 1, M2 + DAY_MS])
    changes = cat.write_table(t, "hand")
    assert [(c.day, c.status, c.rows) for c in changes] == [
        (D1, DayStatus.ADDED, 2),
        (D2, DayStatus.ADDED, 2),
        (D3, DayStatus.ADDED, 1),
    ]
    assert cat.symbols() == [SYMBOL] and cat.days("xrpusdt") == [D1, D2, D3]
    assert cat.rows(SYMBOL) == 5 and cat.rows(SYMBOL, D2) == 3 and cat.rows(SYMBOL, D1, D2) == 4
    assert [len(p) for p in cat.scan(SYMBOL)] == [2, 2, 1]
    assert cat.read(SYMBOL) == t
    doc = json.loads(cat.manifest_path.read_text())
    assert doc["scale"] == SCALE == 10**8 and doc["version"] == 1
    d2 = doc["partitions"][SYMBOL]["2024-03-02"]
    assert (d2["rows"], d2["first_time"], d2["last_time"], d2["first_id"], d2["last_id"]) == (
        2, M2, M2 + 1, 3, 4
    )  # fmt: skip
    assert d2["sources"] == [{"name": "hand", "sha256": None}]
    path = cat.partition_path(SYMBOL, D2)
    assert d2["bytes"] == path.stat().st_size
    meta = pq.ParquetFile(path).schema_arrow.metadata
    assert meta[b"hedgehog.scale"] == b"100000000" and meta[b"hedgehog.day"] == b"2024-03-02"


def test_rows_come_from_the_manifest_alone(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    cat.write_table(table([1, 2, 3], [M2 - 5, M2, M2 + 5]))
    for p in cat.root.glob("trades/*/*.parquet"):
        p.unlink()
    assert cat.rows(SYMBOL) == 3 and cat.rows(SYMBOL, D2, D2) == 2 and cat.rows("BTCUSDT") == 0


def test_scan_filters_at_the_boundaries_and_reads_only_overlapping_days(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    t = table([1, 2, 3, 4, 5, 6], [M2 - 10, M2 - 1, M2, M2 + 7, M2 + 9, M2 + DAY_MS])
    cat.write_table(t)
    cat.partition_path(SYMBOL, D3).unlink()  # never opened for spans ending before D3
    assert cat.read(SYMBOL, M2 - 1, M2 + 9).trade_id.tolist() == [2, 3, 4]  # start in, end out
    assert [p.trade_id.tolist() for p in cat.scan(SYMBOL, None, M2)] == [[1, 2]]
    assert [p.trade_id.tolist() for p in cat.scan(SYMBOL, M2, M2 + 8)] == [[3, 4]]
    assert len(cat.read(SYMBOL, M2 + 10, M2 + 20)) == 0  # nothing in the span: empty table
    with pytest.raises(DataError, match="missing"):
        cat.read(SYMBOL, M2)


@pytest.mark.parametrize("prefetch", [0, 1, 3])
def test_scan_reading_ahead_gives_the_same_days_and_errors(tmp_path: Path, prefetch: int) -> None:
    cat = Catalog(tmp_path)
    t = table([1, 2, 3, 4, 5], [M2 - DAY_MS, M2 - 1, M2, M2 + DAY_MS, M2 + 2 * DAY_MS])
    cat.write_table(t)
    days = list(cat.scan(SYMBOL, M2 - 1, None, prefetch=prefetch))
    assert [d.trade_id.tolist() for d in days] == [[2], [3], [4], [5]]
    cat.partition_path(SYMBOL, D3).unlink()
    got: list[int] = []
    with pytest.raises(DataError, match="missing"):
        for d in cat.scan(SYMBOL, prefetch=prefetch):
            got += d.trade_id.tolist()
    assert got == [1, 2, 3]  # the days before the missing one came through, in order


def test_write_table_merges_overlaps_and_rewrites_only_changed_days(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    cat.write_table(table([1, 2, 3], [M2 - 3, M2 - 2, M2 - 1]), "a")
    cat.write_table(table([10], [M2 + DAY_MS]), "c")  # D3
    before = mtimes(cat)
    d3 = str(cat.partition_path(SYMBOL, D3))
    # ids 2 and 3 again (same rows), 4 new on D1; 5 on D2 new; D3 untouched
    changes = cat.write_table(table([2, 3, 4, 5], [M2 - 2, M2 - 1, M2 - 1, M2]), "b")
    assert [(c.day, c.status, c.rows, c.new_rows) for c in changes] == [
        (D1, DayStatus.MERGED, 4, 1),
        (D2, DayStatus.ADDED, 1, 1),
    ]
    assert mtimes(cat)[d3] == before[d3]
    assert cat.read(SYMBOL).trade_id.tolist() == [1, 2, 3, 4, 5, 10]
    sources = json.loads(cat.manifest_path.read_text())["partitions"][SYMBOL]["2024-03-01"]
    assert [s["name"] for s in sources["sources"]] == ["a", "b"]
    d1 = str(cat.partition_path(SYMBOL, D1))
    at = mtimes(cat)[d1]
    again = cat.write_table(table([1, 4], [M2 - 3, M2 - 1]), "a")  # nothing new
    assert [(c.status, c.new_rows) for c in again] == [(DayStatus.UNCHANGED, 0)]
    assert mtimes(cat)[d1] == at


def test_merge_keeps_the_rows_already_stored_for_a_repeated_id(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    cat.write_table(table([1, 2], [M2, M2 + 1]))
    i = np.array([2, 3], dtype=np.int64)
    other = TradeTable(SYMBOL, i, np.array([7, 8]), i, np.array([M2 + 1, M2 + 2]), i > 0)
    cat.write_table(other)
    got = cat.read(SYMBOL)
    assert got.trade_id.tolist() == [1, 2, 3] and got.price.tolist() == [1001, 1002, 8]


def folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def zips(tmp_path: Path, days: list[date], n: int = 500) -> list[Path]:
    out = []
    for k, day in enumerate(days):
        t = synthetic_trades(SYMBOL, n, k, start_time_ms=day_start_ms(day), first_id=1 + k * n)
        out.append(write_binance_zip(t, folder(tmp_path / "src" / str(day))))
    return out


def test_import_is_idempotent_by_sha256(tmp_path: Path) -> None:
    files = zips(tmp_path, [D1, D2])
    cat = Catalog(tmp_path / "cat")
    first = cat.import_files([f.parent for f in files])
    assert [s.status for s in first.sources] == [SourceStatus.IMPORTED] * 2
    assert first.by_symbol() == {SYMBOL: {"added": 2, "merged": 0, "unchanged": 0, "rows": 1000}}
    manifest, before = cat.manifest_path.read_bytes(), mtimes(cat)
    calls: list[tuple[int, int, str]] = []
    again = cat.import_files(files, progress=lambda *a: calls.append(a))
    assert [s.status for s in again.sources] == [SourceStatus.ALREADY] * 2 and again.days == []
    assert calls == [(2, 2, "")]
    assert cat.manifest_path.read_bytes() == manifest and mtimes(cat) == before
    copy = tmp_path / "copy" / files[0].name  # the same bytes under another folder
    copy.parent.mkdir()
    copy.write_bytes(files[0].read_bytes())
    assert cat.import_files([copy]).sources[0].status is SourceStatus.ALREADY
    expect = TradeTable.concat([load_trades(f).table() for f in files])
    assert cat.read(SYMBOL) == expect


def test_import_merges_a_source_overlapping_a_day(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    t = synthetic_trades(SYMBOL, 400, 3, start_time_ms=day_start_ms(D1))
    whole = write_binance_zip(t, folder(tmp_path / "whole"))
    half = write_binance_zip(t.slice(0, 250), folder(tmp_path / "half"))
    cat.import_files([half])
    report = cat.import_files([whole])
    assert [(d.status, d.rows, d.new_rows) for d in report.days] == [(DayStatus.MERGED, 400, 150)]
    assert cat.read(SYMBOL) == t and cat.verify() == []


def test_import_with_a_symbol_leaves_other_binance_files_out(tmp_path: Path) -> None:
    mine = zips(tmp_path, [D1])[0]
    other_table = synthetic_trades("BTCUSDT", 10, 1, start_time_ms=day_start_ms(D1))
    other = write_binance_zip(other_table, folder(tmp_path / "btc"))
    cat = Catalog(tmp_path / "cat")
    report = cat.import_files([mine, other], symbol="xrpusdt")
    assert [s.status for s in report.sources] == [SourceStatus.IMPORTED, SourceStatus.OTHER_SYMBOL]
    assert cat.symbols() == [SYMBOL]
    assert cat.import_files([other]).sources[0].status is SourceStatus.IMPORTED
    assert cat.symbols() == ["BTCUSDT", SYMBOL]


def test_real_day_round_trips_exactly(tmp_path: Path) -> None:
    data = shared_data_dir("XRPUSDT-trades-2019-05-25.zip", "2019-05-25-XRPUSDT.csv.gz")
    zipped = data / "XRPUSDT-trades-2019-05-25.zip"
    cat = Catalog(tmp_path)
    report = cat.import_files([zipped])
    assert report.by_symbol()[SYMBOL]["rows"] == 70_130
    expect = load_trades([zipped]).table()
    assert cat.read(SYMBOL).equals(expect) and cat.days(SYMBOL) == [date(2019, 5, 25)]
    book = cat.import_files([data / "2019-05-25-XRPUSDT.csv.gz"])  # the same trades, recorded
    assert [d.status for d in book.days] == [DayStatus.UNCHANGED]
    assert cat.read(SYMBOL).equals(expect) and cat.verify() == []
    both = Catalog(tmp_path / "both").import_files([zipped, data / "2019-05-25-XRPUSDT.csv.gz"])
    assert both.by_symbol() == {SYMBOL: {"added": 1, "merged": 0, "unchanged": 0, "rows": 70_130}}


def test_verify_catches_a_flipped_byte_a_missing_file_and_a_stray_one(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    cat.write_table(synthetic_trades(SYMBOL, 5000, 1, start_time_ms=M2 - 1000))
    assert cat.verify() == []
    d1, d2 = cat.partition_path(SYMBOL, D1), cat.partition_path(SYMBOL, D2)
    raw = bytearray(d2.read_bytes())
    raw[len(raw) // 3] ^= 0x01  # inside a data page
    d2.write_bytes(bytes(raw))
    d1.unlink()
    stray = cat.root / "trades" / SYMBOL / "2024-03-09.parquet"
    stray.write_bytes(b"x")
    problems = cat.verify()
    assert len(problems) == 3
    assert problems[0] == f"{d1}: missing"
    assert problems[1].startswith(f"{d2}: sha256 ") and "the manifest says" in problems[1]
    assert problems[2] == f"{stray}: not in the manifest"
    with pytest.raises(DataError, match=str(d2)):
        cat.read(SYMBOL, M2)  # the page checksum fails on read too


def test_scan_refuses_a_file_that_does_not_match_its_entry(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    cat.write_table(table([1, 2], [M2, M2 + 1]))
    saved = cat.partition_path(SYMBOL, D2).read_bytes()
    cat.write_table(table([3], [M2 + 2]))
    cat.partition_path(SYMBOL, D2).write_bytes(saved)  # an older file behind the manifest
    with pytest.raises(DataError, match="does not match the manifest"):
        cat.read(SYMBOL)


def test_errors_name_the_path_and_the_problem(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    assert cat.symbols() == [] and cat.verify() == []
    with pytest.raises(DataError, match="no trades of XRPUSDT in the catalog"):
        cat.scan(SYMBOL)
    with pytest.raises(DataError, match="no such file"):
        cat.import_files([tmp_path / "nope.zip"])
    cat.manifest_path.write_text("{not json")
    with pytest.raises(DataError, match=f"corrupt catalog manifest {cat.manifest_path}"):
        cat.symbols()
    cat.manifest_path.write_text(json.dumps({"format": "hedgehog-trades-catalog", "version": 9}))
    with pytest.raises(DataError, match="version 9"):
        cat.days(SYMBOL)
    assert Catalog.default(tmp_path).root == tmp_path / "catalog"
    with pytest.raises(ConfigError, match="not a valid symbol"):
        Catalog(tmp_path / "c").write_table(table([1], [M2], symbol="../X"))
    assert not (tmp_path / "X").exists()


def test_filters_come_from_the_catalogs_exchange_info(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    assert cat.exchange_info_path == tmp_path / "exchangeInfo.json"
    with pytest.raises(ConfigError, match="hedgehog data exchange-info"):
        cat.filters([SYMBOL])
    cat.exchange_info_path.write_text(json.dumps(synthetic_exchange_info([SYMBOL])))
    got = cat.filters(["xrpusdt"])
    assert list(got) == [SYMBOL] and got[SYMBOL].tick_size == Decimal("0.0001")
    with pytest.raises(ConfigError, match=r"has no BTCUSDT.*hedgehog data exchange-info"):
        cat.filters([SYMBOL, "BTCUSDT"])
    cat.exchange_info_path.write_text("[")
    with pytest.raises(ConfigError, match="unusable exchange info"):
        cat.filters([SYMBOL])


rows = st.lists(
    st.tuples(
        st.integers(1, 2**40),  # trade id
        st.integers(1, 2**62),  # price units
        st.integers(1, 2**62),  # qty units
        st.integers(M2 - 2 * DAY_MS, M2 + 2 * DAY_MS),  # time: up to four days
        st.booleans(),
    ),
    max_size=60,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows)
def test_write_then_read_round_trips_any_table(
    tmp_path_factory: pytest.TempPathFactory, data: list[tuple[int, int, int, int, bool]]
) -> None:
    def col(k: int, dtype: type) -> np.ndarray:
        return np.array([r[k] for r in data], dtype=dtype)

    t = TradeTable(SYMBOL, col(0, np.int64), col(1, np.int64), col(2, np.int64),
                   col(3, np.int64), col(4, np.bool_))  # fmt: skip
    cat = Catalog(tmp_path_factory.mktemp("cat"))
    cat.write_table(t)
    assert cat.rows(SYMBOL) == len(t)
    if len(t):
        assert cat.read(SYMBOL) == t
        assert cat.verify() == []
    else:
        assert cat.symbols() == []


def test_ahead_keeps_order_and_stays_within_its_window() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from hedgehog.market.catalog_import import ahead

    started: list[int] = []

    def work(i: int) -> int:
        started.append(i)
        return i * 10

    with ThreadPoolExecutor(2) as pool:
        got: list[int] = []
        for x in ahead(pool, work, range(6), 2):
            assert len(started) <= len(got) + 1 + 2  # this one, and at most 2 ahead of it
            got.append(x)
    assert got == [0, 10, 20, 30, 40, 50]


def test_a_book_csv_of_two_symbols_imports_per_symbol(tmp_path: Path) -> None:
    from tests.market.test_loaders import HEADER, book_text

    xrp = table([1, 2, 3], [M2 - 1, M2, M2 + 1])
    btc = table([7, 8], [M2 + 5, M2 + 6], symbol="BTCUSDT")
    book = tmp_path / "recorded.csv"
    book.write_text(
        HEADER + "\n" + book_text(xrp).split("\n", 1)[1] + book_text(btc).split("\n", 1)[1]
    )
    cat = Catalog(tmp_path / "cat")
    first = cat.import_files([book], symbol="XRPUSDT")
    assert cat.symbols() == [SYMBOL] and first.by_symbol()[SYMBOL]["added"] == 2
    again = cat.import_files([book])  # every symbol now: not the same import as XRPUSDT's alone
    assert again.sources[0].status is SourceStatus.IMPORTED
    assert again.by_symbol() == {
        "BTCUSDT": {"added": 1, "merged": 0, "unchanged": 0, "rows": 2},
        SYMBOL: {"added": 0, "merged": 0, "unchanged": 2, "rows": 0},
    }
    assert cat.read("BTCUSDT") == btc and cat.read(SYMBOL) == xrp
    assert cat.import_files([book], symbol="BTCUSDT").sources[0].status is SourceStatus.ALREADY


def test_a_bad_file_stops_the_import_keeping_the_files_before_it(tmp_path: Path) -> None:
    good = zips(tmp_path, [D1])[0]
    junk = tmp_path / "src" / "XRPUSDT-trades-2024-03-02.csv"
    junk.write_text("1,not a price,1,1,1709337600000,true,true\n")
    cat = Catalog(tmp_path / "cat")
    with pytest.raises(DataError, match=r"XRPUSDT-trades-2024-03-02\.csv"):
        cat.import_files([good, junk])
    assert cat.days(SYMBOL) == [D1] and cat.verify() == []
    assert cat.import_files([good]).sources[0].status is SourceStatus.ALREADY
