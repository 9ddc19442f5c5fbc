"""Placing and cancelling orders on the paper matching engine: the checks an order passes.

A new order's client id must be valid and unused among open orders, its terms must pass
`terms.order_terms` and the symbol's filters, and its funds must be free; it is then locked
and rests (or fills at once as taker, or expires when IOC/FOK). Cancelling gives the lock back.
None of this runs per public trade, so it lives apart from the matching (`engine.py`), which
provides `_fill`, `_close` and `_refresh`. `MatchingEngine` (in `engine`) is the class to use.
"""

from __future__ import annotations

import re
from decimal import Decimal
from heapq import heappush
from typing import TYPE_CHECKING

from hedgehog.core.decimals import ZERO, fmt
from hedgehog.core.errors import OrderRejected, RejectReason, UnknownOrder
from hedgehog.core.types import Order, OrderStatus, OrderUpdate, Side
from hedgehog.exchange.paper.book import Book, replace_order
from hedgehog.exchange.paper.state import EngineState
from hedgehog.exchange.paper.terms import order_terms

_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")  # Binance: ^[a-zA-Z0-9-_]{1,36}$
_BUY, _NEW, _CANCELED = Side.BUY, OrderStatus.NEW, OrderStatus.CANCELED
_EXPIRED = OrderStatus.EXPIRED


class Placing(EngineState):
    """Order placement and cancellation; the matching engine adds the fills."""

    if TYPE_CHECKING:  # provided by `engine.MatchingEngine`

        def _fill(
            self, book: Book, oid: int, qty: Decimal, price: Decimal, time_ms: int,
            trade_id: int, maker: bool = True,
        ) -> OrderUpdate:  # fmt: skip
            raise NotImplementedError

        def _close(self, order: Order) -> None:
            raise NotImplementedError

        def _refresh(self, book: Book) -> None:
            raise NotImplementedError

    # -- placing -----------------------------------------------------------------------------
    def place(
        self,
        symbol: str,
        side: Side,
        price: Decimal,
        qty: Decimal,
        client_order_id: str,
        time_ms: int,
    ) -> Order:
        """Rest a LIMIT GTC order and lock its funds; raises `OrderRejected`, `UnknownSymbol`.

        Only for engines without `Rules.taker` (an immediate fill would be lost here): those
        use `submit`, which returns the fills too.
        """
        if self.rules.taker:
            raise RuntimeError("a taker engine places orders with submit(), which returns fills")
        return self.submit(symbol, side, "LIMIT", qty, client_order_id, time_ms, price)[0]

    def submit(
        self,
        symbol: str,
        side: Side,
        order_type: str,
        qty: Decimal | None,
        client_order_id: str,
        time_ms: int,
        price: Decimal | None = None,
        time_in_force: str = "GTC",
        quote_qty: Decimal | None = None,
    ) -> tuple[Order, list[OrderUpdate]]:
        """Place any order; (the order as it is now, its immediate fills or expiry).

        MARKET takes `qty` or `quote_qty` (spent or received in the quote asset) and fills at
        the last trade price. Raises `OrderRejected` or `UnknownSymbol`.
        """
        book = self._book(symbol)
        side = Side(side)
        if not _CLIENT_ID.fullmatch(client_order_id):
            raise OrderRejected(
                RejectReason.OTHER,
                f"client order id {client_order_id!r} must be 1 to 36 of A-Z a-z 0-9 _ -",
            )
        known = self._by_client.get((symbol, client_order_id))
        if known is not None and known in self._locks:
            raise OrderRejected(
                RejectReason.DUPLICATE_CLIENT_ORDER_ID, f"{symbol} {client_order_id}"
            )
        last = book.last_price
        price, qty, time_in_force, crosses = order_terms(
            book.filters, side, order_type, qty, price, time_in_force, quote_qty, last
        )
        order = self._rest(book, side, price, qty, client_order_id, time_ms, order_type,
                           time_in_force)  # fmt: skip
        immediate = order_type == "MARKET" or time_in_force in ("IOC", "FOK") or self.rules.taker
        if crosses and immediate:
            assert last is not None
            book.last_id += 1
            update = self._fill(book, order.order_id, qty, last, time_ms, book.last_id, False)
            return update.order, [update]
        if time_in_force in ("IOC", "FOK"):
            update = self._end(book, order.order_id, _EXPIRED, time_ms)
            self._expired += 1
            return update.order, [update]
        if side is _BUY:
            heappush(book.buys, (-price, order.order_id))
            if price > book.best_buy:
                book.best_buy = price
        else:
            heappush(book.sells, (price, order.order_id))
            if price < book.best_sell:
                book.best_sell = price
        return order, []

    def _rest(
        self, book: Book, side: Side, price: Decimal, qty: Decimal, client_order_id: str,
        time_ms: int, order_type: str, time_in_force: str,
    ) -> Order:  # fmt: skip
        """Lock the order's funds and record it as NEW; raises `OrderRejected` (balance)."""
        if side is _BUY:
            asset = book.quote
            notional = price * qty
            lock = notional + notional * self._lock_fee  # price * qty * (1 + fee)
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
            oid, client_order_id, book.filters.symbol, side, price, qty, ZERO, ZERO, _NEW,
            time_ms, time_ms, order_type, time_in_force,
        )  # fmt: skip
        self._orders[oid] = order
        self._locks[oid] = lock
        if self._ledger is not None:
            self._ledger[oid] = order
        self._by_client[(book.filters.symbol, client_order_id)] = oid
        return order

    # -- cancelling --------------------------------------------------------------------------
    def cancel(
        self,
        symbol: str,
        *,
        client_order_id: str | None = None,
        order_id: int | None = None,
        time_ms: int,
    ) -> OrderUpdate:
        """Cancel an open order and release its lock; raises `UnknownOrder` if not open.

        What it executed before stays executed (`executed_qty` is kept, as on Binance).
        """
        order = self.get(symbol, client_order_id=client_order_id, order_id=order_id)
        if order.order_id not in self._locks:
            raise UnknownOrder(
                f"{symbol}: order {order.order_id} is {order.status.value}, not open"
            )
        book = self._books[symbol]
        update = self._end(book, order.order_id, _CANCELED, time_ms)
        self._canceled += 1
        book.stale += 1
        self._refresh(book)
        return update

    def _end(self, book: Book, oid: int, status: OrderStatus, time_ms: int) -> OrderUpdate:
        """Close an open order without a fill (cancelled, expired): its lock goes back."""
        order = self._orders[oid]
        lock = self._locks.pop(oid)
        asset = book.quote if order.side is _BUY else book.base
        self._locked[asset] -= lock
        self._free[asset] += lock
        ended = replace_order(
            order, status, order.executed_qty, order.cumulative_quote_qty, time_ms
        )
        self._close(ended)
        return OrderUpdate(ended, ZERO, ZERO, ZERO, book.quote, time_ms)
