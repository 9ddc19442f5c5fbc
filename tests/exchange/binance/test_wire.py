"""Wire shapes added for the REST client and the user data stream, and error translation."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from hedgehog.core.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeUnavailable,
    OrderRejected,
    RejectReason,
    UnknownOrder,
    UnknownSymbol,
)
from hedgehog.core.types import Order, OrderStatus, OrderUpdate, Side
from hedgehog.exchange.base import Balance
from hedgehog.exchange.binance import wire

ORDER = Order(7, "hh-1-BUY", "XRPUSDT", Side.BUY, D("0.43"), D("10"), D("4"), D("1.72"),
              OrderStatus.CANCELED, 1_000, 2_000)  # fmt: skip


def test_a_cancel_answer_keeps_the_original_client_order_id() -> None:
    data = wire.format_cancel_response(ORDER, "cancel-xyz")
    assert data["clientOrderId"] == "cancel-xyz"  # the cancel request's own id, as on Binance
    assert data["origClientOrderId"] == "hh-1-BUY"
    order = wire.parse_cancel_response(data)
    assert order.client_order_id == "hh-1-BUY"
    assert (order.order_id, order.status, order.executed_qty) == (7, OrderStatus.CANCELED, D(4))
    # Without origClientOrderId (e.g. an older simulator), clientOrderId is used.
    assert wire.parse_cancel_response(wire.format_order(ORDER)).client_order_id == "hh-1-BUY"


def test_account_balances_both_ways() -> None:
    balances = {
        "USDT": Balance("USDT", D("10.5"), D("1")),
        "XRP": Balance("XRP", D("0"), D("0")),
    }
    assert wire.parse_balances(wire.format_account(balances)) == balances
    with pytest.raises(wire.WireError):
        wire.parse_balances({"balances": [{"asset": "X", "free": "oops", "locked": "0"}]})
    with pytest.raises(wire.WireError):
        wire.parse_balances({})


def test_server_time_both_ways() -> None:
    assert wire.parse_server_time(wire.format_server_time(1_499_827_319_559)) == 1_499_827_319_559
    with pytest.raises(wire.WireError):
        wire.parse_server_time({"serverTime": "soon"})


def test_an_order_expired_by_self_trade_prevention_is_expired() -> None:
    data = wire.format_order(ORDER) | {"status": "EXPIRED_IN_MATCH"}
    assert wire.parse_order(data).status is OrderStatus.EXPIRED
    update = OrderUpdate(ORDER, D(0), D(0), D(0), "", 5)
    report = wire.format_execution_report(update) | {"X": "EXPIRED_IN_MATCH"}
    assert wire.parse_execution_report(report).order.status is OrderStatus.EXPIRED


def test_websocket_api_envelopes() -> None:
    assert wire.format_ws_result("a", {"subscriptionId": 0}) == {
        "id": "a",
        "status": 200,
        "result": {"subscriptionId": 0},
    }
    assert wire.format_ws_error(3, 400, -1022, "bad") == {
        "id": 3,
        "status": 400,
        "error": {"code": -1022, "msg": "bad"},
    }
    assert wire.format_user_event(2, {"e": "x"}) == {"subscriptionId": 2, "event": {"e": "x"}}


ERRORS = [
    # (HTTP status, code, message, exception, reject reason)
    (400, -2010, wire.INSUFFICIENT_BALANCE_MSG, OrderRejected, RejectReason.INSUFFICIENT_BALANCE),
    (400, -2010, wire.DUPLICATE_ORDER_MSG, OrderRejected, RejectReason.DUPLICATE_CLIENT_ORDER_ID),
    (400, -2010, "Market is closed.", OrderRejected, RejectReason.OTHER),
    (400, -1013, "Filter failure: PRICE_FILTER", OrderRejected, RejectReason.FILTER_FAILURE),
    (400, -2013, wire.NO_SUCH_ORDER_MSG, UnknownOrder, None),
    (400, -2011, wire.UNKNOWN_ORDER_MSG, UnknownOrder, None),
    (400, -2011, "Order was not canceled due to cancel restrictions.", ExchangeError, None),
    (400, -1121, "Invalid symbol.", UnknownSymbol, None),
    (400, -1022, "Signature for this request is not valid.", AuthenticationError, None),
    (401, -2014, "API-key format invalid.", AuthenticationError, None),
    (401, -2015, "Invalid API-key, IP, or permissions for action.", AuthenticationError, None),
    (400, -1021, "Timestamp for this request is outside of the recvWindow.", wire.ClockSkew, None),
    (503, -1001, "Internal error; unable to process your request.", ExchangeUnavailable, None),
    (408, -1007, "Timeout waiting for response from backend server.", ExchangeUnavailable, None),
    (400, -1006, "An unexpected response was received.", ExchangeUnavailable, None),
    (400, -1102, "Mandatory parameter 'price' was not sent.", ExchangeError, None),
]


@pytest.mark.parametrize(("status", "code", "msg", "kind", "reason"), ERRORS)
def test_error_codes_map_to_our_exceptions(
    status: int, code: int, msg: str, kind: type[Exception], reason: RejectReason | None
) -> None:
    with pytest.raises(kind) as info:
        wire.raise_for_error(status, wire.error_body(code, msg))
    assert type(info.value) is kind
    if reason is not None:
        assert isinstance(info.value, OrderRejected) and info.value.reason is reason
