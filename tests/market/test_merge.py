"""One merge rule for several symbols: time, then symbol name, then the table's own order;
the backtest's positions and the simulator's events agree."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from hedgehog.market.merge import merge_order, merged_events
from hedgehog.market.tables import TradeTable


def table(symbol: str, times: list[int]) -> TradeTable:
    n = len(times)
    ids = np.arange(1, n + 1, dtype=np.int64)
    prices = np.arange(1, n + 1, dtype=np.int64) * 10**6
    return TradeTable(
        symbol, ids, prices, np.full(n, 10**8), np.array(sorted(times)), np.zeros(n, bool)
    )


times = st.lists(st.integers(0, 20), min_size=1, max_size=30)


@given(times, times, times)
def test_events_follow_time_then_symbol_whatever_the_input_order(
    a: list[int], b: list[int], c: list[int]
) -> None:
    tables = [table("CCCUSDT", c), table("AAAUSDT", a), table("BBBUSDT", b)]
    got = [(e.trade_time, e.symbol, e.trade_id) for e in merged_events(tables)]
    assert got == sorted(got)  # time, then symbol, then trade id (ids follow time in a table)
    assert got == [(e.trade_time, e.symbol, e.trade_id) for e in merged_events(tables[::-1])]
    symbols, which, rows = merge_order({t.symbol: t for t in tables})
    by = {t.symbol: t for t in tables}
    positions = [
        (int(by[symbols[i]].time[r]), symbols[i], int(by[symbols[i]].trade_id[r]))
        for i, r in zip(which.tolist(), rows.tolist(), strict=True)
    ]
    assert positions == got


def test_two_tables_of_one_symbol_are_refused() -> None:
    try:
        list(merged_events([table("XRPUSDT", [1]), table("XRPUSDT", [2])]))
    except ValueError as exc:
        assert "two tables of XRPUSDT" in str(exc)
    else:
        raise AssertionError("merged two tables of one symbol")
