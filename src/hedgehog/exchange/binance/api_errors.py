"""Binance's error answers: the codes it sends, and what an answer means as hedgehog's exceptions.

Why a module of its own: the codes and their translation (`raise_for_error`) are one table
shared by the REST client, the WebSocket API user stream and the local simulator (which answers
with `error_body`); reading a REST answer into JSON or an exception (`read_answer`) is the
REST client's use of it, kept free of I/O. `wire` still re-exports the names it held before
(`__all__`). Codes follow Binance's spot `errors.md`.
"""

from __future__ import annotations

import json
from typing import Any

from hedgehog.core.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeUnavailable,
    OrderRejected,
    RejectReason,
    UnknownOrder,
    UnknownSymbol,
)

__all__ = [  # the names `wire` re-exports (they lived there first)
    "BAD_API_KEY_FORMAT", "BAD_SYMBOL", "CANCEL_REJECTED", "DISCONNECTED", "DUPLICATE_ORDER_MSG",
    "FILTER_FAILURE", "INSUFFICIENT_BALANCE_MSG", "INVALID_SIGNATURE", "MANDATORY_PARAM_MISSING",
    "NEW_ORDER_REJECTED", "NO_SUCH_ORDER", "NO_SUCH_ORDER_MSG", "REJECTED_MBX_KEY", "SERVER_BUSY",
    "TIMEOUT", "TIMESTAMP_OUTSIDE_RECV_WINDOW", "TOO_MANY_REQUESTS", "UNEXPECTED_RESP", "UNKNOWN",
    "UNKNOWN_ORDER_MSG", "ClockSkew", "WireError", "error_body", "raise_for_error",
]  # fmt: skip

# Binance error codes we act on (spot errors.md)
UNKNOWN = -1000
DISCONNECTED = -1001
TOO_MANY_REQUESTS = -1003
UNEXPECTED_RESP = -1006  # "Execution status unknown."
TIMEOUT = -1007  # "Send status unknown; execution status unknown."
SERVER_BUSY = -1008
TIMESTAMP_OUTSIDE_RECV_WINDOW = -1021
INVALID_SIGNATURE = -1022
MANDATORY_PARAM_MISSING = -1102
BAD_SYMBOL = -1121
FILTER_FAILURE = -1013
NEW_ORDER_REJECTED = -2010
CANCEL_REJECTED = -2011
NO_SUCH_ORDER = -2013
BAD_API_KEY_FORMAT = -2014
REJECTED_MBX_KEY = -2015

INSUFFICIENT_BALANCE_MSG = "Account has insufficient balance for requested action."
DUPLICATE_ORDER_MSG = "Duplicate order sent."
NO_SUCH_ORDER_MSG = "Order does not exist."
UNKNOWN_ORDER_MSG = "Unknown order sent."  # -2011 on a cancel of an unknown or closed order


class WireError(ExchangeError):
    """A payload from the exchange that does not have the expected shape."""


class ClockSkew(ExchangeError):
    """-1021: our timestamp is outside recvWindow; resynchronise with /api/v3/time."""


def error_body(code: int, msg: str) -> dict[str, Any]:
    return {"code": code, "msg": msg}


def raise_for_error(status: int, body: Any) -> None:
    """Translate an error answer (`{"code": ..., "msg": ...}`) into our exceptions."""
    code = body.get("code") if isinstance(body, dict) else None
    msg = str(body.get("msg", "")) if isinstance(body, dict) else str(body)[:200]
    if code == NEW_ORDER_REJECTED:
        if "insufficient balance" in msg.lower():
            raise OrderRejected(RejectReason.INSUFFICIENT_BALANCE, msg)
        if "duplicate" in msg.lower():
            raise OrderRejected(RejectReason.DUPLICATE_CLIENT_ORDER_ID, msg)
        raise OrderRejected(RejectReason.OTHER, msg)
    if code == FILTER_FAILURE:
        raise OrderRejected(RejectReason.FILTER_FAILURE, msg)
    if code == NO_SUCH_ORDER:
        raise UnknownOrder(msg or NO_SUCH_ORDER_MSG)
    if code == CANCEL_REJECTED and "unknown order" in msg.lower():
        raise UnknownOrder(msg)
    if code == BAD_SYMBOL:
        raise UnknownSymbol(msg)
    if code in (INVALID_SIGNATURE, BAD_API_KEY_FORMAT, REJECTED_MBX_KEY):
        raise AuthenticationError(f"{msg} (Binance {code})")
    if code == TIMESTAMP_OUTSIDE_RECV_WINDOW:
        raise ClockSkew(msg)
    if status >= 500 or code in (UNKNOWN, DISCONNECTED, UNEXPECTED_RESP, TIMEOUT, SERVER_BUSY):
        raise ExchangeUnavailable(f"HTTP {status}: {msg}")
    raise ExchangeError(f"HTTP {status}, Binance {code}: {msg}")


# -- REST answers ----------------------------------------------------------------------------
NOT_JSON = object()


def parse_json(text: str) -> Any:
    """The answer's JSON, or `NOT_JSON`."""
    if not text:
        return NOT_JSON
    try:
        return json.loads(text)
    except ValueError:
        return NOT_JSON


def read_answer(method: str, path: str, status: int, text: str) -> Any:
    """The JSON of a REST answer (other than 418 and 429), or the exception it means.

    A 5xx or "unknown" error to an order POST says the order's outcome is UNKNOWN.
    """
    data = parse_json(text)
    if status >= 400:
        body = text[:200] if data is NOT_JSON else data
        try:
            raise_for_error(status, body)
        except AuthenticationError as exc:
            raise AuthenticationError(
                f"Binance refused the credentials for {method} {path}: {exc}. Check the API "
                "key and secret, the key's permissions and its IP whitelist."
            ) from None
        except ExchangeUnavailable as exc:
            if method == "POST":
                raise ExchangeUnavailable(unknown_outcome(method, path, str(exc))) from None
            raise
    if not 200 <= status < 300:
        raise ExchangeError(f"{method} {path}: unexpected HTTP {status}")
    if data is NOT_JSON:
        raise WireError(f"{method} {path}: the answer is not JSON: {text[:200]!r}")
    return data


def expect_object(data: object) -> dict[str, Any]:
    """`data` if it is a JSON object; raises `WireError`."""
    if not isinstance(data, dict):
        raise WireError(f"expected a JSON object, got {type(data).__name__}")
    return data


def expect_list(data: object, what: str) -> list[Any]:
    """`data` if it is a JSON array (the answer of `what`); raises `WireError`."""
    if not isinstance(data, list):
        raise WireError(f"{what} answered {type(data).__name__}, not a list")
    return data


def unknown_outcome(method: str, path: str, reason: str) -> str:
    """The message of an `ExchangeUnavailable`: for a POST, its outcome is UNKNOWN."""
    if method == "POST":
        return f"{method} {path}: {reason}; the outcome is UNKNOWN"
    return f"{method} {path}: {reason}"
