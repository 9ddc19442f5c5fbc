"""The casts the node sends its feed processes, as frozen dataclasses (typed, checked by mypy).

The paper feeder and the fill router follow a symbol on `WatchSymbol` (and stop on
`UnwatchSymbol`); the fill router also reconciles each order it is told about with
`WatchOrder`. The node notes each of them (`live/watches.py`) to tell a restarted feed again.
The observer's own message, `Watch`, lives with it in `naive/messages.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hedgehog.core.types import Order


@dataclass(frozen=True, slots=True)
class WatchSymbol:
    """Node → feed: follow `symbol` (paper: match its orders; Binance: poll its orders)."""

    symbol: str


@dataclass(frozen=True, slots=True)
class UnwatchSymbol:
    """Node → feed: stop following `symbol`."""

    symbol: str


@dataclass(frozen=True, slots=True)
class WatchOrder:
    """Node → fill router: an order just placed or queried, to reconcile until it is done."""

    order: Order
