"""The paper matching engine: resting LIMIT GTC orders filled by the public trade stream.

One synchronous engine serves the paper exchange, backtests and the exchange simulator: no
asyncio, no clock (callers pass times in ms), no logging. A trade at price p fills in full, each
at its own limit price and in order of placement, every resting BUY priced >= p and every
resting SELL priced <= p. Resting orders never match each other. Per symbol the best buy and
best sell prices are cached, so a trade that crosses nothing (the usual case) costs two
comparisons.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from heapq import heapify, heappop, heappush

from hedgehog.core.decimals import ZERO, fmt
from hedgehog.core.filters import SymbolFilters, split_symbol
from hedgehog.core.types import Order, OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.errors import OrderRejected, RejectReason, UnknownOrder, UnknownSymbol
from hedgehog.exchange.base import Balance

_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")  # Binance: ^[a-zA-Z0-9-_]{1,36}$
_NO_BUY = Decimal("-Infinity")
_NO_SELL = Decimal("Infinity")
_BUY, _NEW, _FILLED, _CANCELED = Side.BUY, OrderStatus.NEW, OrderStatus.FILLED, OrderStatus.CANCELED


def _replace(o: Order, status: OrderStatus, executed: Decimal, quote: Decimal, ms: int) -> Order:
    """A copy of `o` with a new status, executed quantities and update time (fast: no kwargs)."""
    return Order(
        o.order_id, o.client_order_id, o.symbol, o.side, o.price, o.orig_qty, executed, quote,
        status, o.time, ms,
    )  # fmt: skip


class _Book:
    """Resting orders of one symbol: heaps of (-price, id) for buys and (price, id) for sells.

    Cancelled orders stay in a heap until they reach its top (lazy deletion); `stale` counts
    them, and the heaps are rebuilt when they are mostly stale, so memory stays bounded.
    """

    __slots__ = ("base", "best_buy", "best_sell", "buys", "filters", "quote", "sells", "stale")

    def __init__(self, filters: SymbolFilters) -> None:
        self.filters = filters
        guess = split_symbol(filters.symbol)
        self.base = filters.base_asset or guess[0]
        self.quote = filters.quote_asset or guess[1]
        self.buys: list[tuple[Decimal, int]] = []
        self.sells: list[tuple[Decimal, int]] = []
        self.best_buy = _NO_BUY
        self.best_sell = _NO_SELL
        self.stale = 0


class MatchingEngine:
    """Orders, balances and matching for any number of symbols. See the module docstring."""

    def __init__(
        self,
        filters: Mapping[str, SymbolFilters],
        fee: Decimal = Decimal("0.001"),
        balances: Mapping[str, Decimal] | None = None,
        closed_order_limit: int = 100_000,
        keep_ledger: bool = False,
    ) -> None:
        start = {"USDT": Decimal(10000)} if balances is None else dict(balances)
        if not fee.is_finite() or fee < 0:
            raise ValueError(f"fee must be a finite number >= 0, not {fee}")
        if any(not v.is_finite() or v < 0 for v in start.values()):
            raise ValueError(f"starting balances must be finite and >= 0: {start}")
        if closed_order_limit < 0:
            raise ValueError("closed_order_limit must be >= 0")
        self.fee = fee
        self._books = {symbol: _Book(f) for symbol, f in filters.items()}
        self._free = start
        self._locked = dict.fromkeys(start, ZERO)
        self._orders: dict[int, Order] = {}  # open and remembered closed orders
        self._locks: dict[int, Decimal] = {}  # open order id -> amount locked, in id order
        self._by_client: dict[tuple[str, str], int] = {}
        self._closed: deque[int] = deque()
        self._closed_limit = closed_order_limit
        self._ledger: dict[int, Order] | None = {} if keep_ledger else None
        self._next_id = 1
        self._filled = 0
        self._canceled = 0

    def _book(self, symbol: str) -> _Book:
        book = self._books.get(symbol)
        if book is None:
            raise UnknownSymbol(f"unknown symbol {symbol!r}")
        return book

    def filters(self, symbol: str) -> SymbolFilters:
        """The trading rules of `symbol`; raises `UnknownSymbol`."""
        return self._book(symbol).filters

    def assets(self, symbol: str) -> tuple[str, str]:
        """(base asset, quote asset) of `symbol`; commissions are charged in the quote asset."""
        book = self._book(symbol)
        return book.base, book.quote

    def band(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """(best resting buy, best resting sell): trades strictly between them fill nothing."""
        book = self._book(symbol)
        return (
            None if book.best_buy is _NO_BUY else book.best_buy,
            None if book.best_sell is _NO_SELL else book.best_sell,
        )

    def place(
        self,
        symbol: str,
        side: Side,
        price: Decimal,
        qty: Decimal,
        client_order_id: str,
        time_ms: int,
    ) -> Order:
        """Rest a LIMIT GTC order and lock its funds; raises `OrderRejected`, `UnknownSymbol`."""
        book = self._book(symbol)
        side = Side(side)
        if not _CLIENT_ID.fullmatch(client_order_id):
            raise OrderRejected(
                RejectReason.OTHER,
                f"client order id {client_order_id!r} must be 1 to 36 of A-Z a-z 0-9 _ -",
            )
        if (symbol, client_order_id) in self._by_client:
            raise OrderRejected(
                RejectReason.DUPLICATE_CLIENT_ORDER_ID, f"{symbol} {client_order_id}"
            )
        if not (price.is_finite() and qty.is_finite()):
            raise OrderRejected(RejectReason.OTHER, "price and quantity must be finite numbers")
        problem = book.filters.check(price, qty)
        if problem is not None:
            raise OrderRejected(RejectReason.FILTER_FAILURE, problem)
        if side is _BUY:
            asset = book.quote
            notional = price * qty
            lock = notional + notional * self.fee  # price * qty * (1 + fee)
        else:
            asset, lock = book.base, qty
        free = self._free.get(asset, ZERO)
        if lock > free:
            raise OrderRejected(
                RejectReason.INSUFFICIENT_BALANCE,
                f"{asset}: needed {fmt(lock)}, free {fmt(free)}",
            )
        self._free[asset] = free - lock
        self._locked[asset] = self._locked.get(asset, ZERO) + lock
        oid = self._next_id
        self._next_id += 1
        order = Order(
            oid, client_order_id, symbol, side, price, qty, ZERO, ZERO, _NEW, time_ms, time_ms
        )  # fmt: skip
        self._orders[oid] = order
        self._locks[oid] = lock
        if self._ledger is not None:
            self._ledger[oid] = order
        self._by_client[(symbol, client_order_id)] = oid
        if side is _BUY:
            heappush(book.buys, (-price, oid))
            if price > book.best_buy:
                book.best_buy = price
        else:
            heappush(book.sells, (price, oid))
            if price < book.best_sell:
                book.best_sell = price
        return order

    def on_trade(self, trade: TradeEvent) -> list[OrderUpdate]:
        """Fill every resting order that the trade crosses; one FILLED update per fill."""
        book = self._books.get(trade.symbol)
        if book is None:
            return []
        price = trade.price
        if book.best_buy < price < book.best_sell:
            return []
        locks = self._locks
        crossed: list[int] = []
        buys, sells = book.buys, book.sells
        neg = -price
        while buys and buys[0][0] <= neg:
            oid = heappop(buys)[1]
            if oid in locks:
                crossed.append(oid)
            else:
                book.stale -= 1
        while sells and sells[0][0] <= price:
            oid = heappop(sells)[1]
            if oid in locks:
                crossed.append(oid)
            else:
                book.stale -= 1
        self._refresh(book)
        crossed.sort()
        return [self._fill(book, oid, trade.trade_time) for oid in crossed]

    def _fill(self, book: _Book, oid: int, time_ms: int) -> OrderUpdate:
        order = self._orders[oid]
        lock = self._locks.pop(oid)
        price, qty = order.price, order.orig_qty
        notional = price * qty
        commission = notional * self.fee
        free, quote = self._free, book.quote
        if order.side is _BUY:
            self._locked[quote] -= lock
            free[quote] += lock - notional - commission
            free[book.base] = free.get(book.base, ZERO) + qty
        else:
            self._locked[book.base] -= lock
            free[quote] = free.get(quote, ZERO) + notional - commission
        filled = _replace(order, _FILLED, qty, notional, time_ms)
        self._close(filled)
        self._filled += 1
        return OrderUpdate(filled, qty, price, commission, quote, time_ms)

    def _close(self, order: Order) -> None:
        """Record a closed order; forget the oldest closed ones beyond the limit."""
        oid = order.order_id
        self._orders[oid] = order
        if self._ledger is not None:
            self._ledger[oid] = order
        closed = self._closed
        closed.append(oid)
        if len(closed) > self._closed_limit:
            old = self._orders.pop(closed.popleft())
            del self._by_client[(old.symbol, old.client_order_id)]

    def _refresh(self, book: _Book) -> None:
        """Drop cancelled orders from the heap tops, recompute the band, compact if stale."""
        locks, buys, sells = self._locks, book.buys, book.sells
        if book.stale > 64 and 2 * book.stale > len(buys) + len(sells):
            buys[:] = [entry for entry in buys if entry[1] in locks]
            sells[:] = [entry for entry in sells if entry[1] in locks]
            heapify(buys)
            heapify(sells)
            book.stale = 0
        while buys and buys[0][1] not in locks:
            heappop(buys)
            book.stale -= 1
        while sells and sells[0][1] not in locks:
            heappop(sells)
            book.stale -= 1
        book.best_buy = self._orders[buys[0][1]].price if buys else _NO_BUY
        book.best_sell = self._orders[sells[0][1]].price if sells else _NO_SELL

    def cancel(
        self,
        symbol: str,
        *,
        client_order_id: str | None = None,
        order_id: int | None = None,
        time_ms: int,
    ) -> OrderUpdate:
        """Cancel an open order and release its lock; raises `UnknownOrder` if not open."""
        order = self.get(symbol, client_order_id=client_order_id, order_id=order_id)
        oid = order.order_id
        lock = self._locks.pop(oid, None)
        if lock is None:
            raise UnknownOrder(f"{symbol}: order {oid} is {order.status.value}, not open")
        book = self._books[symbol]
        asset = book.quote if order.side is _BUY else book.base
        self._locked[asset] -= lock
        self._free[asset] += lock
        canceled = _replace(order, _CANCELED, ZERO, ZERO, time_ms)
        self._close(canceled)
        self._canceled += 1
        book.stale += 1
        self._refresh(book)
        return OrderUpdate(canceled, ZERO, ZERO, ZERO, book.quote, time_ms)

    def get(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        """An open or remembered closed order by either id; raises `UnknownOrder`."""
        self._book(symbol)
        if order_id is None:
            if client_order_id is None:
                raise ValueError("give client_order_id or order_id")
            oid = self._by_client.get((symbol, client_order_id))
            order = None if oid is None else self._orders.get(oid)
        else:
            order = self._orders.get(order_id)
        if (
            order is None
            or order.symbol != symbol
            or (client_order_id is not None and order.client_order_id != client_order_id)
        ):
            raise UnknownOrder(
                f"{symbol}: no order with client_order_id={client_order_id} order_id={order_id}"
            )
        return order

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Open orders of one symbol (or all), in order id order."""
        if symbol is not None:
            self._book(symbol)
        orders = [self._orders[oid] for oid in self._locks]
        return orders if symbol is None else [o for o in orders if o.symbol == symbol]

    def balances(self) -> dict[str, Balance]:
        """Free and locked amount of every asset held now or before."""
        return {a: Balance(a, f, self._locked.get(a, ZERO)) for a, f in self._free.items()}

    def ledger(self) -> list[Order]:
        """Current state of every order ever placed, in order id order (needs keep_ledger)."""
        if self._ledger is None:
            raise RuntimeError("this MatchingEngine was created without keep_ledger=True")
        return list(self._ledger.values())

    def stats(self) -> dict[str, int]:
        """Counts of orders: placed, open, filled, canceled, remembered closed."""
        return {
            "placed": self._next_id - 1,
            "open": len(self._locks),
            "filled": self._filled,
            "canceled": self._canceled,
            "remembered_closed": len(self._closed),
        }
