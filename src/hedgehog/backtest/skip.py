"""Skip-ahead replay: publish only the trades that can change something.

Almost every trade changes nothing: a trader waiting for its buy to fill ignores every price
at or above its rebuy threshold, and the paper exchange ignores every price strictly between
its best resting buy and best resting sell. Each process that consumes trades declares that
band (`trade_band()`: (low, high), either side None for unbounded; inclusive; or None — "wake
me for every trade"); the exchange's band comes from its book. Per symbol the replay keeps the
intersection of the bands of the symbol's subscribers and the exchange, and finds the next
trade outside it with vectorised numpy scans over the price column (in exact 1e-8 units).
Those trades — and the trades where a timer falls due or a chaos kill is scheduled — go through
the very same delivery as the every-trade replay; the result is identical, which the tests
check with hypothesis and on the real day.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from hedgehog.market.tables import SCALE
from hedgehog.runtime import interrupt

if TYPE_CHECKING:
    from hedgehog.backtest.runner import _Chaos, _Replay

LOWEST = np.iinfo(np.int64).min
HIGHEST = np.iinfo(np.int64).max
FIRST_WINDOW = 64
MAX_WINDOW = 1 << 20


def _units_ceil(value: Decimal) -> int:
    return math.ceil(value * SCALE)


def _units_floor(value: Decimal) -> int:
    return math.floor(value * SCALE)


def quiet_band(replay: _Replay, sym_i: int) -> tuple[int, int] | None:
    """The inclusive band (in 1e-8 units) of prices no one of `sym_i` reacts to, or None."""
    lo, hi = LOWEST, HIGHEST
    for proc in replay.pubsub.subscribers(replay.topics[sym_i]):
        declare = getattr(proc, "trade_band", None)
        band = declare() if declare is not None else None
        if band is None:
            return None
        low, high = band
        if low is not None:
            lo = max(lo, _units_ceil(low))
        if high is not None:
            hi = min(hi, _units_floor(high))
    best_buy, best_sell = replay.engine.band(replay.symbols[sym_i])
    if best_buy is not None:  # a buy at B fills on any price <= B
        lo = max(lo, _units_floor(best_buy) + 1)
    if best_sell is not None:  # a sell at S fills on any price >= S
        hi = min(hi, _units_ceil(best_sell) - 1)
    return (lo, hi) if lo <= hi else None


def next_outside(prices: np.ndarray, start: int, band: tuple[int, int] | None) -> int:
    """Index of the first price at or after `start` outside `band` (len(prices) if none)."""
    n = len(prices)
    if band is None or start >= n:
        return start
    lo, hi = band
    i, window = start, FIRST_WINDOW
    while i < n:
        j = min(n, i + window)
        segment = prices[i:j]
        outside = (segment < lo) | (segment > hi)
        k = int(outside.argmax())
        if outside[k]:
            return i + k
        i = j
        window = min(window * 8, MAX_WINDOW)
    return n


async def skip_ahead(
    replay: _Replay, which: np.ndarray | None, rows: np.ndarray | None, chaos: _Chaos
) -> None:
    """Replay only the trades of this chunk that matter; see the module docstring. Chaos
    kills are numbered over the whole replay, the chunk's first trade `replay.offset`.
    `which` and `rows` are the chunk's merge order (`merge_order`); None with one symbol,
    whose rows are the order."""
    symbols, tables, offset = replay.symbols, replay.tables, replay.offset
    count = len(symbols)
    prices = [tables[s].price for s in symbols]
    sizes = [len(tables[s]) for s in symbols]
    total = sum(sizes)
    if total == 0:
        return
    gpos: list[Any]
    if which is None or rows is None:  # one symbol: its rows are the global positions
        assert count == 1
        gpos, times = [_Identity()], tables[symbols[0]].time
    else:
        # global position of each symbol's rows (rows keep their order in the merged
        # replay): invert the merge permutation once
        offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        inverse = np.empty(total, dtype=np.int64)
        inverse[offsets[which] + rows] = np.arange(total, dtype=np.int64)
        gpos = [inverse[offsets[i] : offsets[i] + sizes[i]] for i in range(count)]
        times = np.empty(total, dtype=np.int64)  # trade time of each global position
        for i, s in enumerate(symbols):
            times[gpos[i]] = tables[s].time
    cursor = [0] * count  # next row of each symbol not yet replayed
    nxt = [0] * count  # next row of each symbol that must be replayed
    dirty = set(range(count))
    reported = 0
    while True:
        interrupt.check()  # a signal stops the replay between steps
        for i in dirty:
            nxt[i] = next_outside(prices[i], cursor[i], quiet_band(replay, i))
        dirty.clear()
        best = total
        for i in range(count):
            if nxt[i] < sizes[i]:
                best = min(best, int(gpos[i][nxt[i]]))
        deadline = replay.clock.next_deadline()
        if deadline is not None:
            best = min(best, _due(times, deadline, replay.current_ms))
        kill_at = chaos.next_at()
        if kill_at is not None:  # a kill falls after this trade: replay it, then kill
            best = min(best, kill_at - offset)
        if best >= total:
            break
        if which is None or rows is None:
            sym_i, row = 0, best
        else:
            sym_i, row = int(which[best]), int(rows[best])
        t = tables[symbols[sym_i]]
        trade = replay.event(
            sym_i,
            int(t.trade_id[row]),
            int(t.price[row]),
            int(t.qty[row]),
            int(t.time[row]),
            bool(t.buyer_maker[row]),
        )
        await replay.deliver(sym_i, trade)
        cursor[sym_i] = row + 1
        dirty.add(sym_i)
        if chaos.due(offset + best):
            await chaos.strike(offset + best)
            dirty.update(range(count))
        if deadline is not None:
            dirty.update(range(count))
        if best - reported >= 65_536:
            reported = best
            replay.report(best)
    replay.report(total)


class _Identity:
    """The order of a single symbol's chunk: position k is row k (no array needed)."""

    def __getitem__(self, k: int) -> int:
        return k


def _due(times: np.ndarray, deadline: float, current_ms: int) -> int:
    """The position where the every-trade replay fires a timer due at `deadline`: the first
    later trade whose time differs from the current one and reaches the deadline."""
    i = int(np.searchsorted(times, max(current_ms + 1, math.floor(deadline * 1000)), "left"))
    while i < len(times) and times[i] / 1000 < deadline:
        i += 1
    return i
