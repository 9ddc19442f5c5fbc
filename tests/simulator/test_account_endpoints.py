"""The simulator's signed account endpoints: myTrades, allOrders, order/test, filters."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from hedgehog.exchange.binance import wire
from hedgehog.market.synthetic import synthetic_exchange_info
from hedgehog.simulator import start_simulator

from .conftest import BALANCES, Api


async def place(api: Api, **params: Any) -> tuple[int, Any, dict[str, str]]:
    """`api.order` without the parameters given as None (e.g. timeInForce of MARKET)."""
    base = {"symbol": "XRPUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "10", "price": "0.5"}  # fmt: skip
    merged = {k: v for k, v in {**base, **params}.items() if v is not None}
    return await api.signed("POST", "/api/v3/order", **merged)


INSUFFICIENT = {"code": -2010, "msg": "Account has insufficient balance for requested action."}


async def test_partial_then_full_fill_with_base_commission_in_my_trades(api: Api) -> None:
    status, placed, _ = await api.order(newClientOrderId="b1")
    assert status == 200
    await api.trade("0.5", qty="3")
    _, order, _ = await api.signed("GET", "/api/v3/order", symbol="XRPUSDT", orderId=1)
    assert order["status"] == "PARTIALLY_FILLED" and order["executedQty"] == "3"
    await api.trade("0.5", qty="8")
    _, order, _ = await api.signed("GET", "/api/v3/order", symbol="XRPUSDT", orderId=1)
    assert order["status"] == "FILLED" and "commission" not in str(order)  # as Binance
    status, trades, headers = await api.signed("GET", "/api/v3/myTrades", symbol="XRPUSDT")
    assert status == 200 and headers["X-MBX-USED-WEIGHT-1M"]
    assert [(t["qty"], t["commission"], t["commissionAsset"]) for t in trades] == [
        ("3", "0.003", "XRP"), ("7", "0.007", "XRP")]  # fmt: skip
    first = trades[0]
    assert set(first) == {"symbol", "id", "orderId", "orderListId", "price", "qty", "quoteQty",
                          "commission", "commissionAsset", "time", "isBuyer", "isMaker",
                          "isBestMatch"}  # fmt: skip
    assert first["isBuyer"] is True and first["isMaker"] is True and first["quoteQty"] == "1.5"
    fill = wire.parse_my_trade(first)
    assert fill.order_id == placed["orderId"] and fill.commission == D("0.003")
    _, account, _ = await api.signed("GET", "/api/v3/account", omitZeroBalances="true")
    held = {b["asset"]: D(b["free"]) + D(b["locked"]) for b in account["balances"]}
    assert held == {"XRP": D("109.99"), "USDT": D(995)}  # 10 bought - 0.01 commission


async def test_my_trades_parameters(api: Api) -> None:
    await api.order(newClientOrderId="b1", quantity="4")
    await api.order(newClientOrderId="b2", quantity="4")
    for _ in range(4):
        await api.trade("0.5", qty="2")
    _, trades, _ = await api.signed("GET", "/api/v3/myTrades", symbol="XRPUSDT")
    ids = [t["id"] for t in trades]
    assert len(trades) == 4 and ids == sorted(ids)
    _, last, _ = await api.signed("GET", "/api/v3/myTrades", symbol="XRPUSDT", limit=1)
    assert last == trades[-1:]  # the most recent
    _, page, _ = await api.signed("GET", "/api/v3/myTrades", symbol="XRPUSDT",
                                  fromId=ids[1], limit=2)  # fmt: skip
    assert page == trades[1:3]
    _, of_two, _ = await api.signed("GET", "/api/v3/myTrades", symbol="XRPUSDT", orderId=2)
    assert {t["orderId"] for t in of_two} == {2} and len(of_two) == 2
    start = trades[0]["time"]
    _, timed, _ = await api.signed("GET", "/api/v3/myTrades", symbol="XRPUSDT", startTime=start,
                                   endTime=start + 60_000)  # fmt: skip
    assert timed == trades
    cases = [({"orderId": 1, "startTime": start}, -1128),
             ({"startTime": start, "endTime": start + 86_400_001}, -1127),
             ({"fromId": "x"}, -1100), ({"limit": 0}, -1130), ({}, -1102)]  # fmt: skip
    for extra, code in cases:
        params = {"symbol": "XRPUSDT", **extra} if extra else {}
        status, body, _ = await api.signed("GET", "/api/v3/myTrades", **params)
        assert (status, body["code"]) == (400, code), extra
    status, body, _ = await api.signed("GET", "/api/v3/myTrades", symbol="DOGEUSDT")
    assert body == {"code": -1121, "msg": "Invalid symbol."}


async def test_all_orders_after_a_cancel(api: Api) -> None:
    await api.order(newClientOrderId="keep")
    await api.order(newClientOrderId="drop", price="0.4")
    await api.order(newClientOrderId="eth", symbol="ETHUSDT", price="1")
    status, _, _ = await api.signed("DELETE", "/api/v3/order", symbol="XRPUSDT",
                                    origClientOrderId="drop")  # fmt: skip
    assert status == 200
    status, orders, _ = await api.signed("GET", "/api/v3/allOrders", symbol="XRPUSDT")
    assert status == 200
    assert [(o["clientOrderId"], o["status"]) for o in orders] == [
        ("keep", "NEW"), ("drop", "CANCELED")]  # fmt: skip
    assert all("commission" not in o and o["origQuoteOrderQty"] == "0" for o in orders)
    _, later, _ = await api.signed("GET", "/api/v3/allOrders", symbol="XRPUSDT", orderId=2)
    assert [o["orderId"] for o in later] == [2]
    _, one, _ = await api.signed("GET", "/api/v3/allOrders", symbol="XRPUSDT", limit=1)
    assert [o["clientOrderId"] for o in one] == ["drop"]  # the most recent
    status, body, _ = await api.signed("GET", "/api/v3/allOrders", symbol="XRPUSDT",
                                       startTime=1, endTime=1 + 86_400_001)  # fmt: skip
    assert body["code"] == -1127


async def test_test_order_validates_without_placing(api: Api) -> None:
    status, body, _ = await api.signed(
        "POST", "/api/v3/order/test", symbol="XRPUSDT", side="BUY", type="LIMIT",
        timeInForce="GTC", quantity="100000", price="0.5",
    )  # fmt: skip
    assert (status, body) == (200, {})  # the balance is the matching engine's business
    status, body, headers = await api.signed(
        "POST", "/api/v3/order/test", symbol="XRPUSDT", side="SELL", type="LIMIT",
        timeInForce="GTC", quantity="1", price="2", computeCommissionRates="true",
    )  # fmt: skip
    assert status == 200 and "X-MBX-ORDER-COUNT-10S" not in headers
    assert body == {
        "standardCommissionForOrder": {"maker": "0.00100000", "taker": "0.00100000"},
        "specialCommissionForOrder": {"maker": "0.00000000", "taker": "0.00000000"},
        "taxCommissionForOrder": {"maker": "0.00000000", "taker": "0.00000000"},
        "discount": {"enabledForAccount": False, "enabledForSymbol": True,
                     "discountAsset": "BNB", "discount": "0.00000000"},
    }  # fmt: skip
    status, body, _ = await api.signed(
        "POST", "/api/v3/order/test", symbol="XRPUSDT", side="BUY", type="LIMIT",
        timeInForce="GTC", quantity="10", price="0.50001",
    )  # fmt: skip
    assert (status, body) == (400, {"code": -1013, "msg": "Filter failure: PRICE_FILTER"})
    status, body, _ = await api.signed("POST", "/api/v3/order/test", symbol="XRPUSDT",
                                       side="BUY", type="LIMIT")  # fmt: skip
    assert body["code"] == -1102
    _, orders, _ = await api.signed("GET", "/api/v3/allOrders", symbol="XRPUSDT")
    assert orders == []


async def test_market_order_by_quote_quantity(api: Api) -> None:
    await api.trade("0.5")
    status, body, _ = await place(
        api, type="MARKET", quoteOrderQty="10", timeInForce=None, quantity=None, price=None
    )
    assert status == 200, body
    assert (body["status"], body["executedQty"], body["origQuoteOrderQty"]) == ("FILLED", "20",
                                                                                 "10")  # fmt: skip
    assert (
        body["fills"][0]["commission"] == "0.020" and body["fills"][0]["commissionAsset"] == "XRP"
    )
    _, order, _ = await api.signed("GET", "/api/v3/order", symbol="XRPUSDT",
                                   orderId=body["orderId"])  # fmt: skip
    assert order["type"] == "MARKET" and order["origQuoteOrderQty"] == "10"
    _, trades, _ = await api.signed("GET", "/api/v3/myTrades", symbol="XRPUSDT")
    assert trades[0]["isMaker"] is False and trades[0]["qty"] == "20"


async def test_ioc_expires_and_limit_maker_would_take(api: Api) -> None:
    await api.trade("0.5")
    status, body, _ = await api.order(timeInForce="IOC", price="0.4")
    assert status == 200 and body["status"] == "EXPIRED" and body["fills"] == []
    _, account, _ = await api.signed("GET", "/api/v3/account")
    usdt = next(b for b in account["balances"] if b["asset"] == "USDT")
    assert (usdt["free"], usdt["locked"]) == ("1000.00000000", "0.00000000")
    status, body, _ = await place(api, type="LIMIT_MAKER", price="0.6", timeInForce=None)
    assert (status, body) == (400, {"code": -2010,
                                    "msg": "Order would immediately match and take."})  # fmt: skip
    status, body, _ = await place(api, type="LIMIT_MAKER", price="0.4", timeInForce=None)
    assert status == 200 and set(body) == {"symbol", "orderId", "orderListId", "clientOrderId",
                                           "transactTime"}  # ACK by default  # fmt: skip


async def test_duplicate_client_id_only_among_open_orders(api: Api) -> None:
    assert (await api.order(newClientOrderId="same", quantity="4"))[0] == 200
    status, body, _ = await api.order(newClientOrderId="same", quantity="4")
    assert (status, body) == (400, {"code": -2010, "msg": "Duplicate order sent."})
    await api.trade("0.5", qty="4")  # fills it
    status, body, _ = await api.order(newClientOrderId="same", quantity="4")
    assert status == 200 and body["orderId"] == 2  # a second order, as on Binance


async def test_balance_never_negative(api: Api) -> None:
    status, body, _ = await api.order(side="SELL", quantity="100.1", price="2")
    assert (status, body) == (400, INSUFFICIENT)
    assert (await api.order(side="SELL", quantity="100", price="2"))[0] == 200
    status, body, _ = await api.order(side="SELL", quantity="1", price="2")
    assert (status, body) == (400, INSUFFICIENT)  # all 100 XRP are locked
    status, body, _ = await api.order(quantity="2001", price="0.5")  # 1000.5 USDT
    assert (status, body) == (400, INSUFFICIENT)


async def test_commission_and_account_shapes(api: Api) -> None:
    status, body, _ = await api.signed("GET", "/api/v3/account/commission", symbol="XRPUSDT")
    assert status == 200 and body["symbol"] == "XRPUSDT"
    zero, rate = "0.00000000", "0.00100000"
    assert body["standardCommission"] == {"maker": rate, "taker": rate, "buyer": zero,
                                          "seller": zero}  # fmt: skip
    assert set(body) == {"symbol", "standardCommission", "specialCommission", "taxCommission",
                         "discount"}  # fmt: skip
    _, account, _ = await api.signed("GET", "/api/v3/account")
    assert account["commissionRates"]["maker"] == "0.00100000"
    assert {b["asset"] for b in account["balances"]} == set(BALANCES)
    status, body, _ = await api.signed("GET", "/api/v3/account", omitZeroBalances="maybe")
    assert body["code"] == -1100


def _info(**extra: Any) -> dict[str, Any]:
    info = synthetic_exchange_info("XRPUSDT", min_notional="1")
    filters = info["symbols"][0]["filters"]
    filters += [
        {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "1.2",
         "bidMultiplierDown": "0.8", "askMultiplierUp": "1.5", "askMultiplierDown": "0.9",
         "avgPriceMins": 5},
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 2},
        {"filterType": "MARKET_LOT_SIZE", "minQty": "1.00000000", "maxQty": "50.00000000",
         "stepSize": "1.00000000"},
    ]  # fmt: skip
    filters[2].update(extra)
    return info


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"price": "0.61"}, "PERCENT_PRICE_BY_SIDE"),  # BUY above 0.5 * 1.2
        ({"price": "0.39"}, "PERCENT_PRICE_BY_SIDE"),  # BUY below 0.5 * 0.8
        ({"side": "SELL", "price": "0.44", "quantity": "10"}, "PERCENT_PRICE_BY_SIDE"),
        ({"price": "0.5", "quantity": "1"}, "NOTIONAL"),  # 0.5 < minNotional 1
        ({"price": "0.5", "quantity": "10.05"}, "LOT_SIZE"),
        ({"price": "0.50001"}, "PRICE_FILTER"),
        ({"type": "MARKET", "quantity": "2.5"}, "MARKET_LOT_SIZE"),
        ({"type": "MARKET", "quantity": "60"}, "MARKET_LOT_SIZE"),
        ({"type": "MARKET", "quantity": "1"}, "NOTIONAL"),  # 0.5 at the average price
        ({"type": "MARKET", "quoteOrderQty": "0.9"}, "NOTIONAL"),
        ({"type": "MARKET", "quantity": "40"}, "NOTIONAL"),  # 20 > maxNotional, applied
    ],
)
async def test_filter_failures(session: Any, change: dict[str, Any], name: str) -> None:
    sim = await start_simulator(symbols=["XRPUSDT"], balances=BALANCES,
                                exchange_info=_info(maxNotional="10.00000000",
                                                    applyMaxToMarket=True))  # fmt: skip
    try:
        api = Api(session, sim)
        await api.trade("0.5", qty="10")
        params = dict(change)
        if params.get("type") == "MARKET":
            params.update(timeInForce=None, price=None)
            params.setdefault("quantity", None)
        status, body, _ = await place(api, **params)
        assert (status, body) == (400, {"code": -1013, "msg": f"Filter failure: {name}"})
    finally:
        await sim.close()


async def test_max_num_orders_and_the_average_price(session: Any) -> None:
    sim = await start_simulator(symbols=["XRPUSDT"], balances=BALANCES, exchange_info=_info())
    try:
        api = Api(session, sim)
        await api.trade("0.5", qty="10")
        await api.trade("1", qty="10")  # the 5-minute average is now 0.75
        assert (await api.order(price="0.89"))[0] == 200  # <= 0.75 * 1.2
        status, body, _ = await api.order(price="0.91")
        assert body["msg"] == "Filter failure: PERCENT_PRICE_BY_SIDE"
        assert (await api.order(price="0.7"))[0] == 200
        status, body, _ = await api.order(price="0.7")
        assert (status, body["msg"]) == (400, "Filter failure: MAX_NUM_ORDERS")
    finally:
        await sim.close()
