"""hedgehog's own exceptions. Vendor errors are translated into these at the boundary.

Each class says who handles it:
- `ConfigError`: bad settings or input; the CLI prints it and exits non-zero, nothing is stored.
- `ExchangeError` and subclasses: raised by an `Exchange`; traders and the leader handle them.
- `RuntimeError`s of the process runtime live in `hedgehog.runtime.errors`.
"""

from __future__ import annotations

from enum import StrEnum


class HedgehogError(Exception):
    """Base of every error hedgehog raises on purpose."""


class ConfigError(HedgehogError, ValueError):
    """Invalid settings or input. The message says what is wrong and how to fix it."""


class StrategyError(HedgehogError):
    """A strategy returned what the tree cannot carry out (a negative quantity, a price off
    the tick...). The message names the strategy; its trader crashes and is restarted."""


class DataError(HedgehogError, ValueError):
    """A data file that cannot be read: the message names the file and the line."""


class StoreUnavailable(HedgehogError):
    """The durable store cannot be written now. A trader then places nothing (no order
    without its durable intent) and tries again later; trading resumes when the store does."""


class ExchangeError(HedgehogError):
    """Any failure reported by (or on the way to) an exchange."""


class RejectReason(StrEnum):
    INSUFFICIENT_BALANCE = "insufficient balance"
    FILTER_FAILURE = "filter failure"
    DUPLICATE_CLIENT_ORDER_ID = "duplicate client order id"
    UNKNOWN_SYMBOL = "unknown symbol"
    WOULD_TAKE = "would immediately match and take"  # a LIMIT_MAKER that crosses
    OTHER = "rejected"


class OrderRejected(ExchangeError):
    """The exchange refused the order; it was not placed. The trader decides what to do."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"order rejected: {reason.value}" + (f" ({detail})" if detail else ""))


class UnknownOrder(ExchangeError):
    """No order with that id exists on the exchange (Binance -2013)."""


class UnknownSymbol(ExchangeError):
    """The exchange does not list that symbol."""


class ExchangeUnavailable(ExchangeError):
    """The exchange could not be reached or answered 5xx; an order's outcome is UNKNOWN.

    Never place the same order again blindly: query it by client order id.
    """


class RateLimited(ExchangeUnavailable):
    """HTTP 429 or 418: wait `retry_after` seconds before the next request."""

    def __init__(self, retry_after: float, banned: bool = False) -> None:
        self.retry_after = retry_after
        self.banned = banned
        kind = "IP banned (418)" if banned else "rate limited (429)"
        super().__init__(f"{kind}: retry after {retry_after:g}s")


class AuthenticationError(ExchangeError):
    """The API key or signature was refused (Binance -1022, -2014, -2015)."""
