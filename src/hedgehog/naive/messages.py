"""The messages between the naive strategy's processes, as frozen dataclasses.

Typed (mypy checks every sender and receiver) instead of tuples and strings that a typo turns
into a message nobody handles:

- a trader casts `TraderStateChanged` to its leader after each state it commits, and
  `RebuyWanted` when its buy price fell far enough for one more trader;
- `Shutdown` and `Resume` are calls to a leader (from the API) and casts from a leader to its
  traders: no new buys, then buys again;
- `Recover` is a trader's own message (after start, and as a retry after a failed read);
- a leader whose last trader finished a shutdown casts `StopSymbol` to `naive.symbols`;
- the node casts `Watch` to the observer for each symbol it trades.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hedgehog.naive.strategy import TraderState


@dataclass(frozen=True, slots=True)
class TraderStateChanged:
    """Trader → leader: the state it just committed (the leader restarts it from there)."""

    trader_id: str
    state: TraderState


@dataclass(frozen=True, slots=True)
class RebuyWanted:
    """Trader → leader: the price fell enough to start one more trader."""

    trader_id: str


@dataclass(frozen=True, slots=True)
class Shutdown:
    """API → leader (call), leader → trader (cast): finish the current cycles, buy no more."""


@dataclass(frozen=True, slots=True)
class Resume:
    """API → leader (call), leader → trader (cast): undo a shutdown, buy again."""


@dataclass(frozen=True, slots=True)
class Recover:
    """Trader → itself: ask the exchange about orders in flight and the fills it lacks."""


@dataclass(frozen=True, slots=True)
class StopSymbol:
    """Leader → naive.symbols: the shutdown of `symbol` is complete, stop its tree."""

    symbol: str


@dataclass(frozen=True, slots=True)
class Watch:
    """Node → observer: follow `symbol`'s trades and orders, computing fees at `fee`."""

    symbol: str
    fee: Decimal


SHUTDOWN = Shutdown()
RESUME = Resume()
RECOVER = Recover()
