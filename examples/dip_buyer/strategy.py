"""Dip buyer: a small strategy on 1-minute bars, written in docs/strategies.md from scratch.

When a bar closes more than `dip` below the average close of the last `window` bars, buy at
that close; sell at a `profit` above it, after both fees. One trader at a time; after each
cycle a fresh one starts (and watches `window` bars again before it buys).

    hedgehog backtest FILE --strategy examples.dip_buyer.strategy:DipBuyer \\
        --param window=5 --param dip=0.003

Only this file (and its test) make the strategy: nothing else in hedgehog knows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from hedgehog.core.client_ids import build as client_order_id
from hedgehog.core.decimals import ONE, ZERO, floor_to
from hedgehog.core.errors import ConfigError
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Side
from hedgehog.market.bars import Bar, parse_interval
from hedgehog.naive.cycle import CycleStrategy
from hedgehog.naive.state import NOTHING, OrderRef, PlaceOrder, TraderState, replace


@dataclass(frozen=True, slots=True)
class DipSettings:
    symbol: str
    window: int = 5
    dip: Decimal = Decimal("0.003")
    profit: Decimal = Decimal("0.004")
    interval: str = "1m"
    budget: Decimal = Decimal(100)
    fee: Decimal = Decimal("0.001")

    def check_against(self, filters: SymbolFilters) -> None:
        if self.budget < filters.min_notional:
            raise ConfigError(f"dip buyer: budget {self.budget} is below min notional")

    def as_dict(self) -> dict[str, Any]:
        return {k: str(getattr(self, k)) for k in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class DipState(TraderState):
    closes: tuple[Decimal, ...] = ()  # the last `window` closes
    sell_at: Decimal = ZERO

    def sell_target(self) -> Decimal:
        return self.sell_at


class DipBuyer(CycleStrategy):
    name = "dip-buyer"
    state_type = DipState

    def parse_settings(self, symbol: str, params: Mapping[str, Any]) -> DipSettings:
        known = set(DipSettings.__dataclass_fields__) - {"symbol"}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ConfigError(f"dip buyer: unknown setting {unknown[0]!r} (known: {sorted(known)})")
        values: dict[str, Any] = {}
        try:
            for key, value in params.items():
                if key == "window":
                    values[key] = int(value)
                elif key == "interval":
                    parse_interval(str(value))  # a ConfigError for what Binance lacks
                    values[key] = str(value)
                else:
                    values[key] = Decimal(str(value))
        except (ValueError, InvalidOperation):
            raise ConfigError(f"dip buyer: {key} is not a number: {value!r}") from None
        settings = DipSettings(symbol.upper(), **values)
        if not 1 <= settings.window <= 1000 or not ZERO < settings.dip < ONE:
            raise ConfigError("dip buyer: need 1 <= window <= 1000 and 0 < dip < 1")
        return settings

    def bar_intervals(self, settings: DipSettings) -> tuple[str, ...]:
        return (settings.interval,)

    def on_bar(self, state: DipState, bar: Bar, may_buy: bool = True) -> Any:
        s: DipSettings = state.settings  # type: ignore[assignment]
        closes = (*state.closes, bar.close)[-s.window :]
        state = replace(state, closes=closes)
        if state.buy is not None or not may_buy or len(closes) < s.window:
            return state, NOTHING
        average = sum(closes, ZERO) / s.window
        if bar.close >= average * (ONE - s.dip):
            return state, NOTHING
        f = state.filters
        price = floor_to(bar.close, f.tick_size)
        qty = floor_to(s.budget / price, f.step_size)
        if qty < f.min_qty or qty * price < f.min_notional:
            return state, NOTHING
        sell_at = floor_to(price * (ONE + s.fee) * (ONE + s.profit) * (ONE + s.fee), f.tick_size)
        order = OrderRef(
            client_order_id(state.symbol, state.trader_id, state.cycle, Side.BUY),
            Side.BUY,
            price,
            qty,
        )
        return replace(state, buy=order, sell_at=sell_at), (PlaceOrder(order),)
