"""Order requests: Binance's parameters validated in Binance's order, answered in its shapes.

LIMIT (GTC, IOC, FOK), MARKET (`quantity` or `quoteOrderQty`) and LIMIT_MAKER orders exist in
the matching engine; the stop and take-profit types are refused with -1020 (unsupported
operation) rather than silently treated as something else. The symbol's filters are checked
first (`filters.OrderFilters`, -1013 "Filter failure: NAME"), then the engine decides
(balance, duplicate client id, LIMIT_MAKER that would take: -2010). `POST /api/v3/order/test`
runs the same checks up to the engine, as Binance's test order does.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from hedgehog.core.errors import OrderRejected, RejectReason, UnknownOrder
from hedgehog.core.types import Order, Side
from hedgehog.exchange.binance.wire import (
    BAD_SYMBOL,
    DUPLICATE_ORDER_MSG,
    FILTER_FAILURE,
    INSUFFICIENT_BALANCE_MSG,
    NEW_ORDER_REJECTED,
    NO_SUCH_ORDER,
    NO_SUCH_ORDER_MSG,
    format_order,
)
from hedgehog.simulator.auth import ApiError, missing
from hedgehog.simulator.filters import OrderFilters, OrderRequest
from hedgehog.simulator.market import Market
from hedgehog.simulator.user_data import order_commission

ILLEGAL_CHARS = -1100
BAD_PRECISION = -1111
INVALID_TIF = -1115
INVALID_ORDER_TYPE = -1116
INVALID_SIDE = -1117
INVALID_PARAMETER = -1130
UNSUPPORTED = -1020
CANCEL_REJECTED = -2011
UNKNOWN_ORDER_MSG = "Unknown order sent."

_SYMBOL = (re.compile(r"[A-Z0-9._-]{1,20}"), r"^[A-Z0-9-_.]{1,20}$")
_NUMBER = (re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?"), r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_CLIENT_ID = (re.compile(r"[A-Za-z0-9_-]{1,36}"), r"^[a-zA-Z0-9-_]{1,36}$")
_ORDER_ID = (re.compile(r"[0-9]{1,20}"), r"^[0-9]{1,20}$")
_OTHER_TYPES = {"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"}
WOULD_TAKE_MSG = "Order would immediately match and take."
MARKET_CLOSED_MSG = "Market is closed."


def _matching(params: Mapping[str, str], name: str, rule: tuple[re.Pattern[str], str]) -> str:
    value = params.get(name)
    if not value:
        raise missing(name)
    if rule[0].fullmatch(value) is None:
        raise ApiError(
            ILLEGAL_CHARS,
            f"Illegal characters found in parameter '{name}'; legal range is '{rule[1]}'.",
        )
    return value


class OrderDesk:
    """The order endpoints' logic over a `Market` (shared by REST and the WebSocket API)."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.filters = OrderFilters(market)
        self.quote_orders: dict[int, str] = {}  # MARKET orders by quote: origQuoteOrderQty
        self._ids = itertools.count(1)

    def symbol(self, params: Mapping[str, str], required: bool = True) -> str | None:
        if not required and not params.get("symbol"):
            return None
        symbol = _matching(params, "symbol", _SYMBOL)
        if symbol not in self.market.symbols:
            raise ApiError(BAD_SYMBOL, "Invalid symbol.")
        return symbol

    def _auto_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}sim{self.market.now_ms()}"[:36]

    def parse(self, params: Mapping[str, str]) -> OrderRequest:
        """Check a new order's parameters in Binance's order; raises `ApiError`."""
        symbol = self.symbol(params)
        assert symbol is not None
        side = params.get("side") or ""
        if not side:
            raise missing("side")
        if side not in ("BUY", "SELL"):
            raise ApiError(INVALID_SIDE, "Invalid side.")
        kind = params.get("type") or ""
        if not kind:
            raise missing("type")
        if kind not in ("LIMIT", "MARKET", "LIMIT_MAKER"):
            if kind in _OTHER_TYPES:
                raise ApiError(UNSUPPORTED, f"This operation is not supported ({kind} orders).")
            raise ApiError(INVALID_ORDER_TYPE, "Invalid orderType.")
        tif = "GTC" if kind == "LIMIT_MAKER" else ""  # the engine shows LIMIT_MAKER's as ""
        if kind == "LIMIT":
            tif = params.get("timeInForce") or ""
            if not tif:
                raise missing("timeInForce")
            if tif not in ("GTC", "IOC", "FOK"):
                raise ApiError(INVALID_TIF, "Invalid timeInForce.")
        qty: Decimal | None = None
        quote_qty: Decimal | None = None
        price: Decimal | None = None
        if kind == "MARKET":
            if params.get("quantity"):
                qty = self._amount(params, "quantity")
            elif params.get("quoteOrderQty"):
                quote_qty = self._amount(params, "quoteOrderQty")
            else:
                raise ApiError(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but "
                                      "both were empty/null!")  # fmt: skip
        else:
            qty, price = self._amount(params, "quantity"), self._amount(params, "price")
        client_id = params.get("newClientOrderId") or ""
        client_id = _matching(params, "newClientOrderId", _CLIENT_ID) if client_id else ""
        respond = params.get("newOrderRespType") or ("FULL" if kind != "LIMIT_MAKER" else "ACK")
        if respond not in ("ACK", "RESULT", "FULL"):
            raise ApiError(INVALID_PARAMETER, "Data sent for parameter 'newOrderRespType' is "
                                              "not valid.")  # fmt: skip
        return OrderRequest(symbol, Side(side), kind, tif, qty, quote_qty, price, client_id,
                            respond)  # fmt: skip

    def check_filters(self, request: OrderRequest) -> None:
        """The symbol's filters, as Binance checks them before the matching engine (-1013)."""
        failed = self.filters.check(request)
        if failed is not None:
            raise ApiError(FILTER_FAILURE, f"Filter failure: {failed}")

    def test(self, params: Mapping[str, str]) -> dict[str, Any]:
        """`POST /api/v3/order/test`: parameters and filters checked, nothing placed."""
        compute = (params.get("computeCommissionRates") or "false").lower()
        if compute not in ("true", "false"):
            raise ApiError(ILLEGAL_CHARS, "Illegal characters found in parameter "
                                          "'computeCommissionRates'; legal range is "
                                          "'true, false'.")  # fmt: skip
        self.check_filters(self.parse(params))
        return order_commission(self.market.rules) if compute == "true" else {}

    def place(self, params: Mapping[str, str]) -> dict[str, Any]:
        """`POST /api/v3/order`: the ACK, RESULT or FULL answer; raises `ApiError`."""
        r = self.parse(params)
        self.check_filters(r)
        symbol, quote_qty = r.symbol, r.quote_qty
        try:
            order, updates = self.market.place(
                symbol, r.side, r.kind, r.qty, r.client_id or self._auto_id("x"), r.price,
                r.time_in_force, quote_qty,
            )  # fmt: skip
        except OrderRejected as exc:
            raise self._rejected(symbol, exc) from None
        if quote_qty is not None:
            self.quote_orders[order.order_id] = format(quote_qty, "f")
        if r.respond == "ACK":
            return {"symbol": symbol, "orderId": order.order_id, "orderListId": -1,
                    "clientOrderId": order.client_order_id, "transactTime": order.time}  # fmt: skip
        body = {**format_order(order, transact=True), "origQuoteOrderQty": "0"}
        if quote_qty is not None:
            body["origQuoteOrderQty"] = format(quote_qty, "f")
        if r.respond != "FULL":
            return body
        fills = [
            {"price": format(u.last_price, "f"), "qty": format(u.last_qty, "f"),
             "commission": format(u.commission, "f"), "commissionAsset": u.commission_asset,
             "tradeId": u.trade_id}
            for u in updates if u.last_qty > 0
        ]  # fmt: skip
        return {**body, "fills": fills}

    def show(self, order: Order) -> dict[str, Any]:
        """An order as `GET /api/v3/order`, `openOrders` and `allOrders` show it (no
        commission, as Binance; `origQuoteOrderQty` of a MARKET order by quote)."""
        data = format_order(order)
        quote = self.quote_orders.get(order.order_id)
        if quote is not None:
            data["origQuoteOrderQty"] = quote
        return data

    def _amount(self, params: Mapping[str, str], name: str) -> Decimal:
        value = Decimal(_matching(params, name, _NUMBER))
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < -8:
            raise ApiError(BAD_PRECISION, f"Parameter '{name}' has too much precision.")
        return value

    def _rejected(self, symbol: str, exc: OrderRejected) -> ApiError:
        if exc.reason is RejectReason.FILTER_FAILURE:
            name = self.market.filter_name(symbol, exc.detail)
            return ApiError(FILTER_FAILURE, f"Filter failure: {name}")
        if exc.reason is RejectReason.INSUFFICIENT_BALANCE:
            return ApiError(NEW_ORDER_REJECTED, INSUFFICIENT_BALANCE_MSG)
        if exc.reason is RejectReason.DUPLICATE_CLIENT_ORDER_ID:
            return ApiError(NEW_ORDER_REJECTED, DUPLICATE_ORDER_MSG)
        if exc.reason is RejectReason.WOULD_TAKE:
            return ApiError(NEW_ORDER_REJECTED, WOULD_TAKE_MSG)
        if "no trade yet" in exc.detail:
            return ApiError(NEW_ORDER_REJECTED, MARKET_CLOSED_MSG)
        return ApiError(NEW_ORDER_REJECTED, exc.detail or "NEW_ORDER_REJECTED")

    def _ids_of(self, params: Mapping[str, str]) -> tuple[str | None, int | None]:
        client_id = params.get("origClientOrderId") or None
        order_id = int(_matching(params, "orderId", _ORDER_ID)) if params.get("orderId") else None
        if client_id is None and order_id is None:
            raise ApiError(
                -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were "
                       "empty/null!"
            )  # fmt: skip
        return client_id, order_id

    def query(self, params: Mapping[str, str]) -> dict[str, Any]:
        """`GET /api/v3/order`; -2013 when no such order."""
        symbol = self.symbol(params)
        assert symbol is not None
        client_id, order_id = self._ids_of(params)
        try:
            order = self.market.engine.get(symbol, client_order_id=client_id, order_id=order_id)
        except UnknownOrder:
            raise ApiError(NO_SUCH_ORDER, NO_SUCH_ORDER_MSG) from None
        return self.show(order)

    def cancel(self, params: Mapping[str, str]) -> dict[str, Any]:
        """`DELETE /api/v3/order`; -2011 "Unknown order sent." when not open, as Binance."""
        symbol = self.symbol(params)
        assert symbol is not None
        client_id, order_id = self._ids_of(params)
        cancel_id = params.get("newClientOrderId") or ""
        if cancel_id:
            _matching(params, "newClientOrderId", _CLIENT_ID)
        cancel_id = cancel_id or self._auto_id("c")
        try:
            order = self.market.cancel(symbol, cancel_id, client_id, order_id)
        except UnknownOrder:
            raise ApiError(CANCEL_REJECTED, UNKNOWN_ORDER_MSG) from None
        return canceled_shape(order, cancel_id)

    def open_orders(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        symbol = self.symbol(params, required=False)
        return [self.show(o) for o in self.market.engine.open_orders(symbol)]


def canceled_shape(order: Order, cancel_id: str) -> dict[str, Any]:
    """The answer of `DELETE /api/v3/order`: `clientOrderId` is the cancel's own id."""
    data = format_order(order, transact=True)
    data.pop("workingTime", None)
    data.pop("orderListId", None)
    data["transactTime"] = order.update_time
    return {"symbol": data.pop("symbol"), "origClientOrderId": data.pop("clientOrderId"),
            "orderId": data.pop("orderId"), "orderListId": -1, "clientOrderId": cancel_id,
            **data}  # fmt: skip
