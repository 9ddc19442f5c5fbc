"""Where a backtest's trades come from: whole tables in memory, or chunks streamed in turn.

The replay consumes a `TradeSource` chunk by chunk. A chunk is a table per symbol holding
every trade of a window of time [start, end) — all the symbols', so merging a chunk is
merging that window — and windows follow one another. Replaying the chunks one after the
other is then replaying the merge of all the data in the same exact order, with only one
chunk in memory at a time (the tests hold the ledgers equal).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

import numpy as np

from hedgehog.market.tables import TradeTable

Chunk = dict[str, TradeTable]


class TradeSource(Protocol):
    """Trades of `symbols`, in consecutive chunks of time."""

    @property
    def symbols(self) -> list[str]: ...

    def count(self) -> int:
        """How many trades the chunks hold in all (for progress and chaos)."""
        ...

    def chunks(self) -> Iterator[Chunk]:
        """The chunks, in time order; a chunk may be empty for some symbols."""
        ...


class TablesSource:
    """Tables already in memory: one chunk, or windows of `window_ms` (the tests' way of
    checking that a streamed replay equals the all-at-once one)."""

    def __init__(self, tables: Mapping[str, TradeTable], window_ms: int | None = None) -> None:
        self.tables = dict(sorted(tables.items()))
        self.window_ms = window_ms

    @property
    def symbols(self) -> list[str]:
        return list(self.tables)

    def count(self) -> int:
        return sum(len(t) for t in self.tables.values())

    def chunks(self) -> Iterator[Chunk]:
        if self.window_ms is None:
            yield self.tables
            return
        full = [t for t in self.tables.values() if len(t)]
        if not full:
            return
        first = min(int(t.time[0]) for t in full)
        last = max(int(t.time[-1]) for t in full)
        for start in range(first, last + 1, self.window_ms):
            yield {s: window(t, start, start + self.window_ms) for s, t in self.tables.items()}


def window(table: TradeTable, start_ms: int | None, end_ms: int | None) -> TradeTable:
    """The rows of `table` with start_ms <= time < end_ms (views, no copy)."""
    lo = 0 if start_ms is None else int(np.searchsorted(table.time, start_ms, "left"))
    hi = len(table) if end_ms is None else int(np.searchsorted(table.time, end_ms, "left"))
    return table if (lo, hi) == (0, len(table)) else table.slice(lo, max(lo, hi))


__all__ = ["Chunk", "TablesSource", "TradeSource", "window"]
