"""The simulator's REST API: Binance's endpoints, shapes, error codes, signatures and headers."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hedgehog.core.errors import OrderRejected, RejectReason
from hedgehog.exchange.binance import wire
from hedgehog.exchange.binance.signing import encode_query, hmac_signature
from hedgehog.market.synthetic import synthetic_exchange_info
from hedgehog.simulator import start_simulator
from hedgehog.simulator.limits import Limits, rest_weight

from .conftest import Api, now_ms


async def test_ping_time_and_weight_header(api: Api) -> None:
    status, body, headers = await api.get("/api/v3/ping")
    assert (status, body, headers["X-MBX-USED-WEIGHT-1M"]) == (200, {}, "1")
    before = now_ms()
    status, body, headers = await api.get("/api/v3/time")
    assert status == 200 and abs(body["serverTime"] - before) < 5_000
    assert headers["X-MBX-USED-WEIGHT-1M"] == "2"


async def test_exchange_info_lists_the_served_symbols(api: Api) -> None:
    status, body, headers = await api.get("/api/v3/exchangeInfo")
    assert status == 200 and headers["X-MBX-USED-WEIGHT-1M"] == "20"
    assert [s["symbol"] for s in body["symbols"]] == ["XRPUSDT", "ETHUSDT"]
    assert {f["filterType"] for f in body["symbols"][0]["filters"]} >= {"PRICE_FILTER", "LOT_SIZE"}
    assert body["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
    status, body, _ = await api.get("/api/v3/exchangeInfo", symbol="ETHUSDT")
    assert [s["symbol"] for s in body["symbols"]] == ["ETHUSDT"]
    status, body, _ = await api.get("/api/v3/exchangeInfo", symbol="DOGEUSDT")
    assert (status, body["code"]) == (400, -1121)


async def test_exchange_info_from_a_saved_answer(tmp_path: Path) -> None:
    path = tmp_path / "info.json"
    info = synthetic_exchange_info(["XRPUSDT", "BTCUSDT", "ETHUSDT"], tick="0.001")
    path.write_text(json.dumps(info))
    sim = await start_simulator(symbols=["BTCUSDT"], exchange_info=path)
    try:
        assert sim.market.symbols == ["BTCUSDT"]
        assert sim.engine.filters("BTCUSDT").tick_size == Decimal("0.001")
        assert [s["symbol"] for s in sim.market.exchange_info["symbols"]] == ["BTCUSDT"]
    finally:
        await sim.close()


@pytest.mark.parametrize("kind", ["ACK", "RESULT", "FULL"])
async def test_new_order_answers(api: Api, kind: str) -> None:
    status, body, headers = await api.order(newClientOrderId=f"c-{kind}", newOrderRespType=kind)
    assert status == 200, body
    assert body["clientOrderId"] == f"c-{kind}" and body["orderListId"] == -1
    assert headers["X-MBX-ORDER-COUNT-10S"] == "1" and headers["X-MBX-ORDER-COUNT-1D"] == "1"
    if kind == "ACK":
        assert set(body) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    else:
        assert body["status"] == "NEW" and body["price"] == "0.5" and body["origQty"] == "10"
        assert ("fills" in body) is (kind == "FULL")
        order = wire.parse_order(body)
        assert order.client_order_id == f"c-{kind}"


async def test_order_params_in_the_body_and_mixed(api: Api) -> None:
    sim = api.sim
    params = {"symbol": "XRPUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "1.5", "price": "2", "newClientOrderId": "body",
              "timestamp": now_ms()}  # fmt: skip
    body = encode_query(params)
    body += f"&signature={hmac_signature(sim.api_secret, body)}"
    headers = {"X-MBX-APIKEY": sim.api_key}
    status, answer, _ = await api.request("POST", "/api/v3/order", body=body, headers=headers)
    assert status == 200, answer
    # Binance signs query + body concatenated, with nothing in between
    query = encode_query({"symbol": "XRPUSDT", "side": "SELL", "type": "LIMIT"})
    rest = encode_query({"timeInForce": "GTC", "quantity": "1", "price": "3",
                         "newClientOrderId": "mixed", "timestamp": now_ms()})  # fmt: skip
    rest += f"&signature={hmac_signature(sim.api_secret, query + rest)}"
    status, answer, _ = await api.request("POST", "/api/v3/order", query, rest, headers)
    assert status == 200 and answer["clientOrderId"] == "mixed", answer


async def test_query_cancel_open_orders_and_account(api: Api) -> None:
    _, placed, _ = await api.order(newClientOrderId="q1", price="0.4")
    await api.order(newClientOrderId="q2", symbol="ETHUSDT", price="0.3")
    status, body, headers = await api.signed(
        "GET", "/api/v3/order", symbol="XRPUSDT", origClientOrderId="q1"
    )
    assert status == 200 and body["orderId"] == placed["orderId"] and body["status"] == "NEW"
    assert headers["X-MBX-USED-WEIGHT-1M"] == "6"  # 1 + 1 + 4
    status, body, _ = await api.signed(
        "GET", "/api/v3/order", symbol="XRPUSDT", orderId=placed["orderId"]
    )
    assert body["clientOrderId"] == "q1"
    _, open_all, headers = await api.signed("GET", "/api/v3/openOrders")
    assert [o["clientOrderId"] for o in open_all] == ["q1", "q2"]
    assert headers["X-MBX-USED-WEIGHT-1M"] == str(6 + 4 + 80)
    _, open_eth, _ = await api.signed("GET", "/api/v3/openOrders", symbol="ETHUSDT")
    assert [o["clientOrderId"] for o in open_eth] == ["q2"]
    _, account, _ = await api.signed("GET", "/api/v3/account")
    usdt = next(b for b in account["balances"] if b["asset"] == "USDT")
    # 10 * 0.4 * 1.001 + 10 * 0.3 * 1.001 locked
    assert usdt == {"asset": "USDT", "free": "993.00000000", "locked": "7.00000000"}  # no fee
    assert account["accountType"] == "SPOT" and account["canTrade"] is True
    status, body, _ = await api.signed(
        "DELETE", "/api/v3/order", symbol="XRPUSDT", origClientOrderId="q1",
        newClientOrderId="cancel-1",
    )  # fmt: skip
    assert status == 200 and body["status"] == "CANCELED"
    assert body["origClientOrderId"] == "q1" and body["clientOrderId"] == "cancel-1"
    status, body, _ = await api.signed("DELETE", "/api/v3/order", symbol="XRPUSDT", orderId=1)
    assert (status, body) == (400, {"code": -2011, "msg": "Unknown order sent."})
    _, account, _ = await api.signed("GET", "/api/v3/account", omitZeroBalances="true")
    assert {b["asset"] for b in account["balances"]} == {"USDT", "XRP"}


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        ({"symbol": ""}, -1102, "Mandatory parameter 'symbol'"),
        ({"side": ""}, -1102, "Mandatory parameter 'side'"),
        ({"quantity": ""}, -1102, "Mandatory parameter 'quantity'"),
        ({"price": ""}, -1102, "Mandatory parameter 'price'"),
        ({"timeInForce": ""}, -1102, "Mandatory parameter 'timeInForce'"),
        ({"price": "abc"}, -1100, "Illegal characters found in parameter 'price'"),
        ({"quantity": "-1"}, -1100, "Illegal characters found in parameter 'quantity'"),
        ({"price": "0.123456789"}, -1111, "Parameter 'price' has too much precision."),
        ({"newClientOrderId": "a b"}, -1100, "parameter 'newClientOrderId'"),
        ({"symbol": "xrpusdt"}, -1100, "Illegal characters found in parameter 'symbol'"),
        ({"symbol": "DOGEUSDT"}, -1121, "Invalid symbol."),
        ({"side": "HOLD"}, -1117, "Invalid side."),
        ({"type": "FANCY"}, -1116, "Invalid orderType."),
        ({"type": "STOP_LOSS"}, -1020, "This operation is not supported"),
        ({"type": "TAKE_PROFIT_LIMIT"}, -1020, "This operation is not supported"),
        ({"timeInForce": "XYZ"}, -1115, "Invalid timeInForce."),
        ({"newOrderRespType": "ALL"}, -1130, "newOrderRespType"),
        ({"price": "0.50001"}, -1013, "Filter failure: PRICE_FILTER"),
        ({"quantity": "10.05"}, -1013, "Filter failure: LOT_SIZE"),
        ({"quantity": "0.1", "price": "0.5"}, -1013, "Filter failure: NOTIONAL"),
        ({"quantity": "5000"}, -2010, wire.INSUFFICIENT_BALANCE_MSG),
        ({"side": "SELL", "quantity": "100.1", "price": "2"}, -2010, "insufficient balance"),
    ],
)
async def test_order_errors(api: Api, params: dict[str, str], code: int, msg: str) -> None:
    status, body, _ = await api.order(**params)
    assert status == 400 and body["code"] == code, body
    assert msg in body["msg"]
    assert api.sim.engine.stats()["placed"] == 0


async def test_duplicate_client_order_id(api: Api) -> None:
    assert (await api.order(newClientOrderId="dup"))[0] == 200
    status, body, _ = await api.order(newClientOrderId="dup", price="0.4")
    assert (status, body) == (400, {"code": -2010, "msg": "Duplicate order sent."})
    with pytest.raises(OrderRejected) as rejected:
        wire.raise_for_error(status, body)
    assert rejected.value.reason is RejectReason.DUPLICATE_CLIENT_ORDER_ID


async def test_unknown_orders(api: Api) -> None:
    status, body, _ = await api.signed(
        "GET", "/api/v3/order", symbol="XRPUSDT", origClientOrderId="nope"
    )
    assert (status, body) == (400, {"code": -2013, "msg": "Order does not exist."})
    status, body, _ = await api.signed("GET", "/api/v3/order", symbol="XRPUSDT")
    assert status == 400 and body["code"] == -1102 and "orderId" in body["msg"]
    status, body, _ = await api.signed("GET", "/api/v3/openOrders", symbol="NOPE")
    assert body["code"] == -1121


async def test_signature_and_key_failures(api: Api) -> None:
    sim = api.sim
    status, body, _ = await api.signed("GET", "/api/v3/account", secret="wrong")
    assert (status, body["code"]) == (400, -1022)
    status, body, _ = await api.signed("GET", "/api/v3/account", key="unknownKey123")
    assert (status, body["code"]) == (401, -2015)
    status, body, _ = await api.signed("GET", "/api/v3/account", key="bad key!")
    assert (status, body["code"]) == (401, -2014)
    status, body, _ = await api.request("GET", "/api/v3/account", f"timestamp={now_ms()}")
    assert (status, body["code"]) == (401, -2014)  # no X-MBX-APIKEY
    query = f"timestamp={now_ms()}"
    headers = {"X-MBX-APIKEY": sim.api_key}
    status, body, _ = await api.request("GET", "/api/v3/account", query, headers=headers)
    assert body["code"] == -1102 and "signature" in body["msg"]
    # the signature covers the query exactly as sent: re-encoding a value breaks it
    signed = f"{query}&newClientOrderId=a%2Db"
    signature = hmac_signature(sim.api_secret, signed.replace("%2D", "-"))
    status, body, _ = await api.request(
        "GET", "/api/v3/account", f"{signed}&signature={signature}", headers=headers
    )
    assert body["code"] == -1022
    status, body, _ = await api.request(
        "GET", "/api/v3/account", "timestamp=1&timestamp=2&signature=x", headers=headers
    )
    assert body["code"] == -1101


@pytest.mark.parametrize(
    ("timestamp", "extra", "code"),
    [
        (-60_000, {}, -1021),
        (+5_000, {}, -1021),
        (-6_000, {"recvWindow": 10_000}, 200),
        (0, {"recvWindow": 70_000}, -1102),
        (None, {}, -1102),
    ],
)
async def test_timestamps(
    api: Api, timestamp: int | None, extra: dict[str, Any], code: int
) -> None:
    params: dict[str, Any] = dict(extra)
    params["timestamp"] = "" if timestamp is None else now_ms() + timestamp
    status, body, _ = await api.signed("GET", "/api/v3/account", **params)
    assert (status if code == 200 else body["code"]) == code, body


async def test_weight_limit_answers_429() -> None:
    sim = await start_simulator(symbols=["XRPUSDT"], weight_limit=25)
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(session, sim)
            answers = [await api.get("/api/v3/exchangeInfo")]
            answers += [await api.get("/api/v3/ping") for _ in range(10)]
            status, body, headers = answers[-1]
            assert (status, body["code"]) == (429, -1003)
            assert 1 <= int(headers["Retry-After"]) <= 60
            assert int(headers["X-MBX-USED-WEIGHT-1M"]) > 25
    finally:
        await sim.close()


def test_limits_count_weight_per_minute_and_orders() -> None:
    clock = [120.0]
    limits = Limits(weight_limit=30, clock=lambda: clock[0])
    assert limits.spend(20) and limits.spend(10) and not limits.spend(1)
    assert limits.used_weight() == 31 and limits.retry_after() == 60
    clock[0] = 185.0
    assert limits.used_weight() == 0 and limits.spend(1) and limits.retry_after() == 55
    limits.count_order()
    clock[0] = 190.0
    limits.count_order()
    assert limits.order_counts() == (2, 2)
    clock[0] = 199.0
    assert limits.order_counts() == (1, 2)
    assert rest_weight("GET", "/api/v3/openOrders", False) == 80
    assert rest_weight("GET", "/api/v3/openOrders", True) == 6
