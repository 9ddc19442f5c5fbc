"""The paper matching engine: resting orders filled by the public trade stream.

One synchronous engine serves the paper exchange, backtests and the exchange simulator: no
asyncio, no clock (callers pass times in ms), no logging. Its money rules (`rules.Rules`) say
who pays the commission and how much of an order a trade fills:

- `FillMode.FULL` (backtests): a trade at price p fills in full, each at its own limit price
  and in order of placement, every resting BUY priced >= p and every resting SELL priced <= p.
- `FillMode.VOLUME` (paper, simulator): each crossing trade fills resting orders up to its
  quantity, by price then time priority: orders fill in parts (PARTIALLY_FILLED, then FILLED).
- With `Rules.taker` (Binance), a LIMIT order crossing the last trade price fills at once at
  that price as taker; MARKET orders and crossing IOC/FOK orders always do. LIMIT_MAKER orders
  that would cross are refused.

Client order ids are unique among open orders only, as on Binance. Resting orders never match
each other. Per symbol the best buy and best sell prices are cached, so a trade that crosses
nothing (the usual case) costs two comparisons.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from heapq import heapify, heappop, heappush

from hedgehog.core.decimals import ZERO, fmt
from hedgehog.core.errors import OrderRejected, RejectReason, UnknownOrder, UnknownSymbol
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Fill, Order, OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.exchange.base import Balance
from hedgehog.exchange.paper.book import NO_BUY, NO_SELL, Book, replace_order
from hedgehog.exchange.paper.rules import BNB, Commission, FillMode, Rules, commission_for
from hedgehog.exchange.paper.terms import order_terms

_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")  # Binance: ^[a-zA-Z0-9-_]{1,36}$
_BUY, _NEW, _FILLED, _CANCELED = Side.BUY, OrderStatus.NEW, OrderStatus.FILLED, OrderStatus.CANCELED
_PARTIAL, _EXPIRED = OrderStatus.PARTIALLY_FILLED, OrderStatus.EXPIRED


class MatchingEngine:
    """Orders, balances and matching for any number of symbols. See the module docstring."""

    def __init__(
        self,
        filters: Mapping[str, SymbolFilters],
        fee: Decimal = Decimal("0.001"),
        balances: Mapping[str, Decimal] | None = None,
        closed_order_limit: int = 100_000,
        keep_ledger: bool = False,
        rules: Rules | None = None,
        keep_fills: bool = False,
    ) -> None:
        start = {"USDT": Decimal(10000)} if balances is None else dict(balances)
        if not fee.is_finite() or fee < 0:
            raise ValueError(f"fee must be a finite number >= 0, not {fee}")
        if any(not v.is_finite() or v < 0 for v in start.values()):
            raise ValueError(f"starting balances must be finite and >= 0: {start}")
        if closed_order_limit < 0:
            raise ValueError("closed_order_limit must be >= 0")
        self.rules = rules if rules is not None else Rules(maker_fee=fee, taker_fee=fee)
        self.fee = self.rules.maker_fee
        self._lock_fee = self.rules.buy_lock_fee
        self._volume = self.rules.fills is FillMode.VOLUME
        self._books = {symbol: Book(f) for symbol, f in filters.items()}
        self._free = start
        self._locked = dict.fromkeys(start, ZERO)
        self._orders: dict[int, Order] = {}  # open and remembered closed orders
        self._locks: dict[int, Decimal] = {}  # open order id -> amount still locked, id order
        self._by_client: dict[tuple[str, str], int] = {}  # the latest order of each client id
        self._fills: dict[int, list[Fill]] | None = {} if keep_fills or keep_ledger else None
        self._closed: deque[int] = deque()
        self._closed_limit = closed_order_limit
        self._ledger: dict[int, Order] | None = {} if keep_ledger else None
        self._next_id = 1
        self._filled = 0
        self._canceled = 0
        self._expired = 0
        self._fill_count = 0

    def _book(self, symbol: str) -> Book:
        book = self._books.get(symbol)
        if book is None:
            raise UnknownSymbol(f"unknown symbol {symbol!r}")
        return book

    def filters(self, symbol: str) -> SymbolFilters:
        """The trading rules of `symbol`; raises `UnknownSymbol`."""
        return self._book(symbol).filters

    def assets(self, symbol: str) -> tuple[str, str]:
        """(base asset, quote asset) of `symbol`."""
        book = self._book(symbol)
        return book.base, book.quote

    def last_price(self, symbol: str) -> Decimal | None:
        """The price of the symbol's last trade, None before the first."""
        return self._book(symbol).last_price

    def band(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """(best resting buy, best resting sell): trades strictly between them fill nothing."""
        book = self._book(symbol)
        return (
            None if book.best_buy is NO_BUY else book.best_buy,
            None if book.best_sell is NO_SELL else book.best_sell,
        )

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

    # -- matching ----------------------------------------------------------------------------
    def on_trade(self, trade: TradeEvent) -> list[OrderUpdate]:
        """Fill the resting orders that the trade crosses; one update per fill."""
        book = self._books.get(trade.symbol)
        if book is None:
            return []
        price = trade.price
        book.last_price = price
        book.last_id = trade.trade_id
        if book.best_buy < price < book.best_sell:
            return []
        if self._volume:
            return self._match_volume(book, trade)
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
        orders, t, tid = self._orders, trade.trade_time, trade.trade_id
        updates = []
        for oid in crossed:
            o = orders[oid]
            updates.append(self._fill(book, oid, o.orig_qty - o.executed_qty, o.price, t, tid))
        return updates

    def _match_volume(self, book: Book, trade: TradeEvent) -> list[OrderUpdate]:
        """Fill crossing orders up to the trade's quantity, best price first, then oldest."""
        updates: list[OrderUpdate] = []
        locks, orders = self._locks, self._orders
        t, tid, price = trade.trade_time, trade.trade_id, trade.price
        for heap, key in ((book.buys, -price), (book.sells, price)):
            left = trade.quantity
            while left > 0 and heap and heap[0][0] <= key:
                oid = heap[0][1]
                if oid not in locks:
                    heappop(heap)
                    book.stale -= 1
                    continue
                order = orders[oid]
                qty = order.orig_qty - order.executed_qty
                if qty <= left:
                    heappop(heap)
                else:
                    qty = left
                left -= qty
                updates.append(self._fill(book, oid, qty, order.price, t, tid))
        self._refresh(book)
        return updates

    def _fill(
        self, book: Book, oid: int, qty: Decimal, price: Decimal, time_ms: int, trade_id: int,
        maker: bool = True,
    ) -> OrderUpdate:  # fmt: skip
        """Execute `qty` of an open order at `price`: move the money, charge the commission."""
        order = self._orders[oid]
        rules = self.rules
        notional = price * qty
        executed = order.executed_qty + qty
        done = executed >= order.orig_qty
        is_buy = order.side is _BUY
        base, quote = book.base, book.quote
        free, locked = self._free, self._locked
        bnb = self._bnb_price(quote) if rules.commission is Commission.BNB else None
        commission, asset = commission_for(
            rules, is_buy, qty, notional, rules.maker_fee if maker else rules.taker_fee,
            base, quote, bnb, free.get(BNB, ZERO),
        )  # fmt: skip
        lock = self._locks[oid]
        if is_buy:
            if done:
                part = lock
            else:
                at_limit = order.price * qty
                part = at_limit + at_limit * self._lock_fee
            locked[quote] -= part
            free[quote] += part - notional
            free[base] = free.get(base, ZERO) + qty
        else:
            part = lock if done else qty
            locked[base] -= part
            free[base] += part - qty
            free[quote] = free.get(quote, ZERO) + notional
        free[asset] = free.get(asset, ZERO) - commission
        locked.setdefault(asset, ZERO)
        status = _FILLED if done else _PARTIAL
        now = replace_order(order, status, executed, order.cumulative_quote_qty + notional, time_ms)
        if done:
            del self._locks[oid]
            self._close(now)
            self._filled += 1
        else:
            self._locks[oid] = lock - part
            self._orders[oid] = now
            if self._ledger is not None:
                self._ledger[oid] = now
        self._fill_count += 1
        if self._fills is not None:
            self._fills.setdefault(oid, []).append(
                Fill(
                    order.symbol,
                    oid,
                    trade_id,
                    order.side,
                    price,
                    qty,
                    notional,
                    commission,
                    asset,
                    time_ms,
                    maker,
                )
            )
        return OrderUpdate(now, qty, price, commission, asset, time_ms, trade_id, maker)

    def _bnb_price(self, quote: str) -> Decimal | None:
        """BNB's price in `quote` (its last trade on BNB<quote>), None when unknown."""
        if quote == BNB:
            return Decimal(1)
        book = self._books.get(BNB + quote)
        return None if book is None else book.last_price

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
            key = (old.symbol, old.client_order_id)
            if self._by_client.get(key) == old.order_id:
                del self._by_client[key]
            if self._fills is not None and self._ledger is None:
                self._fills.pop(old.order_id, None)

    def _refresh(self, book: Book) -> None:
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
        book.best_buy = self._orders[buys[0][1]].price if buys else NO_BUY
        book.best_sell = self._orders[sells[0][1]].price if sells else NO_SELL

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

    # -- views -------------------------------------------------------------------------------
    def get(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        """An open or remembered closed order by either id; raises `UnknownOrder`.

        By client order id: the latest order placed with it (ids are reusable once closed).
        """
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

    def fills(self, symbol: str, order_id: int | None = None) -> list[Fill]:
        """The fills of one remembered order, or of every remembered order of `symbol`, in
        trade order (needs keep_fills or keep_ledger)."""
        if self._fills is None:
            raise RuntimeError("this MatchingEngine was created without keep_fills=True")
        self._book(symbol)
        if order_id is not None:
            return [f for f in self._fills.get(order_id, []) if f.symbol == symbol]
        found = [f for fills in self._fills.values() for f in fills if f.symbol == symbol]
        return sorted(found, key=lambda f: (f.trade_id, f.order_id))

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
        """Counts of orders: placed, open, filled, canceled, expired, remembered closed; fills."""
        return {
            "placed": self._next_id - 1,
            "open": len(self._locks),
            "filled": self._filled,
            "canceled": self._canceled,
            "expired": self._expired,
            "remembered_closed": len(self._closed),
            "fills": self._fill_count,
        }
