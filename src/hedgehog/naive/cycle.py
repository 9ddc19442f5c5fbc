"""`CycleStrategy`: the base for strategies built on the book's trading cycle — one BUY, then
one SELL of what it bought, then the cycle is over and the leader starts a fresh trader.

A subclass says only what makes it different: its `name`, its settings (`parse_settings`), its
state (a frozen dataclass subclassing `TraderState`, for its own fields), when to buy
(`on_trade` and/or `on_bar` with `bar_intervals`) and at what price it sells (the state's
`sell_target()`). Everything after the buy is the tree's, shared with naive and grid: the
commission-aware sell size, fills fetched when a commission is not known yet, refused sells
re-sized, dust recorded, recovery by client order id. `dump_state`/`load_state` store any
such state exactly by its dataclass fields (Decimals as strings). docs/strategies.md writes
one from scratch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Side, TradeEvent
from hedgehog.naive import strategy as cycle
from hedgehog.naive.plugin import order_data
from hedgehog.naive.state import NOTHING, OrderRef, TraderState


class CycleStrategy:
    """Subclass it; see the module's docstring. One trader at a time by default (override
    `missing_slots`, `replacement`, `extra_trader` for more), every trade or bar delivered
    (`trade_band` None: exact, no skipping)."""

    name = "cycle"
    state_type: type[TraderState] = TraderState

    # -- what a subclass gives --------------------------------------------------------------
    def parse_settings(self, symbol: str, params: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def on_trade(self, state: Any, trade: TradeEvent, may_buy: bool = True) -> Any:
        return state, NOTHING  # a strategy on bars ignores single trades

    def new_trader(
        self,
        symbol: str,
        number: int,
        settings: Any,
        filters: SymbolFilters,
        prefix: str,
        slot: int,
    ) -> Any:
        return self.state_type(symbol, f"{prefix}{number}", settings, filters, number)

    # -- the leader's policy: one trader, replaced after each cycle -------------------------
    def missing_slots(self, settings: Any, running: Sequence[Any]) -> list[int]:
        return [] if running else [0]

    def replacement(self, settings: Any, finished: Any) -> int | None:
        return 0

    def extra_trader(self, settings: Any, alive: int) -> int | None:
        return None

    # -- the cycle after the buy: the tree's --------------------------------------------------
    on_update = staticmethod(cycle.on_update)
    on_order = staticmethod(cycle.on_order)
    on_rejected = staticmethod(cycle.on_rejected)
    on_fills = staticmethod(cycle.on_fills)
    on_sell_check = staticmethod(cycle.on_sell_check)

    def trade_band(self, state: Any, may_buy: bool = True) -> Any:
        return None  # every trade: exact, without skipping

    def may_stop(self, state: Any) -> bool:
        return state.buy is None

    def describe(self, state: Any) -> dict[str, Any]:
        extra = {
            f.name: _shown(getattr(state, f.name))
            for f in dataclasses.fields(state)
            if f.name not in _BASE_FIELDS
        }
        return {
            "trader_id": state.trader_id,
            "phase": state.phase,
            "cycle": state.cycle,
            "buy": order_data(state.buy),
            "sell": order_data(state.sell),
            "dust": str(state.dust) if state.dust else None,
            "blocked": state.blocked or None,
            **extra,
        }

    # -- persistence: by dataclass fields ---------------------------------------------------
    def dump_state(self, state: Any) -> dict[str, Any]:
        data = {f.name: _dump(getattr(state, f.name)) for f in dataclasses.fields(state)}
        data["settings"] = {**state.settings.as_dict(), "symbol": state.symbol}
        data["filters"] = _dump(dataclasses.asdict(state.filters))
        return {"v": 1, "state": data}

    def load_state(self, data: dict[str, Any]) -> Any:
        if not isinstance(data, dict) or data.get("v") != 1 or "state" not in data:
            raise ValueError(f"{self.name}: not a state this strategy wrote")
        raw = data["state"]
        settings = dict(raw["settings"])
        symbol = settings.pop("symbol")
        values: dict[str, Any] = {}
        for f in dataclasses.fields(self.state_type):
            if f.name not in raw:
                continue
            value = raw[f.name]
            if f.name == "settings":
                value = self.parse_settings(symbol, settings)
            elif f.name == "filters":
                value = SymbolFilters(**{k: _undump(v) for k, v in value.items()})
            elif f.name in ("buy", "sell"):
                value = _order(value)
            else:
                value = _undump(value)
            values[f.name] = value
        return self.state_type(**values)


_BASE_FIELDS = {f.name for f in dataclasses.fields(TraderState)}


def _shown(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return [_shown(v) for v in value]
    return value


def _dump(value: Any) -> Any:
    """JSON-ready and exact: Decimals as {"d": "1.50"}, tuples as lists, orders as dicts."""
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, OrderRef):
        return {**{k: _dump(v) for k, v in dataclasses.asdict(value).items()}, "order": True}
    if isinstance(value, Side):
        return value.value
    if isinstance(value, tuple | list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


def _undump(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"d"}:
        return Decimal(value["d"])
    if isinstance(value, list):
        return tuple(_undump(v) for v in value)
    return value


def _order(value: Any) -> OrderRef | None:
    if value is None:
        return None
    fields = {k: _undump(v) for k, v in value.items() if k != "order"}
    fields["side"] = Side(fields["side"])
    return OrderRef(**fields)


__all__ = ["CycleStrategy"]
