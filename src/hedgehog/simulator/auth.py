"""API keys, signatures and timestamps of signed requests, checked as Binance checks them.

REST signs `query string + body` exactly as received (percent-encoded, minus the `signature`
parameter); the WebSocket API signs its params sorted by name. Both must carry a `timestamp`
within `recvWindow` (default 5000 ms, at most 60000) of the server's clock, and not more than
1 s ahead of it. Secrets are never written anywhere. Hostile values get Binance's answers, never
an exception: a signature that is not 64 hex digits is -1022, a timestamp that is not 1 to 20
ASCII digits is -1102, and text that is not UTF-8 is -1100 (`illegal_characters`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from hedgehog.exchange.binance import signing
from hedgehog.exchange.binance.wire import (
    BAD_API_KEY_FORMAT,
    INVALID_SIGNATURE,
    MANDATORY_PARAM_MISSING,
    REJECTED_MBX_KEY,
    TIMESTAMP_OUTSIDE_RECV_WINDOW,
)

DEMO_API_KEY = "hedgehogSimulatorDemoKey" + "0" * 40
DEMO_API_SECRET = "hedgehogSimulatorDemoSecret" + "1" * 37
DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60_000
API_KEY = re.compile(r"[A-Za-z0-9]{1,128}")
ILLEGAL_CHARS = -1100
_DIGITS = re.compile(r"[0-9]{1,20}")  # ASCII only: str.isdigit() accepts "²", which int() refuses
_HEX_SIGNATURE = re.compile(r"[0-9A-Fa-f]{64}")
_SIGNATURE = re.compile(r"(?:^|&)signature=[^&]*")


class ApiError(Exception):
    """An error answer: HTTP `status` with Binance's `{"code": code, "msg": msg}`."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code, self.msg, self.status = code, msg, status


def illegal_characters() -> ApiError:
    """Binance's answer to a parameter that is not valid text (e.g. bytes that are not UTF-8)."""
    return ApiError(ILLEGAL_CHARS, "Illegal characters found in a parameter.")


def missing(name: str) -> ApiError:
    return ApiError(
        MANDATORY_PARAM_MISSING,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
    )


def strip_signature(raw: str) -> tuple[str, str | None]:
    """(`raw` without its `signature=...` parameter, the signature's value or None)."""
    found = _SIGNATURE.search(raw)
    if found is None:
        return raw, None
    rest = raw[: found.start()] + raw[found.end() :]
    if found.group().startswith("&") or not rest.startswith("&"):
        return rest, found.group().split("=", 1)[1]
    return rest[1:], found.group().split("=", 1)[1]


class Auth:
    """Known API keys (key -> secret) and the server clock."""

    def __init__(self, keys: Mapping[str, str], now_ms: Callable[[], int]) -> None:
        self.keys = dict(keys)
        self.now_ms = now_ms

    def secret(self, api_key: str | None) -> str:
        """The secret of a key; -2014 when malformed or absent, -2015 when unknown (HTTP 401)."""
        if not api_key or API_KEY.fullmatch(api_key) is None:
            raise ApiError(BAD_API_KEY_FORMAT, "API-key format invalid.", 401)
        secret = self.keys.get(api_key)
        if secret is None:
            raise ApiError(REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action.", 401)
        return secret

    def check_time(self, timestamp: object, recv_window: object) -> None:
        """-1102 for a missing or malformed value, -1021 outside the window."""
        ts = _integer(timestamp)
        if ts is None or ts <= 0:
            raise missing("timestamp")
        window = Decimal(DEFAULT_RECV_WINDOW)
        if recv_window is not None:
            parsed = _number(recv_window)
            if parsed is None or parsed <= 0:
                raise missing("recvWindow")
            if parsed > MAX_RECV_WINDOW:
                raise ApiError(
                    MANDATORY_PARAM_MISSING,
                    f"'recvWindow' contains unexpected value. Cannot be greater than "
                    f"'{MAX_RECV_WINDOW}'.",
                )
            window = parsed
        now = self.now_ms()
        if ts > now + 1000:
            raise ApiError(
                TIMESTAMP_OUTSIDE_RECV_WINDOW,
                "Timestamp for this request was 1000ms ahead of the server's time.",
            )
        if now - ts > window:
            raise ApiError(
                TIMESTAMP_OUTSIDE_RECV_WINDOW,
                "Timestamp for this request is outside of the recvWindow.",
            )

    @staticmethod
    def check_signature(secret: str, payload: str, signature: str | None) -> None:
        if not signature:
            raise missing("signature")
        # compare_digest refuses non-ASCII text (TypeError): check the shape first
        if _HEX_SIGNATURE.fullmatch(signature) is None:
            raise ApiError(INVALID_SIGNATURE, "Signature for this request is not valid.")
        try:
            valid = signing.verify(secret, payload, signature)
        except UnicodeEncodeError:  # a lone surrogate in the payload
            raise illegal_characters() from None
        if not valid:
            raise ApiError(INVALID_SIGNATURE, "Signature for this request is not valid.")


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return None


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    if isinstance(value, str) and (len(value) > 40 or not value.isascii()):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
