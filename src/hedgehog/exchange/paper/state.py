"""What the paper matching engine holds, and the read-only views of it.

The books, balances, open and remembered closed orders and the counters are set up here, with
the checks of the engine's arguments and every query (orders, fills, balances, ledger, stats).
None of it runs per trade: it lives apart from `engine.py` so the matching stays short to read.
`MatchingEngine` (in `engine`) is the class to use; `EngineState` is only its base.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from decimal import Decimal

from hedgehog.core.decimals import ZERO
from hedgehog.core.errors import UnknownOrder, UnknownSymbol
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Fill, Order
from hedgehog.exchange.base import Balance
from hedgehog.exchange.paper.book import NO_BUY, NO_SELL, Book
from hedgehog.exchange.paper.rules import FillMode, Rules


class EngineState:
    """The engine's orders, balances and books, and the queries on them (no matching)."""

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
