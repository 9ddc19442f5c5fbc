"""The paper exchange: the `Exchange` protocol over a `MatchingEngine`, publishing order updates.

Every method delegates to the synchronous engine and never suspends, so a coroutine of this
class completes on its first step: under a backtest scheduler it costs no event-loop round trip
and the order of events stays deterministic. Order updates reach traders through `publish`
(topic `ORDERS:<SYMBOL>`), a plain callback so that any pub/sub can be plugged in; it must not
raise, since the engine has already changed state when it is called.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from hedgehog.core.decimals import ZERO
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import (
    Fill,
    Order,
    OrderStatus,
    OrderUpdate,
    Side,
    TradeEvent,
    orders_topic,
)
from hedgehog.exchange.base import Balance
from hedgehog.exchange.paper.engine import MatchingEngine

Publish = Callable[[str, object], None]


def wall_clock_ms() -> int:
    """Milliseconds since the epoch, from the system clock."""
    return time.time_ns() // 1_000_000


def _drop(topic: str, message: object) -> None:
    """The default `publish`: nobody listens."""


class PaperExchange:
    """An `Exchange` that matches resting LIMIT orders against trades fed to `process_trade`;
    MARKET orders fill at once at the last trade's price.

    The engine's `Rules` decide the money rules: `hedgehog run --exchange paper` uses Binance's
    (commission in the received asset, volume fills, crossing orders fill at once), backtests
    their quote-asset default. Its engine must keep fills (`keep_fills=True`) for `order_fills`.
    """

    def __init__(
        self,
        engine: MatchingEngine,
        publish: Publish | None = None,
        now_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.engine = engine
        self._publish = publish or _drop
        self._now_ms = now_ms

    def process_trade(self, trade: TradeEvent) -> list[OrderUpdate]:
        """Match one public trade; publish each fill (in order id order) and return them."""
        updates = self.engine.on_trade(trade)
        if updates:
            topic = orders_topic(trade.symbol)
            publish = self._publish
            for update in updates:
                publish(topic, update)
        return updates

    async def symbol_filters(self, symbol: str) -> SymbolFilters:
        """The symbol's trading rules; raises `UnknownSymbol`."""
        return self.engine.filters(symbol)

    async def place_limit_order(
        self, symbol: str, side: Side, price: Decimal, quantity: Decimal, client_order_id: str
    ) -> Order:
        """Place a LIMIT GTC order; publish its NEW update, then any immediate fill (a taker
        engine fills a crossing order at once). Raises `OrderRejected`."""
        order, fills = self.engine.submit(
            symbol, side, "LIMIT", quantity, client_order_id, self._now_ms(), price
        )
        self._announce(order, fills)
        return order

    async def place_market_order(
        self, symbol: str, side: Side, quantity: Decimal, client_order_id: str
    ) -> Order:
        """Place a MARKET order: it takes liquidity at once, filled whole as taker at the price
        of the last trade the engine processed (`engine.submit`, "MARKET"); publish its NEW
        update, then its fill. Refused (`OrderRejected`) before the symbol's first trade, like
        any order failing the filters or the balance."""
        order, fills = self.engine.submit(
            symbol, side, "MARKET", quantity, client_order_id, self._now_ms()
        )
        self._announce(order, fills)
        return order

    def _announce(self, order: Order, fills: list[OrderUpdate]) -> None:
        """Publish a new order's NEW update, then its immediate fills (or expiry)."""
        symbol = order.symbol
        topic = orders_topic(symbol)
        new = replace(order, status=OrderStatus.NEW, executed_qty=ZERO, cumulative_quote_qty=ZERO)
        quote = self.engine.assets(symbol)[1]
        self._publish(topic, OrderUpdate(new, ZERO, ZERO, ZERO, quote, order.time))
        for update in fills:
            self._publish(topic, update)

    async def order_fills(self, symbol: str, order_id: int) -> list[Fill]:
        """The fills of a remembered order, each with its commission."""
        return self.engine.fills(symbol, order_id)

    async def get_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        """Look an order up (open or remembered closed); raises `UnknownOrder`."""
        return self.engine.get(symbol, client_order_id=client_order_id, order_id=order_id)

    async def cancel_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        """Cancel an open order and publish its CANCELED update; raises `UnknownOrder`."""
        update = self.engine.cancel(
            symbol, client_order_id=client_order_id, order_id=order_id, time_ms=self._now_ms()
        )
        self._publish(orders_topic(symbol), update)
        return update.order

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Open orders of one symbol, or of all symbols, in order id order."""
        return self.engine.open_orders(symbol)

    async def balances(self) -> dict[str, Balance]:
        """Free and locked balance per asset."""
        return self.engine.balances()
