"""The resting orders of one symbol, as the matching engine keeps them."""

from __future__ import annotations

from decimal import Decimal

from hedgehog.core.filters import SymbolFilters, split_symbol
from hedgehog.core.types import Order, OrderStatus

NO_BUY = Decimal("-Infinity")
NO_SELL = Decimal("Infinity")


def replace_order(
    o: Order, status: OrderStatus, executed: Decimal, quote: Decimal, ms: int
) -> Order:
    """A copy of `o` with a new status, executed quantities and update time (fast: no kwargs)."""
    return Order(
        o.order_id, o.client_order_id, o.symbol, o.side, o.price, o.orig_qty, executed, quote,
        status, o.time, ms, o.order_type, o.time_in_force,
    )  # fmt: skip


class Book:
    """Resting orders of one symbol: heaps of (-price, id) for buys and (price, id) for sells.

    Cancelled orders stay in a heap until they reach its top (lazy deletion); `stale` counts
    them, and the heaps are rebuilt when they are mostly stale, so memory stays bounded.
    """

    __slots__ = ("base", "best_buy", "best_sell", "buys", "filters", "last_id", "last_price",
                 "quote", "sells", "stale")  # fmt: skip

    def __init__(self, filters: SymbolFilters) -> None:
        self.filters = filters
        guess = split_symbol(filters.symbol)
        self.base = filters.base_asset or guess[0]
        self.quote = filters.quote_asset or guess[1]
        self.buys: list[tuple[Decimal, int]] = []
        self.sells: list[tuple[Decimal, int]] = []
        self.best_buy = NO_BUY
        self.best_sell = NO_SELL
        self.stale = 0
        self.last_price: Decimal | None = None  # of the last public trade (or taker fill)
        self.last_id = 0
