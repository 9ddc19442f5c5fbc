"""The report's chart data, no drawing: what `report_model` computes and `report_charts`
draws. Kept apart from the charts so that the figures of a backtest (metrics, exports) do not
import matplotlib (about 0.4 s of start-up)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hedgehog.market.bars import Bar

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PriceChart:
    """A symbol's price bars (exact, from `bars_from_table`), our fills and open orders."""

    symbol: str
    base: str
    quote: str
    bars: Sequence[Bar]
    buy_ms: IntArray
    buy_price: FloatArray
    sell_ms: IntArray
    sell_price: FloatArray
    end_ms: int  # the end of the data, where open orders are marked
    open_buys: list[tuple[int, float]] = field(default_factory=list)  # (placed ms, price)
    open_sells: list[tuple[int, float]] = field(default_factory=list)


@dataclass(frozen=True)
class PnlPanel:
    """One quote asset's PnL: realised and equity on the time grid, realised exactly."""

    quote: str
    grid_ms: IntArray
    realised: FloatArray
    equity: FloatArray
    step_ms: IntArray  # sell fill times of completed cycles, in order
    step_realised: FloatArray  # realised PnL just after each of them


@dataclass(frozen=True)
class CycleLanes:
    """A symbol's cycles, one bar each, packed into lanes (traders alive at the same time).

    Times are epoch ms; `filled_ms` is -1 when the buy never filled and `end_ms` is the sell's
    fill (completed), the buy's cancellation, or the end of the data (still open).
    """

    symbol: str
    lane: IntArray
    start_ms: IntArray
    filled_ms: IntArray
    end_ms: IntArray
    completed: npt.NDArray[np.bool_]
    dead: npt.NDArray[np.bool_]
    labels: list[str]


__all__ = ["CycleLanes", "FloatArray", "IntArray", "PnlPanel", "PriceChart"]
