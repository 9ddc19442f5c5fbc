"""The one merge of several symbols' trades into a single order, used by the backtest's
replay and the simulator's recorded feed alike.

The rule: by trade time; trades at the same millisecond by symbol name; within a symbol by
its table's own order (time, then trade id). A table is already in that order, so laying the
tables end to end in symbol order and sorting stably by time gives the merge (numpy's timsort
merges the sorted runs in O(n log k)).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np

from hedgehog.core.types import TradeEvent
from hedgehog.market.tables import TradeTable


def merge_order(tables: Mapping[str, TradeTable]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The global order as (symbols sorted, symbol index per position, row per position)."""
    symbols = sorted(tables)
    if len(symbols) == 1:
        n = len(tables[symbols[0]])
        return symbols, np.zeros(n, dtype=np.int32), np.arange(n, dtype=np.int64)
    which = np.concatenate(
        [np.full(len(tables[s]), i, dtype=np.int32) for i, s in enumerate(symbols)]
    )
    rows = np.concatenate([np.arange(len(tables[s]), dtype=np.int64) for s in symbols])
    times = np.concatenate([tables[s].time for s in symbols])
    order = np.argsort(times, kind="stable")
    return symbols, which[order], rows[order]


def merged_events(tables: Iterable[TradeTable]) -> Iterator[TradeEvent]:
    """Every table's trades as events, in the merge order (one table per symbol)."""
    by_symbol: dict[str, TradeTable] = {}
    for table in tables:
        if table.symbol in by_symbol:
            raise ValueError(f"two tables of {table.symbol}: concatenate them first")
        by_symbol[table.symbol] = table
    symbols, which, _ = merge_order(by_symbol)
    streams = [by_symbol[s].events() for s in symbols]
    if len(streams) == 1:
        yield from streams[0]
        return
    for i in which.tolist():
        yield next(streams[i])


__all__ = ["merge_order", "merged_events"]
