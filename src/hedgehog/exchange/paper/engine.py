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
- MARKET orders, under any rules: filled whole at once, as taker (`taker_fee`), at the price
  of the last trade this engine processed (`on_trade`), whatever its quantity, under a trade
  id one past the last one seen; refused before the symbol's first trade. In a backtest a
  MARKET order placed while a trade is delivered (a trader reacting to it) thus fills at that
  trade's price: the replay delivers that trade skipping ahead or not, so the fill is the same
  with `--every-tick` and chaos kills (which fall between trades).

Client order ids are unique among open orders only, as on Binance. Resting orders never match
each other. Per symbol the best buy and best sell prices are cached, so a trade that crosses
nothing (the usual case) costs two comparisons.

This module holds the per-trade path only (`on_trade`, the fills, the book upkeep); the state
and its queries are in `state`, placing and cancelling orders in `placing`.
"""

from __future__ import annotations

from decimal import Decimal
from heapq import heapify, heappop

from hedgehog.core.decimals import ZERO
from hedgehog.core.types import Fill, Order, OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.exchange.paper.book import NO_BUY, NO_SELL, Book, replace_order
from hedgehog.exchange.paper.placing import Placing
from hedgehog.exchange.paper.rules import BNB, Commission, commission_for

_BUY, _FILLED, _PARTIAL = Side.BUY, OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED


class MatchingEngine(Placing):
    """Orders, balances and matching for any number of symbols. See the module docstring.

    Built as `EngineState` (state and queries) <- `Placing` (orders in and out) <- this class
    (the matching)."""

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
