"""The grid strategy, pure (sans-io) like naive: `(state, event) -> (state, decisions)`.

Levels g_0 < g_1 < ... < g_{N-1} (`GridSettings.prices`). The leader starts one trader per
level i = 0 .. N-2 before the first trade, in level order. A level trader with no order places
a BUY at g_i for floor_step((budget / (N-1)) / g_i) once a trade prints strictly above g_i
(orders below the symbol's minimum quantity or notional are skipped: that level waits for
ever); when the BUY is filled it SELLs what it bought (less a base-asset commission, where one
applies) at g_{i+1}; when the SELL is filled its cycle is over and the leader gives the level a
fresh trader, which first sees the next trade. Order of events per tick, commissions, refused
sells and recovery are the tree's, shared with naive: after its BUY, a grid trader runs the
same one-buy-one-sell cycle (`hedgehog.naive.strategy`), only its sell price is the next level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgehog.core.client_ids import build as client_order_id
from hedgehog.core.decimals import ZERO
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Side, TradeEvent
from hedgehog.grid.settings import GridSettings
from hedgehog.naive import strategy as cycle
from hedgehog.naive.plugin import order_data
from hedgehog.naive.state import NOTHING, Decision, OrderRef, PlaceOrder, TraderState, replace


@dataclass(frozen=True, slots=True)
class GridState(TraderState):
    """A level trader: the one-buy-one-sell cycle's state, plus its level and prices."""

    level: int = 0
    buy_at: Decimal = ZERO  # g_i
    sell_at: Decimal = ZERO  # g_{i+1}
    quantity: Decimal = ZERO  # what the level buys

    def sell_target(self) -> Decimal:
        """The cycle sells at the next level up (naive computes its own price)."""
        return self.sell_at


class GridStrategy:
    """Buy at each level, sell one level up; a level's trader is replaced after each cycle."""

    name = "grid"
    settings_type = GridSettings

    def parse_settings(self, symbol: str, params: Mapping[str, Any]) -> GridSettings:
        return GridSettings.parse(symbol, **params)

    # -- the leader's policy: one trader per buy level --------------------------------------
    def missing_slots(self, settings: GridSettings, running: Sequence[Any]) -> list[int]:
        taken = {getattr(s, "level", None) for s in running}
        return [i for i in range(settings.levels - 1) if i not in taken]

    def replacement(self, settings: GridSettings, finished: GridState) -> int | None:
        return finished.level

    def extra_trader(self, settings: GridSettings, alive: int) -> int | None:
        return None  # a grid trader never asks for another

    def new_trader(
        self,
        symbol: str,
        number: int,
        settings: GridSettings,
        filters: SymbolFilters,
        prefix: str,
        slot: int,
    ) -> GridState:
        prices = settings.prices(filters)
        if not 0 <= slot < len(prices) - 1:
            raise ValueError(f"grid level {slot} out of 0..{len(prices) - 2}")
        buy_at = prices[slot]
        return GridState(
            symbol=symbol,
            trader_id=f"{prefix}{number}",
            settings=settings,  # type: ignore[arg-type]  # the cycle reads only filters
            filters=filters,
            number=number,
            level=slot,
            buy_at=buy_at,
            sell_at=prices[slot + 1],
            quantity=settings.quantity(buy_at, filters),
        )

    # -- transitions --------------------------------------------------------------------------
    def on_trade(
        self, state: GridState, trade: TradeEvent, may_buy: bool = True
    ) -> tuple[GridState, tuple[Decision, ...]]:
        if state.buy is not None or not may_buy or state.blocked:
            return state, NOTHING
        if not state.buy_at < trade.price or not self._buyable(state):
            return state, NOTHING
        cid = client_order_id(state.symbol, state.trader_id, state.cycle, Side.BUY)
        order = OrderRef(cid, Side.BUY, state.buy_at, state.quantity)
        return replace(state, buy=order), (PlaceOrder(order),)

    def trade_band(
        self, state: GridState, may_buy: bool = True
    ) -> tuple[Decimal | None, Decimal | None] | None:
        if state.buy is None and may_buy and not state.blocked and self._buyable(state):
            return (None, state.buy_at)  # it acts on the first trade above its level
        return (None, None)  # an order out, or nothing it may do: trades change nothing

    @staticmethod
    def _buyable(state: GridState) -> bool:
        f, qty = state.filters, state.quantity
        return qty > 0 and qty >= f.min_qty and qty * state.buy_at >= f.min_notional

    on_update = staticmethod(cycle.on_update)
    on_order = staticmethod(cycle.on_order)
    on_rejected = staticmethod(cycle.on_rejected)
    on_fills = staticmethod(cycle.on_fills)
    on_sell_check = staticmethod(cycle.on_sell_check)

    def may_stop(self, state: GridState) -> bool:
        return state.buy is None

    def describe(self, state: GridState) -> dict[str, Any]:
        return {
            "trader_id": state.trader_id,
            "level": state.level,
            "phase": state.phase,
            "cycle": state.cycle,
            "buy_at": str(state.buy_at),
            "sell_at": str(state.sell_at),
            "buy": order_data(state.buy),
            "sell": order_data(state.sell),
            "sell_rejections": state.sell_rejections,
            "dust": str(state.dust) if state.dust else None,
            "blocked": state.blocked or None,
        }

    def dump_state(self, state: GridState) -> dict[str, Any]:
        from hedgehog.grid import serde  # it imports GridState from here

        return serde.dump_state(state)

    def load_state(self, data: dict[str, Any]) -> GridState:
        from hedgehog.grid import serde

        return serde.load_state(data)


GRID = GridStrategy()

__all__ = ["GRID", "GridState", "GridStrategy"]
