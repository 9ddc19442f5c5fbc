"""The naive strategy, pure (sans-io): `(state, event) -> (new state, decisions)`.

No awaits, no clock, no logging: the trader process executes the decisions. A trader's cycle:
place a limit BUY a little below the market; when it is filled, place a limit SELL a little
above the buy price (covering both fees); when the SELL is filled the cycle is complete. While
it holds a buy, a price strictly below buy_price*(1 - rebuy_interval) makes it ask its leader,
once, for one more trader.

Formulas (book test vectors in tests/naive/test_strategy.py):
    buy_price  = floor_tick(p - p * buy_down_interval)
    quantity   = floor_step((budget / chunks) / buy_price)
    sell_price = floor_tick(buy_price * (1 + fee) * (1 + profit_interval) * (1 + fee))
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, TypeVar

from hedgehog.core.decimals import ONE, ZERO, floor_to
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Order, OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.naive.settings import TradingSettings

T = TypeVar("T")
_setattr = object.__setattr__
_FIELDS: dict[type, tuple[str, ...]] = {}


def replace(obj: T, **changes: Any) -> T:
    """`dataclasses.replace` for our frozen slotted states, without its per-call
    introspection (it runs on every order event of a backtest)."""
    cls = type(obj)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    new = object.__new__(cls)
    for name in names:
        _setattr(new, name, changes[name] if name in changes else getattr(obj, name))
    return new


PENDING = "PENDING"  # intent written, outcome of the placement not known yet
MAX_CLIENT_ID = 36


@dataclass(frozen=True, slots=True)
class OrderRef:
    """A trader's view of one of its orders."""

    client_order_id: str
    side: Side
    price: Decimal
    quantity: Decimal
    status: str = PENDING  # PENDING or an OrderStatus value
    order_id: int | None = None
    executed_qty: Decimal = ZERO

    @property
    def is_open(self) -> bool:
        return self.status in (PENDING, OrderStatus.NEW.value, OrderStatus.PARTIALLY_FILLED.value)

    @property
    def is_filled(self) -> bool:
        return self.status == OrderStatus.FILLED.value

    def updated(self, order: Order) -> OrderRef:
        return replace(
            self,
            status=order.status.value,
            order_id=order.order_id,
            executed_qty=order.executed_qty,
        )


@dataclass(frozen=True, slots=True)
class TraderState:
    """Everything a trader needs to resume after a crash."""

    symbol: str
    trader_id: str
    settings: TradingSettings
    filters: SymbolFilters
    number: int = 0  # start order among the symbol's traders (ids are f"{prefix}{number}")
    cycle: int = 0
    buy: OrderRef | None = None
    sell: OrderRef | None = None
    rebuy_notified: bool = False
    rebuy_below: Decimal | None = None  # derived from the buy price, kept for speed
    buy_fee_base: Decimal = ZERO  # commission on the buy charged in the base asset (Binance)

    @property
    def phase(self) -> str:
        if self.buy is None:
            return "idle"
        if not self.buy.is_filled:
            return "buying"
        if self.sell is None or not self.sell.is_filled:
            return "selling"
        return "done"

    def in_flight(self) -> list[OrderRef]:
        """Orders whose outcome must be checked with the exchange after a restart."""
        return [o for o in (self.buy, self.sell) if o is not None and o.is_open]


# -- decisions -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PlaceOrder:
    order: OrderRef


@dataclass(frozen=True, slots=True)
class RequestRebuy:
    pass


@dataclass(frozen=True, slots=True)
class CycleComplete:
    pass


Decision = PlaceOrder | RequestRebuy | CycleComplete
NOTHING: tuple[Decision, ...] = ()


# -- formulas --------------------------------------------------------------------------------
def buy_price(price: Decimal, settings: TradingSettings, filters: SymbolFilters) -> Decimal:
    return floor_to(price - price * settings.buy_down_interval, filters.tick_size)


def buy_quantity(price: Decimal, settings: TradingSettings, filters: SymbolFilters) -> Decimal:
    return floor_to(settings.chunk_budget / price, filters.step_size)


def sell_price(bought_at: Decimal, settings: TradingSettings, filters: SymbolFilters) -> Decimal:
    fee = ONE + settings.fee
    gross = bought_at * fee * (ONE + settings.profit_interval) * fee
    return floor_to(gross, filters.tick_size)


def rebuy_threshold(bought_at: Decimal, settings: TradingSettings) -> Decimal:
    return bought_at * (ONE - settings.rebuy_interval)


def client_order_id(symbol: str, trader_id: str, cycle: int, side: Side) -> str:
    """Deterministic client order id: symbol, trader, cycle, side; <= 36 of [A-Za-z0-9_-]."""
    tail = f"-{trader_id}-{cycle}{'B' if side == Side.BUY else 'S'}"
    cid = symbol + tail
    if len(cid) > MAX_CLIENT_ID:
        digest = hashlib.sha1(symbol.encode()).hexdigest()[:8]
        cid = digest + tail
    if len(cid) > MAX_CLIENT_ID:
        raise ValueError(f"trader id {trader_id!r} too long for a client order id")
    return cid


