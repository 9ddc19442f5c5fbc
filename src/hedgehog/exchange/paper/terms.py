"""The terms of a new order, checked as the matching engine accepts them.

MARKET orders take the last trade price (and a quantity, or a quote amount to spend or receive,
floored to the step); LIMIT orders their own price and a time in force; LIMIT_MAKER orders are
refused when they would cross. Every order then passes the symbol's filters; a MARKET order,
which names no price, all but the price filter (as on Binance: PRICE_FILTER applies to
prices sent), its notional valued at the last price. Old trades may lie off today's tick.
"""

from __future__ import annotations

from decimal import Decimal

from hedgehog.core.decimals import floor_to
from hedgehog.core.errors import OrderRejected, RejectReason
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Side

ORDER_TYPES = ("LIMIT", "MARKET", "LIMIT_MAKER")
TIMES_IN_FORCE = ("GTC", "IOC", "FOK")


def order_terms(
    filters: SymbolFilters,
    side: Side,
    order_type: str,
    qty: Decimal | None,
    price: Decimal | None,
    time_in_force: str,
    quote_qty: Decimal | None,
    last: Decimal | None,
) -> tuple[Decimal, Decimal, str, bool]:
    """(price, quantity, time in force, whether it crosses the last price); raises
    `OrderRejected`."""
    symbol = filters.symbol
    if order_type not in ORDER_TYPES:
        raise OrderRejected(RejectReason.OTHER, f"order type {order_type!r} not supported")
    if order_type == "MARKET":
        if last is None:
            raise OrderRejected(RejectReason.OTHER, f"{symbol} has no trade yet: no price")
        if qty is None:
            if quote_qty is None or not quote_qty.is_finite():
                raise OrderRejected(RejectReason.OTHER, "give quantity or quoteOrderQty")
            qty = floor_to(quote_qty / last, filters.step_size)
        price, time_in_force, crosses = last, "", True
    else:
        if price is None or qty is None:
            raise OrderRejected(RejectReason.OTHER, f"{order_type} needs price and quantity")
        if time_in_force not in TIMES_IN_FORCE:
            raise OrderRejected(RejectReason.OTHER, f"time in force {time_in_force!r}")
        crosses = last is not None and (price >= last if side is Side.BUY else price <= last)
        if order_type == "LIMIT_MAKER":
            if crosses:
                raise OrderRejected(RejectReason.WOULD_TAKE, f"{symbol} {side} at {price}")
            time_in_force = ""
    if not (price.is_finite() and qty.is_finite()):
        raise OrderRejected(RejectReason.OTHER, "price and quantity must be finite numbers")
    market = order_type == "MARKET"
    problem = filters.check(price, qty, market=market)
    if problem is not None:
        raise OrderRejected(RejectReason.FILTER_FAILURE, problem)
    return price, qty, time_in_force, crosses
