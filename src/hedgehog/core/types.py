"""Events and values that flow through hedgehog: trades, orders and order updates.

Everything here is immutable and exchange-neutral; wire formats are parsed at the edge
(exchange adapters, file loaders) into these types.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_open(self) -> bool:
        """Still on the book: NEW or PARTIALLY_FILLED."""
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)

    @property
    def is_closed(self) -> bool:
        """Off the book for good: FILLED, CANCELED, REJECTED or EXPIRED."""
        return not self.is_open

    @property
    def is_dead(self) -> bool:
        """Closed without being filled in full: CANCELED, REJECTED or EXPIRED."""
        return self in (OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED)


def trade_topic(symbol: str) -> str:
    """Pub/sub topic of a symbol's trade events."""
    return f"TRADE_EVENTS:{symbol}"


def bars_topic(symbol: str, interval: str) -> str:
    """Pub/sub topic of a symbol's closed bars of one interval (`hedgehog.market.bars`)."""
    return f"BARS:{symbol}:{interval}"


def orders_topic(symbol: str) -> str:
    """Pub/sub topic of a symbol's order updates (fills and status changes)."""
    return f"ORDERS:{symbol}"


class TradeEvent(NamedTuple):
    """One public trade of a symbol. Times are milliseconds since the epoch.

    A NamedTuple rather than a frozen dataclass: backtests build millions of these, and a
    tuple is built three times faster.
    """

    symbol: str
    trade_id: int
    price: Decimal
    quantity: Decimal
    trade_time: int
    buyer_market_maker: bool = False
    event_time: int = 0


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the exchange knows it."""

    order_id: int
    client_order_id: str
    symbol: str
    side: Side
    price: Decimal
    orig_qty: Decimal
    executed_qty: Decimal
    cumulative_quote_qty: Decimal
    status: OrderStatus
    time: int = 0
    update_time: int = 0
    order_type: str = "LIMIT"  # LIMIT, MARKET or LIMIT_MAKER
    time_in_force: str = "GTC"  # GTC, IOC or FOK ("" for MARKET and LIMIT_MAKER)


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """A fill or a status change of one order, as published on `ORDERS:<SYMBOL>`."""

    order: Order
    last_qty: Decimal
    last_price: Decimal
    commission: Decimal
    commission_asset: str
    event_time: int = 0
    trade_id: int = -1  # the exchange's trade of this fill; -1 for a status change
    is_maker: bool = True

    @property
    def symbol(self) -> str:
        return self.order.symbol

    @property
    def is_fill(self) -> bool:
        """A fill whose commission is known: it carries its trade (pollers' updates do not)."""
        return self.last_qty > 0 and self.trade_id >= 0

    @property
    def client_order_id(self) -> str:
        return self.order.client_order_id


@dataclass(frozen=True, slots=True)
class Fill:
    """One trade of one of our orders, as `GET /api/v3/myTrades` reports it.

    The commission is in `commission_asset`: on Binance a BUY pays it in the base asset it
    receives (so it holds `qty - commission`), a SELL in the quote asset, either in BNB when
    the account pays fees with BNB.
    """

    symbol: str
    order_id: int
    trade_id: int
    side: Side
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_maker: bool
