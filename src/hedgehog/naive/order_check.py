"""What the trader checks in every order a strategy returns, before its intent is stored: an
order the exchange would refuse for its form (not an `OrderRef`, a side that is not BUY or SELL,
a price or quantity that is not a positive Decimal, off the tick or the step, a malformed
client order id) is the strategy's mistake, reported with its name (`StrategyError`)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Side
from hedgehog.naive.state import OrderRef

_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")


def order_problem(order: Any, filters: SymbolFilters, market: bool = False) -> str | None:
    """Why `order` cannot go to the exchange as it is, or None. A MARKET order's price is
    only a reference: it is not checked."""
    if not isinstance(order, OrderRef):
        return f"a {type(order).__name__}, not an OrderRef"
    if order.side not in (Side.BUY, Side.SELL):
        return f"side {order.side!r} is not BUY or SELL"
    checked = (("quantity", order.quantity),) if market else (
        ("price", order.price), ("quantity", order.quantity))  # fmt: skip
    for name, value in checked:
        if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
            return f"the {name} must be a positive Decimal"
    if not market and order.price % filters.tick_size:
        return f"the price is off the tick size {filters.tick_size.normalize()}"
    if order.quantity % filters.step_size:
        return f"the quantity is off the step size {filters.step_size.normalize()}"
    if not isinstance(order.client_order_id, str) or not _CLIENT_ID.fullmatch(
        order.client_order_id
    ):
        return "its client order id is not 1-36 of [A-Za-z0-9_-]"
    return None
