"""TradeTable: order, dedup, exact units, views, events."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgehog.core.types import TradeEvent
from hedgehog.market.tables import SCALE, TradeTable, from_units, to_units

INT64_MAX = 2**63 - 1


def table(ids, prices, qtys, times, makers=None, symbol="xrpusdt") -> TradeTable:
    makers = makers if makers is not None else [False] * len(ids)
    return TradeTable(
        symbol,
        np.array(ids),
        np.array(prices),
        np.array(qtys),
        np.array(times),
        np.array(makers, dtype=bool),
    )


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("0", 0),
        ("1", SCALE),
        ("0.38286000", 38_286_000),
        ("0.00000001", 1),
        ("-3.5", -350_000_000),
        ("1E+5", 10**13),
        ("0E-20", 0),
        ("92233720368.54775807", INT64_MAX),
    ],
)
def test_to_units_is_exact(text: str, units: int) -> None:
    assert to_units(Decimal(text)) == units


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (Decimal("1.000000001"), "more than 8 decimals"),
        (Decimal("92233720368.54775808"), "too large"),
        (Decimal("1E+30"), "too large"),
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        (0.5, "finite"),
    ],
)
def test_to_units_rejects_what_int64_units_cannot_hold(value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        to_units(value)  # type: ignore[arg-type]


def test_from_units_is_normalised() -> None:
    assert str(from_units(38_286_000)) == "0.38286"
    assert str(from_units(10**13)) == "100000"
    assert str(from_units(0)) == "0"
    assert str(from_units(-1)) == "-1E-8"
    assert from_units(-1) == Decimal("-0.00000001")


@given(st.integers(min_value=-INT64_MAX, max_value=INT64_MAX))
def test_units_round_trip(units: int) -> None:
    assert to_units(from_units(units)) == units


@given(st.decimals(min_value=-(10**10), max_value=10**10, places=8, allow_nan=False))
def test_decimal_round_trip(value: Decimal) -> None:
    assert from_units(to_units(value)) == value


def test_rows_are_sorted_by_time_then_id_and_duplicates_keep_the_first() -> None:
    t = table([5, 3, 4, 3], [10, 20, 30, 99], [1, 2, 3, 4], [200, 100, 100, 50], symbol="xrpusdt")
    assert t.symbol == "XRPUSDT"
    assert t.trade_id.tolist() == [3, 4, 5]
    assert t.price.tolist() == [20, 30, 10]  # id 3's first row (price 20) wins
    assert t.time.tolist() == [100, 100, 200]


def test_columns_are_read_only_views_and_the_callers_arrays_stay_writable() -> None:
    ids = np.array([1, 2])
    t = TradeTable(
        "X", ids, np.array([1, 1]), np.array([1, 1]), np.array([1, 2]), np.array([True, False])
    )
    with pytest.raises(ValueError, match="read-only"):
        t.price[0] = 5
    ids[0] = 0  # the caller's array is untouched by the table's read-only view
    assert t.trade_id.dtype == np.int64 and t.buyer_maker.dtype == np.bool_


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ids": [1, 2]}, "equal lengths"),
        ({"prices": [0]}, "positive"),
        ({"qtys": [-1]}, "positive"),
    ],
)
def test_invalid_columns_are_refused(kwargs: dict[str, list[int]], match: str) -> None:
    cols = {"ids": [1], "prices": [1], "qtys": [1], "times": [1]} | kwargs
    with pytest.raises(ValueError, match=match):
        table(cols["ids"], cols["prices"], cols["qtys"], cols["times"], [False])


def test_two_dimensional_or_float_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="1-D"):
        table([[1]], [[1]], [[1]], [[1]], [[False]])
    with pytest.raises(TypeError, match="int64 got float64"):
        table([1], [0.5], [1], [1])


def test_len_nbytes_and_slice() -> None:
    t = table(range(10), range(1, 11), [5] * 10, range(100, 110))
    assert len(t) == 10
    assert t.nbytes == 33 * 10
    part = t.slice(2, 5)
    assert part.trade_id.tolist() == [2, 3, 4]
    assert np.shares_memory(part.price, t.price)
    assert len(t.slice(8, 100)) == 2


def test_concat_merges_sorts_and_drops_repeated_ids() -> None:
    a = table([1, 3], [10, 30], [1, 1], [10, 30])
    b = table([2, 3], [20, 99], [1, 1], [20, 30])
    merged = TradeTable.concat([b, a])
    assert merged.trade_id.tolist() == [1, 2, 3]
    assert merged.price.tolist() == [10, 20, 99]  # b came first, so its id 3 wins
    assert TradeTable.concat([a]) is a
    with pytest.raises(ValueError, match="different symbols"):
        TradeTable.concat([a, table([1], [1], [1], [1], symbol="BTCUSDT")])
    with pytest.raises(ValueError, match="at least one"):
        TradeTable.concat([])


def test_events_are_exact_normalised_trade_events() -> None:
    t = table(
        [7, 8, 9],
        [38_286_000, 38_286_000, 10**10],
        [43_420_000_000, 10**8, 1],
        [1_558_742_400_339] * 3,
        [True, False, True],
    )
    events = list(t.events())
    assert events[0] == TradeEvent(
        "XRPUSDT",
        7,
        Decimal("0.38286"),
        Decimal("434.2"),
        1_558_742_400_339,
        True,
        1_558_742_400_339,
    )
    assert [str(e.price) for e in events] == ["0.38286", "0.38286", "100"]
    assert [str(e.quantity) for e in events] == ["434.2", "1", "1E-8"]
    assert events[0].price is events[1].price  # repeated prices share one cached Decimal
    assert t.price_decimal(2) == Decimal(100) and t.qty_decimal(0) == Decimal("434.2")


def test_equality_repr_and_empty_table() -> None:
    a = table([1, 2], [5, 6], [1, 1], [1, 2])
    assert a == table([2, 1], [6, 5], [1, 1], [2, 1])
    assert a != table([1, 2], [5, 7], [1, 1], [1, 2])
    assert a != "XRPUSDT"
    with pytest.raises(TypeError):
        hash(a)
    assert "2 trades" in repr(a)
    empty = TradeTable.empty("ethusdt")
    assert len(empty) == 0 and list(empty.events()) == [] and "empty" in repr(empty)


def test_memory_per_trade_is_small() -> None:
    n = 100_000
    t = table(np.arange(n), np.full(n, 7), np.full(n, 3), np.arange(n) // 3)
    assert t.nbytes / n <= 100
    assert t.nbytes / n == 33