# -- transitions -----------------------------------------------------------------------------
def new_trader(
    symbol: str, number: int, settings: TradingSettings, filters: SymbolFilters, prefix: str = ""
) -> TraderState:
    """A fresh trader; its id is `prefix + number` (a prefix keeps ids unique across runs)."""
    return TraderState(
        symbol=symbol,
        trader_id=f"{prefix}{number}",
        settings=settings,
        filters=filters,
        number=number,
    )


def on_trade(
    state: TraderState, trade: TradeEvent, allow_buy: bool = True
) -> tuple[TraderState, tuple[Decision, ...]]:
    """A trade of the symbol: place the first buy, or check the rebuy condition."""
    if state.buy is None:
        if not allow_buy:
            return state, NOTHING
        settings, filters = state.settings, state.filters
        price = buy_price(trade.price, settings, filters)
        if price <= 0:
            return state, NOTHING
        qty = buy_quantity(price, settings, filters)
        if qty <= 0 or qty < filters.min_qty or price * qty < filters.min_notional:
            return state, NOTHING
        cid = client_order_id(state.symbol, state.trader_id, state.cycle, Side.BUY)
        order = OrderRef(cid, Side.BUY, price, qty)
        new = replace(state, buy=order, rebuy_below=rebuy_threshold(price, settings))
        return new, (PlaceOrder(order),)
    below = state.rebuy_below
    if not state.rebuy_notified and below is not None and trade.price < below:
        return replace(state, rebuy_notified=True), (RequestRebuy(),)
    return state, NOTHING


def trade_band(
    state: TraderState, allow_buy: bool = True
) -> tuple[Decimal | None, Decimal | None] | None:
    """The prices (inclusive; None: unbounded) at which `on_trade` changes nothing, or None
    when any trade may matter. Replays skip the trades inside every subscriber's band."""
    if state.buy is None:
        return (None, None) if not allow_buy else None
    if state.rebuy_notified or state.rebuy_below is None:
        return (None, None)
    return (state.rebuy_below, None)  # on_trade reacts to price < rebuy_below only


def on_order(state: TraderState, order: Order) -> tuple[TraderState, tuple[Decision, ...]]:
    """The exchange's current view of one of our orders (placement answer, query, fill)."""
    buy, sell = state.buy, state.sell
    cid = order.client_order_id
    if buy is not None and cid == buy.client_order_id:
        if buy.is_filled:
            return state, NOTHING
        state = replace(state, buy=buy.updated(order))
        if order.status == OrderStatus.FILLED and state.sell is None:
            return _place_sell(state, order)
        if order.status in _DEAD and order.executed_qty == 0:
            # cancelled or expired outside hedgehog before any fill: start a new cycle
            return replace(state, buy=None, cycle=state.cycle + 1, rebuy_notified=False), NOTHING
        return state, NOTHING
    if sell is not None and cid == sell.client_order_id:
        if sell.is_filled:
            return state, NOTHING
        state = replace(state, sell=sell.updated(order))
        if order.status == OrderStatus.FILLED:
            return state, (CycleComplete(),)
        return state, NOTHING
    return state, NOTHING


def on_update(state: TraderState, update: OrderUpdate) -> tuple[TraderState, tuple[Decision, ...]]:
    """An order update from `ORDERS:<SYMBOL>`; updates of other traders' orders are ignored."""
    order = update.order
    buy = state.buy
    if (
        update.commission
        and buy is not None
        and order.client_order_id == buy.client_order_id
        and order.executed_qty > buy.executed_qty  # a new fill, not a replayed one
        and update.commission_asset == state.filters.base_asset
    ):
        # Binance charges the buy's commission in the base asset: we can sell only the rest
        state = replace(state, buy_fee_base=state.buy_fee_base + update.commission)
    return on_order(state, order)


def on_rejected(state: TraderState, order: OrderRef) -> tuple[TraderState, tuple[Decision, ...]]:
    """The exchange refused an order: a refused buy is dropped (the next trade retries with a
    new cycle number, so client order ids stay unique)."""
    if state.buy is not None and order.client_order_id == state.buy.client_order_id:
        new = replace(
            state, buy=None, cycle=state.cycle + 1, rebuy_below=None, rebuy_notified=False
        )
        return new, NOTHING
    if state.sell is not None and order.client_order_id == state.sell.client_order_id:
        return replace(state, sell=replace(state.sell, status=OrderStatus.REJECTED.value)), NOTHING
    return state, NOTHING


def _place_sell(state: TraderState, filled: Order) -> tuple[TraderState, tuple[Decision, ...]]:
    settings, filters = state.settings, state.filters
    price = sell_price(filled.price, settings, filters)
    qty = floor_to(filled.executed_qty - state.buy_fee_base, filters.step_size)
    cid = client_order_id(state.symbol, state.trader_id, state.cycle, Side.SELL)
    order = OrderRef(cid, Side.SELL, price, qty)
    return replace(state, sell=order), (PlaceOrder(order),)


_DEAD = (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED)
