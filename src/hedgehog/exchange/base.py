"""The `Exchange` protocol: everything traders need from an exchange, nothing more.

Two implementations are chosen once, from settings: the paper exchange (matching against the
trade stream) and the Binance REST client. Failures raise `hedgehog.core.errors.ExchangeError`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Fill, Order, Side


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@runtime_checkable
class Exchange(Protocol):
    """An exchange for LIMIT GTC and MARKET orders identified by client order ids."""

    async def symbol_filters(self, symbol: str) -> SymbolFilters:
        """The symbol's trading rules; raises `UnknownSymbol`."""
        ...

    async def place_limit_order(
        self, symbol: str, side: Side, price: Decimal, quantity: Decimal, client_order_id: str
    ) -> Order:
        """Place a LIMIT GTC order; raises `OrderRejected` or `ExchangeUnavailable` (unknown)."""
        ...

    async def place_market_order(
        self, symbol: str, side: Side, quantity: Decimal, client_order_id: str
    ) -> Order:
        """Place a MARKET order for `quantity` (base asset): it takes liquidity at once, filled
        (or, on Binance, expired for the part the book could not fill); its `Order` carries
        what executed (`executed_qty`, `cumulative_quote_qty`), its `price` is not a fill
        price (Binance shows 0). Raises `OrderRejected` or `ExchangeUnavailable` (unknown
        outcome: query `client_order_id`, never place it again blindly)."""
        ...

    async def get_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        """Look an order up (open or closed); raises `UnknownOrder`."""
        ...

    async def cancel_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        """Cancel an open order; raises `UnknownOrder`."""
        ...

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Open orders of one symbol, or of all symbols."""
        ...

    async def balances(self) -> dict[str, Balance]:
        """Balances per asset."""
        ...

    async def order_fills(self, symbol: str, order_id: int) -> list[Fill]:
        """The trades of one order with their commissions (Binance: `myTrades?orderId=`).

        The one place a commission is always known: `GET /api/v3/order` does not carry it.
        """
        ...
