"""What a strategy declares, for the book's tree to run it (`hedgehog.naive`'s trader and
leader) and for backtests, sweeps, the store and the views to stay generic over it.

Settings: a frozen value with `symbol`, `budget` and `fee` (what backtests fund and charge),
`as_dict()` (JSON-ready, strings for decimals) and `check_against(filters)` (a `ConfigError`
saying what the symbol's filters refuse). A trader's state: a frozen value with `symbol`,
`trader_id`, `number` (its start order: trade events reach traders in that order), `phase`
("done" once its cycle is over), `in_flight()` (orders to ask the exchange about after a
restart), `awaiting()` (a decision a restarted trader must carry out) and `fees_known`.

The leader's policy is expressed in *slots*: an int a strategy gives each trader (naive uses
0 for all; grid the level the trader works). Decisions are the book's (`PlaceOrder`,
`CycleComplete`, `RequestRebuy`, `FetchFills`, `CheckSell`, `Report`; see
`hedgehog.naive.state`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Fill, Order, OrderUpdate, TradeEvent

Band = tuple[Decimal | None, Decimal | None]
"""Prices (inclusive; None: unbounded) at which `on_trade` changes nothing."""

Step = tuple[Any, tuple[Any, ...]]
"""A transition's result: the new state (the same object when nothing changed) and the
decisions to carry out, in order."""


@runtime_checkable
class Strategy(Protocol):
    """A trading strategy the tree can run. Every method is pure."""

    name: str

    # -- settings ---------------------------------------------------------------------------
    def parse_settings(self, symbol: str, params: Mapping[str, Any]) -> Any:
        """Settings from `key=value` parameters (strings or JSON values); unknown keys and
        bad values are a `ConfigError` naming them. Missing keys take defaults."""
        ...

    # -- the leader's policy ----------------------------------------------------------------
    def missing_slots(self, settings: Any, running: Sequence[Any]) -> list[int]:
        """The slots to start fresh traders in, given the states of the traders running (or
        loaded from the store): at a symbol's start, and when it resumes with none."""
        ...

    def replacement(self, settings: Any, finished: Any) -> int | None:
        """The slot of a fresh trader to start when `finished` completed its cycle, or None."""
        ...

    def extra_trader(self, settings: Any, alive: int) -> int | None:
        """The slot of one more trader when a trader asks for it (`RequestRebuy`), or None."""
        ...

    def new_trader(
        self,
        symbol: str,
        number: int,
        settings: Any,
        filters: SymbolFilters,
        prefix: str,
        slot: int,
    ) -> Any:
        """A fresh trader's state; its id is `prefix + number`."""
        ...

    # -- transitions ------------------------------------------------------------------------
    def on_trade(self, state: Any, trade: TradeEvent, may_buy: bool) -> Step:
        """A trade of the symbol (`may_buy` is False while the symbol shuts down)."""
        ...

    def on_update(self, state: Any, update: OrderUpdate) -> Step:
        """An order update of the symbol (any trader's: ignore the others')."""
        ...

    def on_order(self, state: Any, order: Order) -> Step:
        """The exchange's view of one of this trader's orders (answer, query)."""
        ...

    def on_rejected(self, state: Any, order: Any, reason: str) -> Step:
        """The exchange refused one of this trader's orders."""
        ...

    def on_fills(self, state: Any, fills: list[Fill]) -> Step:
        """The fills asked for by `FetchFills`."""
        ...

    def on_sell_check(self, state: Any, fills: list[Fill], free_base: Decimal) -> Step:
        """The fills and free base balance asked for by `CheckSell`."""
        ...

    def trade_band(self, state: Any, may_buy: bool) -> Band | None:
        """The quiet band of prices (for the skip-ahead replay), or None: every trade may
        matter. A strategy without one returns None and runs every tick, still exact."""
        ...

    # Optional, for strategies on bars (`hedgehog.market.bars`): declare both or neither.
    #   bar_intervals(settings) -> Sequence[str]   e.g. ("1m",): the bars its traders get
    #   on_bar(state, bar, may_buy) -> Step          a bar closed (after the trade closing it)

    def may_stop(self, state: Any) -> bool:
        """On a symbol's shutdown: whether this trader holds nothing and may stop at once."""
        ...

    def describe(self, state: Any) -> dict[str, Any]:
        """The trader's state for `status` and the dashboard (JSON-ready)."""
        ...

    # -- persistence (the store; restarts of a whole node) ----------------------------------
    def dump_state(self, state: Any) -> dict[str, Any]:
        """The whole state as JSON-ready data, exactly: `load_state(dump_state(s)) == s`."""
        ...

    def load_state(self, data: dict[str, Any]) -> Any:
        """A state back from `dump_state`'s data (also from older formats it wrote); a
        `ValueError` for data it cannot read."""
        ...
