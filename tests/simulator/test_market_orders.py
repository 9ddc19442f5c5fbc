"""MARKET orders through hedgehog's own Binance client against the simulator: the request
Binance documents (`type=MARKET`, `quantity`, `newClientOrderId`), the answer it documents (a
MARKET order's `price` is 0), a fill at the last trade's price as taker, refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D

import pytest

from hedgehog.core.errors import OrderRejected, RejectReason
from hedgehog.core.types import OrderStatus, Side
from hedgehog.exchange.binance.rest import BinanceExchange
from hedgehog.simulator import SimulatorHandle

from .conftest import Api


@pytest.fixture
async def client(sim: SimulatorHandle) -> AsyncIterator[BinanceExchange]:
    async with BinanceExchange(sim.api_key, sim.api_secret, sim.url, timeout=5) as exchange:
        yield exchange


async def test_a_market_sell_fills_at_once_at_the_last_trade_price(
    api: Api, client: BinanceExchange
) -> None:
    await api.trade("0.5", qty="100")
    order = await client.place_market_order("XRPUSDT", Side.SELL, D("20"), "hh-stop")
    assert (order.client_order_id, order.order_type, order.status) == (
        "hh-stop", "MARKET", OrderStatus.FILLED)  # fmt: skip
    assert (order.price, order.executed_qty, order.cumulative_quote_qty) == (D(0), D(20), D(10))
    assert await client.get_order("XRPUSDT", client_order_id="hh-stop") == order
    (fill,) = await client.order_fills("XRPUSDT", order.order_id)
    assert (fill.price, fill.qty, fill.is_maker) == (D("0.5"), D(20), False)
    assert (fill.commission, fill.commission_asset) == (D("0.010"), "USDT")
    assert await client.open_orders("XRPUSDT") == []
    balances = await client.balances()
    assert balances["XRP"].free == D(80) and balances["USDT"].free == D("1009.990")


async def test_a_market_buy_pays_its_commission_in_the_coins_bought(
    api: Api, client: BinanceExchange
) -> None:
    await api.trade("0.5", qty="100")
    order = await client.place_market_order("XRPUSDT", Side.BUY, D("10"), "hh-buy")
    assert order.status is OrderStatus.FILLED and order.cumulative_quote_qty == D(5)
    (fill,) = await client.order_fills("XRPUSDT", order.order_id)
    assert (fill.commission, fill.commission_asset) == (D("0.010"), "XRP")


async def test_market_orders_refused_as_binance_refuses_them(
    api: Api, client: BinanceExchange
) -> None:
    with pytest.raises(OrderRejected, match="Market is closed"):  # no trade yet: no price
        await client.place_market_order("XRPUSDT", Side.SELL, D("20"), "hh-1")
    await api.trade("0.5")
    with pytest.raises(OrderRejected) as small:
        await client.place_market_order("XRPUSDT", Side.SELL, D("1"), "hh-2")
    assert small.value.reason is RejectReason.FILTER_FAILURE
    with pytest.raises(OrderRejected) as poor:
        await client.place_market_order("XRPUSDT", Side.SELL, D("1000"), "hh-3")
    assert poor.value.reason is RejectReason.INSUFFICIENT_BALANCE
    assert await client.open_orders() == []
