"""The naive strategy's values: a trader's state, its orders, and the decisions it returns.

Frozen, slotted dataclasses, with `replace` (a fast `dataclasses.replace`) to derive new ones.
They are what the store persists and what the trader process executes; the transitions that
produce them are in `hedgehog.naive.strategy`, which re-exports every name here (import them
from there). Pure like the strategy: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, TypeVar

from hedgehog.core.decimals import ZERO
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Order, OrderStatus, Side
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

    @property
    def has_bought(self) -> bool:
        """Closed with something executed: filled, or cancelled/expired after a part filled."""
        return self.is_filled or (self.status in _DEAD_VALUES and self.executed_qty > 0)

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
    buy_fee_qty: Decimal = ZERO  # how much of the buy's executed quantity those fees cover
    buy_fill_ids: tuple[int, ...] = ()  # the buy's fills (trade ids) already counted
    sell_attempt: int = 0  # 0 for the first sell; each re-sized sell gets the next number
    sell_rejections: int = 0
    dust: Decimal = ZERO  # coins bought but below the symbol's minimums to sell
    blocked: str = ""  # why this trader cannot go on without a human (empty: it can)
    stop_at: Decimal | None = None  # the stop-loss fired: its MARKET sell's reference price

    @property
    def phase(self) -> str:
        if self.buy is None:
            return "idle"
        if not self.buy.has_bought:
            return "buying"
        if self.sell is None and self.dust > 0:
            return "done"
        if self.sell is None or not self.sell.is_filled:
            return "selling"
        return "done"

    @property
    def fees_known(self) -> bool:
        """Whether the commission of every fill of the buy is known (the sell can be sized)."""
        return self.buy is not None and self.buy_fee_qty >= self.buy.executed_qty

    def stopping(self) -> bool:
        """The stop-loss fired and the sell it replaces is still open (to be cancelled)."""
        sell = self.sell
        return (
            self.stop_at is not None
            and sell is not None
            and sell.is_open
            and sell.status != PENDING
            and sell.price != self.stop_at
        )

    def is_market(self, order: OrderRef) -> bool:
        """Whether `order` is placed at the market: the stop-loss's sell, priced at `stop_at`
        (the triggering trade's price floored to the tick: its reference price, not a limit).
        Derived from what is stored, so a restarted trader places a PENDING one the same way."""
        return self.stop_at is not None and order.side is Side.SELL and order.price == self.stop_at

    def in_flight(self) -> list[OrderRef]:
        """Orders whose outcome must be checked with the exchange after a restart."""
        return [o for o in (self.buy, self.sell) if o is not None and o.is_open]

    def awaiting(self) -> Decision | None:
        """What a restarted trader must do beyond checking its orders: size its sell, or
        cancel the sell a stop-loss replaces."""
        if self.blocked or self.buy is None or not self.buy.has_bought:
            return None
        if self.stopping():
            assert self.sell is not None
            return CancelOrder(self.sell.client_order_id)
        if self.sell is None and self.dust == 0:
            return FetchFills(self.buy.order_id) if self.buy.order_id is not None else None
        if self.sell is not None and self.sell.status == OrderStatus.REJECTED.value:
            return CheckSell()
        return None


# -- decisions -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PlaceOrder:
    order: OrderRef


@dataclass(frozen=True, slots=True)
class PlaceMarketOrder:
    """Place `order` as a MARKET order of its quantity (its price is only a reference): the
    intent is stored first and recovered by client order id, exactly like `PlaceOrder`."""

    order: OrderRef


@dataclass(frozen=True, slots=True)
class RequestRebuy:
    pass


@dataclass(frozen=True, slots=True)
class CycleComplete:
    pass


@dataclass(frozen=True, slots=True)
class FetchFills:
    """Read the buy's fills (with their commissions) and give them to `on_fills`."""

    order_id: int


@dataclass(frozen=True, slots=True)
class CheckSell:
    """Read the buy's fills and the free base balance and give them to `on_sell_check`."""


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel one of this trader's open orders and give the outcome to `on_order` (the
    stop-loss: the resting sell goes, the stop's MARKET sell follows)."""

    client_order_id: str


@dataclass(frozen=True, slots=True)
class Report:
    """Something a human must know (dust left, a trader blocked); the trader logs it."""

    message: str


Decision = (
    PlaceOrder
    | PlaceMarketOrder
    | RequestRebuy
    | CycleComplete
    | FetchFills
    | CheckSell
    | CancelOrder
    | Report
)
NOTHING: tuple[Decision, ...] = ()


_DEAD_VALUES = tuple(s.value for s in OrderStatus if s.is_dead)
