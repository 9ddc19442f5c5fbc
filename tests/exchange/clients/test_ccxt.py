"""ccxt (sync `ccxt.binance` and async `ccxt.async_support.binance`) through a whole session
against `hedgehog exchange serve`.

ccxt is pointed at the simulator by rewriting every URL of `exchange.urls["api"]` to the
simulator's address (so no call can leave the machine), with markets limited to spot and no
currency/margin calls (`/sapi/...`, which need a real Binance account). The async client is driven
through `Synced`, which runs each of its coroutines to completion: both flavours run the same tests.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.exchange.clients.conftest import BASE, QUOTE, RATE, SYMBOL, Sim, commission_of

ccxt = pytest.importorskip("ccxt")
ccxt_async = pytest.importorskip("ccxt.async_support")

pytestmark = pytest.mark.clients

MARKET = f"{BASE}/{QUOTE}"


def sim_config(sim: Sim, secret: str | None = None) -> dict[str, Any]:
    """The ccxt settings of the README: demo keys, spot only, no /sapi calls."""
    return {
        "apiKey": sim.api_key,
        "secret": secret or sim.api_secret,
        "enableRateLimit": False,
        "options": {
            "fetchMarkets": {"types": ["spot"]},  # no /fapi, /dapi exchangeInfo
            "fetchCurrencies": False,  # no /sapi/v1/capital/config/getall
            "fetchMargins": False,  # no /sapi/v1/margin/allPairs
        },
    }


def point_at(exchange: Any, sim: Sim) -> Any:
    """Every API root of ccxt's binance (`https://api.binance.com/api/v3`, `.../sapi/v1`,
    `https://fapi.binance.com/fapi/v1`, ...) rewritten to the simulator, path kept."""
    api = exchange.urls["api"]
    for name, url in api.items():
        if isinstance(url, str):
            api[name] = sim.url + "/" + url.split("/", 3)[3]
    return exchange


class Synced:
    """An async ccxt exchange whose coroutine methods run to completion on their own loop."""

    def __init__(self, exchange: Any) -> None:
        self._exchange = exchange
        self._runner = asyncio.Runner()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._exchange, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *args, **kwargs: self._runner.run(attr(*args, **kwargs))
        return attr

    def close(self) -> None:
        try:
            self._runner.run(self._exchange.close())
        finally:
            self._runner.close()


def make(flavour: str, sim: Sim, secret: str | None = None) -> Any:
    if flavour == "sync":
        return point_at(ccxt.binance(sim_config(sim, secret)), sim)
    return Synced(point_at(ccxt_async.binance(sim_config(sim, secret)), sim))


def close(exchange: Any) -> None:
    if isinstance(exchange, Synced):
        exchange.close()


@pytest.fixture(scope="module", params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def exchange(flavour: str, sim: Sim) -> Iterator[Any]:
    ex = make(flavour, sim)
    try:
        ex.load_markets()
        yield ex
    finally:
        close(ex)


def client_id(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:20]}"


def total(balance: dict[str, Any], asset: str) -> Decimal:
    return Decimal(str(balance[asset]["total"] or 0))


# -- market data -------------------------------------------------------------------------------
def test_load_markets(exchange: Any, sim: Sim) -> None:
    market = exchange.market(MARKET)
    assert market["id"] == SYMBOL and market["spot"] and market["active"]
    assert (market["base"], market["quote"]) == (BASE, QUOTE)
    assert market["precision"]["price"] == pytest.approx(0.0001)
    assert market["precision"]["amount"] == pytest.approx(0.1)
    assert market["limits"]["cost"]["min"] == pytest.approx(1)
    assert exchange.last_request_url.startswith(sim.url + "/api/v3/exchangeInfo")


def test_balance(exchange: Any) -> None:
    balance = exchange.fetch_balance()
    for asset in (BASE, QUOTE):
        free, used = Decimal(str(balance[asset]["free"])), Decimal(str(balance[asset]["used"]))
        assert free + used == total(balance, asset) > 0


def test_ticker(exchange: Any, sim: Sim) -> None:
    sim.trade("1.0500", "3")
    ticker = exchange.fetch_ticker(MARKET)  # GET /api/v3/ticker/24hr?symbol=XRPUSDT
    assert ticker["symbol"] == MARKET
    assert ticker["last"] == pytest.approx(1.05)
    assert ticker["baseVolume"] >= 3


def test_order_book(exchange: Any, sim: Sim) -> None:
    sim.trade("1.0000", "1")  # the last price; our bid rests 5 ticks below it
    exchange.create_order(MARKET, "limit", "buy", 10, 0.9995)
    book = exchange.fetch_order_book(MARKET)  # GET /api/v3/depth?symbol=XRPUSDT
    bids, asks = book["bids"], book["asks"]
    assert bids, "our resting buy is in the book"
    assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
    assert [p for p, _ in asks] == sorted(p for p, _ in asks)
    assert any(p == pytest.approx(0.9995) and q >= 10 for p, q in bids)
    if asks:
        assert bids[0][0] < asks[0][0]


def test_ohlcv(exchange: Any, sim: Sim) -> None:
    sim.trade("1.0100", "2")
    sim.trade("1.0200", "5")
    candles = exchange.fetch_ohlcv(MARKET, "1m")  # GET /api/v3/klines?interval=1m&symbol=...
    assert candles
    _, open_, high, low, close_, volume = candles[-1]
    assert close_ == pytest.approx(1.02)
    assert low <= min(open_, close_) <= max(open_, close_) <= high
    assert volume >= 7


def test_recent_trades(exchange: Any, sim: Sim) -> None:
    sim.trade("1.0123", "7")
    trades = exchange.fetch_trades(MARKET)  # GET /api/v3/aggTrades?symbol=XRPUSDT
    assert trades
    last = trades[-1]
    assert last["price"] == pytest.approx(1.0123) and last["amount"] == pytest.approx(7)
    assert last["symbol"] == MARKET


# -- orders ------------------------------------------------------------------------------------
def test_limit_buy_fills_in_parts(exchange: Any, sim: Sim) -> None:
    order = exchange.create_order(MARKET, "limit", "buy", 10, 0.9800)
    assert order["status"] == "open" and order["filled"] == 0

    sim.trade("0.9800", "4")  # a trade at our price, smaller than our order
    part = exchange.fetch_order(order["id"], MARKET)
    assert part["info"]["status"] == "PARTIALLY_FILLED"
    assert part["status"] == "open"
    assert part["filled"] == pytest.approx(4) and part["remaining"] == pytest.approx(6)

    sim.trade("0.9800", "6")
    done = exchange.fetch_order(order["id"], MARKET)
    assert done["info"]["status"] == "FILLED" and done["status"] == "closed"
    assert done["filled"] == pytest.approx(10) and done["remaining"] == pytest.approx(0)
    assert done["cost"] == pytest.approx(9.8)

    trades = exchange.fetch_my_trades(MARKET)  # GET /api/v3/myTrades?symbol=XRPUSDT
    mine = [t for t in trades if t["order"] == order["id"]]
    assert sorted(t["amount"] for t in mine) == pytest.approx([4, 6])
    for trade in mine:
        assert trade["side"] == "buy" and trade["price"] == pytest.approx(0.98)
        assert trade["takerOrMaker"] == "maker"
        assert trade["fee"]["currency"] == BASE  # a buyer pays in the asset received
        assert trade["fee"]["cost"] == pytest.approx(float(commission_of(trade["amount"])))


def test_buy_commission_is_taken_from_the_base_balance(exchange: Any, sim: Sim) -> None:
    before = exchange.fetch_balance()
    order = exchange.create_order(MARKET, "limit", "buy", 10, 0.9700)
    sim.trade("0.9700", "10")
    assert exchange.fetch_order(order["id"], MARKET)["status"] == "closed"
    after = exchange.fetch_balance()
    assert total(after, BASE) == total(before, BASE) + 10 - commission_of(10)
    assert total(after, QUOTE) == total(before, QUOTE) - Decimal("9.7")


def test_my_trades(exchange: Any, sim: Sim) -> None:
    order = exchange.create_order(MARKET, "limit", "buy", 5, 0.9600)
    sim.trade("0.9600", "5")
    trades = exchange.fetch_my_trades(MARKET)  # GET /api/v3/myTrades?symbol=XRPUSDT
    (trade,) = [t for t in trades if t["order"] == order["id"]]
    assert trade["symbol"] == MARKET and trade["side"] == "buy"
    assert trade["amount"] == pytest.approx(5) and trade["cost"] == pytest.approx(4.8)
    assert trade["fee"] == {"currency": BASE, "cost": pytest.approx(float(commission_of(5)))}
    info = trade["info"]
    assert info["isBuyer"] is True and info["isMaker"] is True
    assert info["commissionAsset"] == BASE
    assert Decimal(info["commission"]) == commission_of(5)


def test_all_orders(exchange: Any, sim: Sim) -> None:
    filled = exchange.create_order(MARKET, "limit", "buy", 2, 0.9400)
    sim.trade("0.9400", "2")
    canceled = exchange.create_order(MARKET, "limit", "buy", 2, 0.9000)
    exchange.cancel_order(canceled["id"], MARKET)
    resting = exchange.create_order(MARKET, "limit", "buy", 2, 0.9100)
    orders = exchange.fetch_orders(MARKET)  # GET /api/v3/allOrders?symbol=XRPUSDT
    status = {o["id"]: o["status"] for o in orders}
    assert status[filled["id"]] == "closed"
    assert status[canceled["id"]] == "canceled"
    assert status[resting["id"]] == "open"


def test_cancel(exchange: Any) -> None:
    order = exchange.create_order(MARKET, "limit", "buy", 3, 0.9000)
    canceled = exchange.cancel_order(order["id"], MARKET)
    assert canceled["id"] == order["id"] and canceled["status"] == "canceled"
    assert exchange.fetch_order(order["id"], MARKET)["status"] == "canceled"
    assert order["id"] not in {o["id"] for o in exchange.fetch_open_orders(MARKET)}


def test_market_buy(exchange: Any, sim: Sim) -> None:
    sim.trade("1.0000", "50")  # the last price
    before = exchange.fetch_balance()
    order = exchange.create_order(MARKET, "market", "buy", 5)
    assert order["info"]["status"] == "FILLED" and order["status"] == "closed"
    assert order["filled"] == pytest.approx(5) and order["average"] == pytest.approx(1.0)
    fills = order["info"]["fills"]
    assert fills and all(f["commissionAsset"] == BASE for f in fills)
    assert sum(Decimal(f["commission"]) for f in fills) == commission_of(5, RATE)
    after = exchange.fetch_balance()
    assert total(after, BASE) == total(before, BASE) + 5 - commission_of(5)


def test_duplicate_client_order_id_of_an_open_order(exchange: Any) -> None:
    cid = client_id("dup")
    params = {"newClientOrderId": cid}
    first = exchange.create_order(MARKET, "limit", "buy", 2, 0.9000, params)
    assert first["clientOrderId"] == cid and first["status"] == "open"
    with pytest.raises(ccxt.InvalidOrder) as caught:
        exchange.create_order(MARKET, "limit", "buy", 2, 0.9001, params)
    assert '"code":-2010' in str(caught.value)
    assert "Duplicate order sent." in str(caught.value)
    assert [o["id"] for o in exchange.fetch_open_orders(MARKET)
            if o["clientOrderId"] == cid] == [first["id"]]  # fmt: skip


def test_client_order_id_of_a_closed_order_can_be_reused(exchange: Any) -> None:
    """Binance: newClientOrderId is "a unique id among open orders"."""
    cid = client_id("reuse")
    first = exchange.create_order(MARKET, "limit", "buy", 2, 0.9000, {"newClientOrderId": cid})
    exchange.cancel_order(first["id"], MARKET)
    second = exchange.create_order(MARKET, "limit", "buy", 2, 0.9000, {"newClientOrderId": cid})
    assert second["id"] != first["id"] and second["status"] == "open"


def test_bad_signature(flavour: str, sim: Sim) -> None:
    wrong = make(flavour, sim, secret="not" + sim.api_secret)
    try:
        with pytest.raises(ccxt.AuthenticationError) as caught:
            wrong.fetch_balance()
        assert '"code":-1022' in str(caught.value)
        assert "Signature for this request is not valid." in str(caught.value)
    finally:
        close(wrong)
