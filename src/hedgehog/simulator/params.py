"""Parameters of the public market-data requests, checked with Binance's codes and messages.

Missing mandatory -> -1102; malformed -> -1100 ("Illegal characters found in parameter ...");
an unknown symbol -> -1121 "Invalid symbol."; `symbol` with `symbols` -> -1128; a repeated
parameter -> -1101. A `limit` above the endpoint's maximum is cut to it, as Binance does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from urllib.parse import parse_qsl

from aiohttp import web

from hedgehog.exchange.binance.wire import BAD_SYMBOL
from hedgehog.simulator.auth import ApiError, missing

ILLEGAL = -1100
DUPLICATE = -1101
BAD_INTERVAL = -1120
BAD_COMBINATION = -1128
INVALID_PARAMETER = -1130
_SYMBOL = re.compile(r"[A-Z0-9-_.]{1,20}")
_SYMBOLS_RANGE = r'^\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\]$'
_INTEGER = re.compile(r"[0-9]{1,20}")


def illegal(name: str, legal: str) -> ApiError:
    return ApiError(ILLEGAL, f"Illegal characters found in parameter '{name}'; legal range is "
                             f"'{legal}'.")  # fmt: skip


def invalid_symbol() -> ApiError:
    return ApiError(BAD_SYMBOL, "Invalid symbol.")


class Query:
    """The query string of one request, and typed access to its parameters."""

    def __init__(self, request: web.Request, known: Collection[str]) -> None:
        pairs = parse_qsl(request.raw_path.partition("?")[2], keep_blank_values=True)
        if len({k for k, _ in pairs}) != len(pairs):
            raise ApiError(DUPLICATE, "Duplicate values for a parameter detected.")
        self.values = dict(pairs)
        self.known = known

    def text(self, name: str) -> str | None:
        """The parameter, None when absent or empty (Binance treats both alike)."""
        return self.values.get(name) or None

    def symbol(self) -> str:
        """The mandatory `symbol`, a served one."""
        symbol = self.text("symbol")
        if symbol is None:
            raise missing("symbol")
        return self._served(symbol)

    def symbols(self) -> tuple[list[str], bool]:
        """The symbols of a ticker request (`symbol`, `symbols` or all) and whether a single
        `symbol` was asked (then the answer is an object, not a list)."""
        symbol, listed = self.text("symbol"), self.text("symbols")
        if symbol is not None and listed is not None:
            raise ApiError(BAD_COMBINATION, "Combination of optional parameters invalid.")
        if symbol is not None:
            return [self._served(symbol)], True
        if listed is None:
            return list(self.known), False
        try:
            names = json.loads(listed)
        except ValueError:
            names = None
        if not isinstance(names, list) or not all(
            isinstance(n, str) and _SYMBOL.fullmatch(n) for n in names
        ):
            raise illegal("symbols", _SYMBOLS_RANGE)
        if any(n not in self.known for n in names):
            raise invalid_symbol()
        return list(dict.fromkeys(names)), False

    def integer(self, name: str) -> int | None:
        text = self.text(name)
        if text is None:
            return None
        if not _INTEGER.fullmatch(text):
            raise illegal(name, "^[0-9]{1,20}$")
        return int(text)

    def limit(self, default: int, maximum: int) -> int:
        value = self.integer("limit")
        if value is None:
            return default
        if value < 1:
            raise ApiError(INVALID_PARAMETER, "Data sent for parameter 'limit' is not valid.")
        return min(value, maximum)

    def choice(self, name: str, choices: Collection[str], default: str) -> str:
        value = self.text(name)
        if value is None:
            return default
        if value not in choices:
            raise illegal(name, ", ".join(choices))
        return value

    def _served(self, symbol: str) -> str:
        if not _SYMBOL.fullmatch(symbol):
            raise illegal("symbol", "^[A-Z0-9-_.]{1,20}$")
        if symbol not in self.known:
            raise invalid_symbol()
        return symbol
