"""The account's history endpoints, REST and WebSocket API alike, with Binance's parameters.

- `my_trades` (`GET /api/v3/myTrades`, `myTrades`): symbol; orderId, startTime, endTime,
  fromId, limit (500, at most 1000). Only Binance's combinations are accepted (-1128
  otherwise); startTime..endTime at most 24 h (-1127). fromId or startTime: the oldest trades
  from there on; otherwise the most recent ones, oldest first.
- `all_orders` (`GET /api/v3/allOrders`, `allOrders`): symbol; orderId (orders with an id >=
  it), startTime, endTime (by creation time), limit. Orders are shown as `GET /api/v3/order`
  shows them, without commission.
- `commission` (`GET /api/v3/account/commission`), `account` (`GET /api/v3/account`, with
  `omitZeroBalances`).

Parameters arrive as strings (REST) or JSON values made strings (WS API).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from hedgehog.exchange.binance.wire import format_my_trade
from hedgehog.simulator.auth import ApiError
from hedgehog.simulator.orders import ILLEGAL_CHARS, OrderDesk
from hedgehog.simulator.user_data import account_commission

BAD_COMBINATION = -1128
TOO_LONG = -1127
INVALID_PARAMETER = -1130
DAY_MS = 86_400_000
_LONG = re.compile(r"[0-9]{1,20}")
_TRADE_COMBINATIONS = {
    frozenset(), frozenset({"orderId"}), frozenset({"startTime"}), frozenset({"endTime"}),
    frozenset({"fromId"}), frozenset({"startTime", "endTime"}),
    frozenset({"orderId", "fromId"}),
}  # fmt: skip
T = TypeVar("T")


def _long(params: Mapping[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if _LONG.fullmatch(value) is None:
        raise ApiError(ILLEGAL_CHARS, f"Illegal characters found in parameter '{name}'; legal "
                                      "range is '^[0-9]{1,20}$'.")  # fmt: skip
    return int(value)


def _limit(params: Mapping[str, str], default: int = 500, maximum: int = 1000) -> int:
    value = _long(params, "limit")
    if value is None:
        return default
    if value < 1:
        raise ApiError(INVALID_PARAMETER, "Data sent for parameter 'limit' is not valid.")
    return min(value, maximum)


def _window(params: Mapping[str, str]) -> tuple[int | None, int | None]:
    start, end = _long(params, "startTime"), _long(params, "endTime")
    if start is not None and end is not None and end - start > DAY_MS:
        raise ApiError(TOO_LONG, "More than 24 hours between startTime and endTime.")
    return start, end


def _page(rows: Sequence[T], oldest: bool, limit: int) -> list[T]:
    return list(rows[:limit] if oldest else rows[-limit:])


class AccountQueries:
    """The account's trades, orders, commission and balances, over one `OrderDesk`."""

    def __init__(self, desk: OrderDesk) -> None:
        self.desk, self.market = desk, desk.market

    def _symbol(self, params: Mapping[str, str]) -> str:
        symbol = self.desk.symbol(params)
        assert symbol is not None
        return symbol

    def my_trades(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        symbol = self._symbol(params)
        given = frozenset(n for n in ("orderId", "startTime", "endTime", "fromId") if params.get(n))
        if given not in _TRADE_COMBINATIONS:
            raise ApiError(BAD_COMBINATION, "Combination of optional parameters invalid.")
        order_id, from_id = _long(params, "orderId"), _long(params, "fromId")
        start, end = _window(params)
        limit = _limit(params)
        fills = self.market.engine.fills(symbol, order_id)
        if order_id is not None:
            fills.sort(key=lambda f: (f.trade_id, f.order_id))
        rows = [
            f for f in fills
            if (from_id is None or f.trade_id >= from_id)
            and (start is None or f.time >= start)
            and (end is None or f.time <= end)
        ]  # fmt: skip
        oldest = from_id is not None or start is not None
        return [format_my_trade(f) for f in _page(rows, oldest, limit)]

    def all_orders(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        symbol = self._symbol(params)
        order_id = _long(params, "orderId")
        start, end = _window(params)
        limit = _limit(params)
        rows = [
            o for o in self.market.engine.ledger()
            if o.symbol == symbol
            and (order_id is None or o.order_id >= order_id)
            and (start is None or o.time >= start)
            and (end is None or o.time <= end)
        ]  # fmt: skip
        oldest = order_id is not None or start is not None
        return [self.desk.show(o) for o in _page(rows, oldest, limit)]

    def commission(self, params: Mapping[str, str]) -> dict[str, Any]:
        return account_commission(self.market.rules, self._symbol(params))

    def account(self, params: Mapping[str, str]) -> dict[str, Any]:
        omit = (params.get("omitZeroBalances") or "false").lower()
        if omit not in ("true", "false"):
            msg = "Illegal characters found in parameter 'omitZeroBalances'; legal range is "
            raise ApiError(ILLEGAL_CHARS, msg + "'true, false'.")
        return self.market.account(omit_zero=omit == "true")
