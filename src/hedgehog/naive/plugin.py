"""The book's naive strategy as a `Strategy` plug-in (the default): the pure functions of
`hedgehog.naive.strategy` behind the protocol, and the book's leader policy — one trader at
start, a fresh one after each completed cycle, one more on a rebuy request while fewer than
`chunks` run. Its results are exactly those of the functions it wraps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hedgehog.core.filters import SymbolFilters
from hedgehog.naive import serde, strategy
from hedgehog.naive.settings import TradingSettings
from hedgehog.naive.state import OrderRef, TraderState


class NaiveStrategy:
    """Buy a little below the market, sell a little above; add a trader when the price keeps
    falling (chapter 4 of the book)."""

    name = "naive"
    settings_type = TradingSettings

    def parse_settings(self, symbol: str, params: Mapping[str, Any]) -> TradingSettings:
        return TradingSettings.parse(symbol, **params)

    def missing_slots(self, settings: TradingSettings, running: Sequence[Any]) -> list[int]:
        return [] if running else [0]

    def replacement(self, settings: TradingSettings, finished: Any) -> int | None:
        return 0

    def extra_trader(self, settings: TradingSettings, alive: int) -> int | None:
        return 0 if alive < settings.chunks else None

    def new_trader(
        self,
        symbol: str,
        number: int,
        settings: TradingSettings,
        filters: SymbolFilters,
        prefix: str,
        slot: int,
    ) -> TraderState:
        return strategy.new_trader(symbol, number, settings, filters, prefix)

    on_trade = staticmethod(strategy.on_trade)
    on_update = staticmethod(strategy.on_update)
    on_order = staticmethod(strategy.on_order)
    on_rejected = staticmethod(strategy.on_rejected)
    on_fills = staticmethod(strategy.on_fills)
    on_sell_check = staticmethod(strategy.on_sell_check)
    trade_band = staticmethod(strategy.trade_band)

    def may_stop(self, state: TraderState) -> bool:
        return state.buy is None  # nothing bought: this cycle ends here

    def describe(self, state: TraderState) -> dict[str, Any]:
        return {
            "trader_id": state.trader_id,
            "phase": state.phase,
            "cycle": state.cycle,
            "buy": order_data(state.buy),
            "sell": order_data(state.sell),
            "rebuy_notified": state.rebuy_notified,
            "sell_rejections": state.sell_rejections,
            "dust": str(state.dust) if state.dust else None,
            "blocked": state.blocked or None,
            **({"stop_at": str(state.stop_at)} if state.stop_at is not None else {}),
        }

    def dump_state(self, state: TraderState) -> dict[str, Any]:
        return serde.dump_state(state)

    def load_state(self, data: dict[str, Any]) -> TraderState:
        return serde.load_state(data)


def order_data(ref: OrderRef | None) -> dict[str, Any] | None:
    """One of a trader's orders, JSON-ready."""
    if ref is None:
        return None
    return {
        "client_order_id": ref.client_order_id,
        "side": ref.side.value,
        "price": str(ref.price),
        "quantity": str(ref.quantity),
        "status": ref.status,
        "order_id": ref.order_id,
    }


NAIVE = NaiveStrategy()

__all__ = ["NAIVE", "NaiveStrategy", "order_data"]
