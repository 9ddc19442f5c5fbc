"""Request weight and order counts, kept per minute / 10 s / UTC day as Binance reports them.

Weights are those of Binance's spot API (one IP-wide budget, shared by REST and the WebSocket
API). Over `weight_limit` in a minute, requests are refused with 429 until the minute ends.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

# (method, path) -> weight; openOrders weighs 6 for one symbol, 80 for all
WEIGHTS = {
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/time"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("POST", "/api/v3/order"): 1,
    ("GET", "/api/v3/order"): 4,
    ("DELETE", "/api/v3/order"): 1,
    ("GET", "/api/v3/openOrders"): 6,
    ("GET", "/api/v3/account"): 20,
    ("GET", "/api/v3/trades"): 25,
    ("GET", "/api/v3/historicalTrades"): 25,
    ("GET", "/api/v3/aggTrades"): 4,
    ("GET", "/api/v3/klines"): 2,
    ("GET", "/api/v3/uiKlines"): 2,
    ("GET", "/api/v3/avgPrice"): 2,
    ("GET", "/api/v3/myTrades"): 20,
    ("GET", "/api/v3/allOrders"): 20,
    ("POST", "/api/v3/order/test"): 1,
    ("POST", "/api/v3/userDataStream"): 2,
    ("PUT", "/api/v3/userDataStream"): 2,
    ("DELETE", "/api/v3/userDataStream"): 2,
}
OPEN_ORDERS_ALL = 80
# one symbol / several or all; 24hr's weight grows with the number of symbols
_TICKERS = {"/api/v3/ticker/price": 4, "/api/v3/ticker/bookTicker": 4, "/api/v3/ticker/24hr": 80}
WEIGHT_LIMIT = 6000
ORDERS_10S_LIMIT = 100
ORDERS_1D_LIMIT = 200_000


def rest_weight(
    method: str, path: str, has_symbol: bool, query: Mapping[str, str] | None = None
) -> int:
    """Binance's weight of a request; `query` (when given) refines depth and ticker weights."""
    if path == "/api/v3/openOrders" and not has_symbol:
        return OPEN_ORDERS_ALL
    if path == "/api/v3/depth":
        return depth_weight((query or {}).get("limit", ""))
    if path in _TICKERS:
        if has_symbol:
            return 2
        listed = (query or {}).get("symbols")
        if listed and path == "/api/v3/ticker/24hr":
            count = listed.count(",") + 1
            return 2 if count <= 20 else 40 if count <= 100 else 80
        return _TICKERS[path]
    return WEIGHTS.get((method, path), 1)


def depth_weight(limit: str) -> int:
    """`/api/v3/depth`: 5 up to 100 levels, 25 to 500, 50 to 1000, 250 beyond."""
    # ASCII digits only ("²".isdigit() is true, int() refuses it); the handler refuses the rest
    levels = int(limit) if limit.isascii() and limit.isdigit() and len(limit) <= 20 else 100
    return 5 if levels <= 100 else 25 if levels <= 500 else 50 if levels <= 1000 else 250


class Limits:
    """Used weight of the current minute and orders placed in the last 10 s and today."""

    def __init__(self, weight_limit: int = WEIGHT_LIMIT, clock: Callable[[], float] = time.time):
        self.weight_limit = weight_limit
        self._clock = clock
        self._minute = -1
        self._weight = 0
        self._orders_10s: deque[float] = deque()
        self._day = -1
        self._orders_day = 0

    def used_weight(self) -> int:
        if int(self._clock() // 60) != self._minute:
            return 0
        return self._weight

    def spend(self, weight: int) -> bool:
        """Count a request; False (retry after `retry_after()`) when over the limit."""
        minute = int(self._clock() // 60)
        if minute != self._minute:
            self._minute, self._weight = minute, 0
        self._weight += weight
        return not (self.weight_limit and self._weight > self.weight_limit)

    def retry_after(self) -> int:
        return max(1, 60 - int(self._clock() % 60))

    def count_order(self) -> None:
        now = self._clock()
        day = int(now // 86_400)
        if day != self._day:
            self._day, self._orders_day = day, 0
        self._orders_day += 1
        self._orders_10s.append(now)

    def order_counts(self) -> tuple[int, int]:
        """(orders in the last 10 s, orders today)."""
        now = self._clock()
        window = self._orders_10s
        while window and window[0] <= now - 10:
            window.popleft()
        return len(window), self._orders_day if int(now // 86_400) == self._day else 0

    def rate_limits(self) -> list[dict[str, Any]]:
        """The `rateLimits` of a WebSocket API answer."""
        return [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": self.weight_limit or WEIGHT_LIMIT,
                "count": self.used_weight(),
            }
        ]


def binance_rate_limits() -> list[dict[str, Any]]:
    """The `rateLimits` list of exchangeInfo."""
    return [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
         "limit": WEIGHT_LIMIT},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
         "limit": ORDERS_10S_LIMIT},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": ORDERS_1D_LIMIT},
        {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
    ]  # fmt: skip
