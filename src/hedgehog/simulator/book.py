"""The order book that `/depth`, `/ticker/bookTicker` and the depth streams show.

The simulator has no real book: the market is a tape of trades. What a client sees is its own
open orders resting in the `MatchingEngine`, aggregated by price, plus a synthetic ladder of
levels one tick apart around the last trade price (the last trade's maker side at that price),
so that the book is never empty once a trade happened. The ladder never crosses the resting
orders: its bids stay below the lowest resting ask and its asks above the highest resting bid.
Its sizes are the recent average trade size (floored to the step) times 1 to 4, by price.
`lastUpdateId` increases with every trade and every change of the resting orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from hedgehog.core.decimals import floor_to
from hedgehog.core.types import Side
from hedgehog.simulator.history import SymbolHistory
from hedgehog.simulator.market import Market, amount

Level = tuple[Decimal, Decimal]
SIZE_TRADES = 50
_DEFAULT_TICK = Decimal("0.00000001")


class Book:
    """A snapshot: update id, bids (best first) and asks (best first)."""

    __slots__ = ("asks", "bids", "update_id")

    def __init__(self, update_id: int, bids: list[Level], asks: list[Level]) -> None:
        self.update_id, self.bids, self.asks = update_id, bids, asks

    def depth(self) -> dict[str, Any]:
        """The shape of `GET /api/v3/depth` and of the partial depth streams."""
        return {"lastUpdateId": self.update_id,
                "bids": [[amount(p), amount(q)] for p, q in self.bids],
                "asks": [[amount(p), amount(q)] for p, q in self.asks]}  # fmt: skip

    def best(self) -> tuple[Level | None, Level | None]:
        return (self.bids[0] if self.bids else None), (self.asks[0] if self.asks else None)


class BookMaker:
    """Builds each symbol's `Book` from the engine's open orders and the trade history."""

    def __init__(self, market: Market, histories: Mapping[str, SymbolHistory]) -> None:
        self.market, self.histories = market, histories
        self._versions = dict.fromkeys(market.symbols, 0)
        self._resting: dict[str, tuple[tuple[int, Decimal], ...]] = {}

    def on_trade(self, symbol: str) -> None:
        self._versions[symbol] += 1

    def book(self, symbol: str, limit: int) -> Book:
        orders = self.market.engine.open_orders(symbol)
        resting = tuple((o.order_id, o.executed_qty) for o in orders)
        if resting != self._resting.get(symbol):
            self._resting[symbol] = resting
            self._versions[symbol] += 1
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        for order in orders:
            side = bids if order.side is Side.BUY else asks
            left = order.orig_qty - order.executed_qty
            side[order.price] = side.get(order.price, Decimal(0)) + left
        self._ladder(symbol, limit, bids, asks)
        best_bids = sorted(bids.items(), reverse=True)[:limit]
        best_asks = sorted(asks.items())[:limit]
        return Book(self._versions[symbol], best_bids, best_asks)

    def _ladder(
        self, symbol: str, limit: int, bids: dict[Decimal, Decimal], asks: dict[Decimal, Decimal]
    ) -> None:
        history = self.histories[symbol]
        last = history.last
        if last is None:
            return
        filters = self.market.engine.filters(symbol)
        tick = filters.tick_size or _DEFAULT_TICK
        price = last.price
        bid, ask = (price, price + tick) if last.buyer_market_maker else (price - tick, price)
        if asks:
            bid = min(bid, min(asks) - tick)
        if bids:
            ask = max(ask, max(bids) + tick)
        size = self._size(history, filters.step_size, filters.min_qty)
        zero = Decimal(0)
        # a level's size depends on its price only: the ladder stays put as the price moves
        first_bid, first_ask = int(bid / tick), int(ask / tick)
        for i in range(limit):
            level = bid - i * tick
            if level <= 0:
                break
            bids[level] = bids.get(level, zero) + size * (1 + (first_bid - i) % 4)
        for i in range(limit):
            level = ask + i * tick
            asks[level] = asks.get(level, zero) + size * (1 + (first_ask + i) % 4)

    @staticmethod
    def _size(history: SymbolHistory, step: Decimal, min_qty: Decimal) -> Decimal:
        recent = history.trades[-SIZE_TRADES:]
        mean = sum((t.quantity for t in recent), Decimal(0)) / len(recent)
        size = floor_to(mean, step) if step > 0 else mean
        return max(size, min_qty, step)
