"""Binance's wire formats, both ways: JSON <-> hedgehog's domain types.

The REST client and the user data stream parse with these functions; the local simulator
formats with them, so both sides of every test speak exactly the same shapes. Field names and
meanings follow Binance's spot API docs (REST `/api/v3/order`, the `trade` stream event and the
`executionReport` user data event). Parsing raises `WireError` on a malformed payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from hedgehog.core.decimals import ZERO, to_decimal
from hedgehog.core.errors import ExchangeUnavailable as ExchangeUnavailable  # read via `wire.`
from hedgehog.core.types import Fill, Order, OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.exchange.base import Balance

# Binance's error codes, `WireError`, `ClockSkew`, `error_body` and `raise_for_error` live in
# `api_errors`; this keeps every one of them importable from here, as before.
from hedgehog.exchange.binance.api_errors import *  # noqa: F403
from hedgehog.exchange.binance.api_errors import WireError, error_body


def _dec(data: Mapping[str, Any], key: str) -> Decimal:
    try:
        return to_decimal(data[key], key)
    except (KeyError, TypeError, ValueError) as exc:
        raise WireError(f"bad or missing {key!r} in {dict(data)!r:.200}") from exc


def _int(data: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireError(f"bad or missing {key!r} in {dict(data)!r:.200}")
    return value


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise WireError(f"bad or missing {key!r} in {dict(data)!r:.200}")
    return value


# Statuses Binance may report that hedgehog folds into its own: an order expired by self-trade
# prevention (STP) is, for a trader, an expired order.
_STATUS_ALIASES = {"EXPIRED_IN_MATCH": OrderStatus.EXPIRED}


def _enum(data: Mapping[str, Any], key: str, kind: type[Side] | type[OrderStatus]) -> Any:
    value = data.get(key)
    if kind is OrderStatus and value in _STATUS_ALIASES:
        return _STATUS_ALIASES[value]
    try:
        return kind(str(value))
    except ValueError:
        raise WireError(f"unknown {key!r} value {value!r}") from None


# -- public trade stream ---------------------------------------------------------------------
def parse_trade(data: Mapping[str, Any]) -> TradeEvent:
    """A `<symbol>@trade` stream event (`"e": "trade"`)."""
    if data.get("e") != "trade":
        raise WireError(f"not a trade event: {dict(data)!r:.200}")
    return TradeEvent(
        symbol=_str(data, "s"),
        trade_id=_int(data, "t"),
        price=_dec(data, "p"),
        quantity=_dec(data, "q"),
        trade_time=_int(data, "T"),
        buyer_market_maker=bool(data.get("m", False)),
        event_time=_int(data, "E", 0),
    )


def format_trade(trade: TradeEvent) -> dict[str, Any]:
    return {
        "e": "trade",
        "E": trade.event_time or trade.trade_time,
        "s": trade.symbol,
        "t": trade.trade_id,
        "p": format(trade.price, "f"),
        "q": format(trade.quantity, "f"),
        "T": trade.trade_time,
        "m": trade.buyer_market_maker,
        "M": True,
    }


# -- orders ----------------------------------------------------------------------------------
def parse_order(data: Mapping[str, Any]) -> Order:
    """An order object of `POST/GET/DELETE /api/v3/order` or `GET /api/v3/openOrders`."""
    time = data.get("time", data.get("transactTime", 0))
    return Order(
        order_id=_int(data, "orderId"),
        client_order_id=_str(data, "clientOrderId"),
        symbol=_str(data, "symbol"),
        side=_enum(data, "side", Side),
        price=_dec(data, "price"),
        orig_qty=_dec(data, "origQty"),
        executed_qty=_dec(data, "executedQty"),
        cumulative_quote_qty=_dec(data, "cummulativeQuoteQty"),
        status=_enum(data, "status", OrderStatus),
        time=time if isinstance(time, int) else 0,
        update_time=_int(data, "updateTime", time if isinstance(time, int) else 0),
        order_type=str(data.get("type") or "LIMIT"),
        time_in_force=str(data.get("timeInForce") or "GTC"),
    )


def shown_price(order: Order) -> str:
    """An order's `price` as Binance shows it: a MARKET order has none ("0.00000000"; the
    matching engine keeps its fill price there, `cummulativeQuoteQty` says what it made)."""
    return MARKET_PRICE if order.order_type == "MARKET" else format(order.price, "f")


MARKET_PRICE = "0.00000000"


def format_order(order: Order, *, transact: bool = False) -> dict[str, Any]:
    """An order as Binance shows it (`transact=True`: the shape of a new-order RESULT)."""
    data: dict[str, Any] = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": shown_price(order),
        "origQty": format(order.orig_qty, "f"),
        "executedQty": format(order.executed_qty, "f"),
        "cummulativeQuoteQty": format(order.cumulative_quote_qty, "f"),
        "status": order.status.value,
        "timeInForce": order.time_in_force or "GTC",
        "type": order.order_type,
        "side": order.side.value,
    }
    if transact:
        data["transactTime"] = order.time
        data["workingTime"] = order.time
    else:
        data.update(
            stopPrice="0",
            icebergQty="0",
            time=order.time,
            updateTime=order.update_time,
            isWorking=True,
            workingTime=order.time,
            origQuoteOrderQty="0",
        )
    data["selfTradePreventionMode"] = "NONE"
    return data


def parse_cancel_response(data: Mapping[str, Any]) -> Order:
    """The answer of `DELETE /api/v3/order`.

    There `clientOrderId` is the id of the cancel request itself and `origClientOrderId` the
    cancelled order's own client id, which is the one hedgehog keeps.
    """
    original = data.get("origClientOrderId")
    if isinstance(original, str) and original:
        data = {**data, "clientOrderId": original}
    return parse_order(data)


def format_cancel_response(order: Order, cancel_client_order_id: str = "") -> dict[str, Any]:
    """A cancelled order as `DELETE /api/v3/order` shows it."""
    data = format_order(order, transact=True)
    del data["workingTime"]
    data["origClientOrderId"] = order.client_order_id
    data["clientOrderId"] = cancel_client_order_id or f"cancel-{order.order_id}"
    data["transactTime"] = order.update_time or order.time
    data["origQuoteOrderQty"] = "0"
    return data


def parse_my_trade(data: Mapping[str, Any]) -> Fill:
    """One element of `GET /api/v3/myTrades` (or the WS API's `myTrades`)."""
    return Fill(
        symbol=_str(data, "symbol"),
        order_id=_int(data, "orderId"),
        trade_id=_int(data, "id"),
        side=Side.BUY if data.get("isBuyer") else Side.SELL,
        price=_dec(data, "price"),
        qty=_dec(data, "qty"),
        quote_qty=_dec(data, "quoteQty"),
        commission=_dec(data, "commission"),
        commission_asset=_str(data, "commissionAsset"),
        time=_int(data, "time", 0),
        is_maker=bool(data.get("isMaker", False)),
    )


def format_my_trade(fill: Fill) -> dict[str, Any]:
    """A fill as `GET /api/v3/myTrades` shows it."""
    return {
        "symbol": fill.symbol,
        "id": fill.trade_id,
        "orderId": fill.order_id,
        "orderListId": -1,
        "price": format(fill.price, "f"),
        "qty": format(fill.qty, "f"),
        "quoteQty": format(fill.quote_qty, "f"),
        "commission": format(fill.commission, "f"),
        "commissionAsset": fill.commission_asset,
        "time": fill.time,
        "isBuyer": fill.side is Side.BUY,
        "isMaker": fill.is_maker,
        "isBestMatch": True,
    }


# -- account and server time -----------------------------------------------------------------
def parse_balances(data: Mapping[str, Any]) -> dict[str, Balance]:
    """The `balances` of a `GET /api/v3/account` answer, keyed by asset."""
    rows = data.get("balances")
    if not isinstance(rows, list):
        raise WireError(f"no 'balances' list in {dict(data)!r:.200}")
    result: dict[str, Balance] = {}
    for row in rows:
        if not isinstance(row, Mapping):
            raise WireError(f"bad balance entry {row!r:.200}")
        asset = _str(row, "asset")
        result[asset] = Balance(asset, _dec(row, "free"), _dec(row, "locked"))
    return result


def format_account(balances: Mapping[str, Balance], update_time: int = 0) -> dict[str, Any]:
    """A `GET /api/v3/account` answer holding `balances` (the fields hedgehog reads, and a few)."""
    return {
        "makerCommission": 10,
        "takerCommission": 10,
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "updateTime": update_time,
        "accountType": "SPOT",
        "balances": [
            {"asset": b.asset, "free": format(b.free, "f"), "locked": format(b.locked, "f")}
            for b in balances.values()
        ],
        "permissions": ["SPOT"],
    }


def parse_server_time(data: Mapping[str, Any]) -> int:
    """`GET /api/v3/time`: the server's clock in milliseconds."""
    return _int(data, "serverTime")


def format_server_time(ms: int) -> dict[str, Any]:
    return {"serverTime": ms}


# -- user data stream ------------------------------------------------------------------------
def parse_execution_report(data: Mapping[str, Any]) -> OrderUpdate:
    """An `executionReport` event of the user data stream."""
    if data.get("e") != "executionReport":
        raise WireError(f"not an executionReport: {dict(data)!r:.200}")
    executed = _dec(data, "z")
    order = Order(
        order_id=_int(data, "i"),
        client_order_id=_original_client_id(data),
        symbol=_str(data, "s"),
        side=_enum(data, "S", Side),
        price=_dec(data, "p"),
        orig_qty=_dec(data, "q"),
        executed_qty=executed,
        cumulative_quote_qty=_dec(data, "Z"),
        status=_enum(data, "X", OrderStatus),
        time=_int(data, "O", 0),
        update_time=_int(data, "T", 0),
        order_type=str(data.get("o") or "LIMIT"),
        time_in_force=str(data.get("f") or "GTC"),
    )
    commission_asset = data.get("N")
    trade_id = data.get("t")
    return OrderUpdate(
        order=order,
        last_qty=_dec(data, "l"),
        last_price=_dec(data, "L"),
        commission=_dec(data, "n") if data.get("n") is not None else ZERO,
        commission_asset=commission_asset if isinstance(commission_asset, str) else "",
        event_time=_int(data, "E", 0),
        trade_id=trade_id if isinstance(trade_id, int) and data.get("x") == "TRADE" else -1,
        is_maker=bool(data.get("m", False)) if data.get("x") == "TRADE" else True,
    )


def _original_client_id(data: Mapping[str, Any]) -> str:
    # On a cancel, "c" is the cancel request's id and "C" the original order's client id.
    original = data.get("C")
    if data.get("X") == "CANCELED" and isinstance(original, str) and original:
        return original
    return _str(data, "c")


def format_execution_report(update: OrderUpdate, trade_id: int | None = None) -> dict[str, Any]:
    """An `executionReport`: `t` is the fill's trade (-1 for a status change)."""
    o = update.order
    if trade_id is None:
        trade_id = update.trade_id
    fill = update.last_qty > 0
    execution = "TRADE" if update.last_qty > 0 else o.status.value
    if execution == "PARTIALLY_FILLED":
        execution = "TRADE"
    return {
        "e": "executionReport",
        "E": update.event_time,
        "s": o.symbol,
        "c": o.client_order_id,
        "S": o.side.value,
        "o": o.order_type,
        "f": o.time_in_force or "GTC",
        "q": format(o.orig_qty, "f"),
        "p": shown_price(o),
        "P": "0",
        "F": "0",
        "g": -1,
        "C": "",
        "x": execution,
        "X": o.status.value,
        "r": "NONE",
        "i": o.order_id,
        "l": format(update.last_qty, "f"),
        "z": format(o.executed_qty, "f"),
        "L": format(update.last_price, "f"),
        "n": format(update.commission, "f"),
        "N": update.commission_asset or None,
        "T": o.update_time,
        "t": trade_id,
        "I": 0,
        "w": o.status.is_open,
        "m": update.is_maker if fill else False,
        "M": False,
        "O": o.time,
        "Z": format(o.cumulative_quote_qty, "f"),
        "Y": format(update.last_qty * update.last_price, "f"),
        "Q": "0",
        "W": o.time,
        "V": "NONE",
    }


# -- WebSocket API envelopes -----------------------------------------------------------------
def format_ws_result(request_id: object, result: Any) -> dict[str, Any]:
    """A successful WebSocket API answer (`status` 200)."""
    return {"id": request_id, "status": 200, "result": result}


def format_ws_error(request_id: object, status: int, code: int, msg: str) -> dict[str, Any]:
    """A failed WebSocket API answer: `status` as in HTTP, `error` as in REST error bodies."""
    return {"id": request_id, "status": status, "error": error_body(code, msg)}


def format_user_event(subscription_id: int, event: Mapping[str, Any]) -> dict[str, Any]:
    """A user data stream event as the WebSocket API delivers it to a subscription."""
    return {"subscriptionId": subscription_id, "event": dict(event)}
