"""Signing of Binance requests: HMAC-SHA256 over the percent-encoded query string.

Since January 2026 Binance verifies signatures over the query string *as percent-encoded*
(`urlencode`), so we encode first and sign exactly the bytes we send. The secret never leaves
this module's callers and is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import urlencode

Params = Mapping[str, object] | Iterable[tuple[str, object]]


def wire_value(value: object) -> str:
    """How a parameter value is written on the wire (Decimals as plain strings, bools lower)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "to_eng_string") and hasattr(value, "normalize"):
        return format(value, "f")
    return str(value)


def encode_query(params: Params) -> str:
    """Percent-encode parameters in the given order: the exact string that gets signed."""
    items = params.items() if isinstance(params, Mapping) else params
    return urlencode([(k, wire_value(v)) for k, v in items])


def hmac_signature(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of `payload` with `secret` (Binance's HMAC keys)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign_query(secret: str, params: Params) -> str:
    """`query&signature=...` for a signed REST request."""
    query = encode_query(params)
    return f"{query}&signature={hmac_signature(secret, query)}"


def ws_api_payload(params: Mapping[str, object]) -> str:
    """The WebSocket API signs its params sorted by name (without `signature`)."""
    return encode_query(sorted((k, v) for k, v in params.items() if k != "signature"))


def verify(secret: str, payload: str, signature: str) -> bool:
    """Constant-time check of a signature (the simulator verifies requests with it)."""
    return hmac.compare_digest(hmac_signature(secret, payload), signature.lower())
