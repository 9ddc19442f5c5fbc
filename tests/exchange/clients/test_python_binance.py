"""python-binance (`Client`, `AsyncClient`, and `BinanceSocketManager`'s trade and user sockets)
through a whole session against `hedgehog exchange serve`.

python-binance is pointed at the simulator by subclassing its clients with their URL class
attributes replaced (`API_URL`, `MARGIN_API_URL`, `WS_API_URL`: read in `__init__`) and by setting
the socket manager's `STREAM_URL`. Its user socket subscribes over the WebSocket API
(`userDataStream.subscribe.signature`), so `WS_API_URL` serves it. `AsyncClient` is driven
through `Traced` with a loop of its own, so that both clients run the same session tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import uuid
import warnings
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.exchange.clients.conftest import BASE, QUOTE, SYMBOL, Sim, commission_of

with warnings.catch_warnings():  # its websockets import warns (legacy API)
    warnings.simplefilter("ignore", DeprecationWarning)
    binance = pytest.importorskip("binance")
    from binance import AsyncClient, BinanceSocketManager, Client
    from binance.exceptions import BinanceAPIException

pytestmark = [
    pytest.mark.clients,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:websockets.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:binance.*"),
]


def client_classes(sim: Sim) -> tuple[type[Client], type[AsyncClient]]:
    """`Client` and `AsyncClient` with every URL they use on the simulator (the README's)."""
    urls = {
        "API_URL": f"{sim.url}/api",  # + /v3/<endpoint>
        "MARGIN_API_URL": f"{sim.url}/sapi",
        "WS_API_URL": sim.ws_api_url,  # order.* and the user socket's subscription
        "WS_FUTURES_URL": sim.ws_api_url,  # never used here; kept off the internet
    }
    return type("SimClient", (Client,), urls), type("SimAsyncClient", (AsyncClient,), urls)


def socket_manager(client: AsyncClient, sim: Sim) -> BinanceSocketManager:
    bsm = BinanceSocketManager(client)
    bsm.STREAM_URL = sim.ws_url + "/"  # + ws/<symbol>@trade
    return bsm


class Traced:
    """A client whose calls note the request they sent when they fail (and, for AsyncClient,
    whose coroutines run to completion on the loop of `runner`)."""

    def __init__(self, client: Any, runner: asyncio.Runner | None = None) -> None:
        self._client, self._runner = client, runner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = attr(*args, **kwargs)
                if inspect.isawaitable(result):
                    assert self._runner is not None
                    result = self._runner.run(result)  # type: ignore[arg-type]
                return result
            except Exception as exc:
                response = getattr(self._client, "response", None)
                request = getattr(response, "request", None)
                if request is not None:  # requests
                    exc.add_note(f"sent {request.method} {request.url} body={request.body!r}")
                elif response is not None:  # aiohttp
                    exc.add_note(f"sent {response.method} {response.url}")
                raise

        return call


@contextlib.contextmanager
def sync_client(sim: Sim, secret: str | None = None) -> Iterator[Client]:
    """A `Client` with an event loop we own: `Client.__init__` takes the current loop (for its
    WebSocket API helpers) and creates one, never closed, when there is none."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        made = client_classes(sim)[0](sim.api_key, secret or sim.api_secret)  # pings
        try:
            yield made
        finally:
            made.close_connection()
    finally:
        asyncio.set_event_loop(None)
        loop.close()


@pytest.fixture(scope="module", params=["Client", "AsyncClient"])
def client(request: pytest.FixtureRequest, sim: Sim) -> Iterator[Any]:
    _, async_class = client_classes(sim)
    if request.param == "Client":
        with sync_client(sim) as plain:
            yield Traced(plain)
        return
    runner = asyncio.Runner()
    made = runner.run(async_class.create(sim.api_key, sim.api_secret))
    try:
        yield Traced(made, runner)
    finally:
        runner.run(made.close_connection())
        runner.close()


def balance(client: Any, asset: str) -> Decimal:
    found = client.get_asset_balance(asset=asset)
    return Decimal(found["free"]) + Decimal(found["locked"])


def cid(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:20]}"


# -- market data -------------------------------------------------------------------------------
def test_exchange_info(client: Any) -> None:
    info = client.get_symbol_info(SYMBOL)
    assert info["baseAsset"] == BASE and info["quoteAsset"] == QUOTE
    filters = {f["filterType"]: f for f in info["filters"]}
    assert Decimal(filters["PRICE_FILTER"]["tickSize"]) == Decimal("0.0001")
    assert Decimal(filters["LOT_SIZE"]["stepSize"]) == Decimal("0.1")


def test_balance(client: Any) -> None:
    account = client.get_account()
    assets = {b["asset"] for b in account["balances"]}
    assert {BASE, QUOTE} <= assets
    assert balance(client, QUOTE) > 0
    rates = account["commissionRates"]
    assert Decimal(rates["maker"]) >= 0 and Decimal(rates["taker"]) >= 0


def test_ticker(client: Any, sim: Sim) -> None:
    sim.trade("1.0500", "3")
    ticker = client.get_ticker(symbol=SYMBOL)  # GET /api/v3/ticker/24hr
    assert ticker["symbol"] == SYMBOL
    assert Decimal(ticker["lastPrice"]) == Decimal("1.05")
    assert Decimal(ticker["volume"]) >= 3


def test_order_book(client: Any, sim: Sim) -> None:
    sim.trade("1.0000", "1")  # the last price; our bid rests 5 ticks below it
    client.order_limit_buy(symbol=SYMBOL, quantity="10", price="0.9995")
    book = client.get_order_book(symbol=SYMBOL)  # GET /api/v3/depth
    assert isinstance(book["lastUpdateId"], int)
    bids = [(Decimal(p), Decimal(q)) for p, q in book["bids"]]
    asks = [(Decimal(p), Decimal(q)) for p, q in book["asks"]]
    assert any(p == Decimal("0.9995") and q >= 10 for p, q in bids)
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    if asks:
        assert bids[0][0] < asks[0][0]


def test_klines(client: Any, sim: Sim) -> None:
    sim.trade("1.0100", "2")
    sim.trade("1.0200", "5")
    klines = client.get_klines(symbol=SYMBOL, interval="1m")  # GET /api/v3/klines
    assert klines and len(klines[-1]) == 12
    open_time, open_, high, low, close, volume, close_time = klines[-1][:7]
    assert close_time == open_time + 59_999
    assert Decimal(close) == Decimal("1.02") and Decimal(volume) >= 7
    assert Decimal(low) <= min(Decimal(open_), Decimal(close)) <= Decimal(high)


def test_recent_trades(client: Any, sim: Sim) -> None:
    sim.trade("1.0123", "7")
    trades = client.get_recent_trades(symbol=SYMBOL)  # GET /api/v3/trades
    last = trades[-1]
    assert Decimal(last["price"]) == Decimal("1.0123") and Decimal(last["qty"]) == 7
    assert {"id", "quoteQty", "time", "isBuyerMaker", "isBestMatch"} <= set(last)


# -- orders ------------------------------------------------------------------------------------
def test_limit_buy_fills_in_parts(client: Any, sim: Sim) -> None:
    order = client.order_limit_buy(symbol=SYMBOL, quantity="10", price="0.9800")
    assert order["status"] == "NEW"
    sim.trade("0.9800", "4")
    part = client.get_order(symbol=SYMBOL, orderId=order["orderId"])
    assert part["status"] == "PARTIALLY_FILLED" and Decimal(part["executedQty"]) == 4
    sim.trade("0.9800", "6")
    done = client.get_order(symbol=SYMBOL, orderId=order["orderId"])
    assert done["status"] == "FILLED" and Decimal(done["executedQty"]) == 10
    assert Decimal(done["cummulativeQuoteQty"]) == Decimal("9.8")
    assert "commission" not in done  # GET /api/v3/order carries none
    fills = client.get_my_trades(symbol=SYMBOL, orderId=order["orderId"])  # GET /myTrades
    assert sorted(Decimal(f["qty"]) for f in fills) == [4, 6]
    for fill in fills:
        assert fill["orderId"] == order["orderId"] and fill["isBuyer"] and fill["isMaker"]
        assert fill["commissionAsset"] == BASE
        assert Decimal(fill["commission"]) == commission_of(fill["qty"])


def test_buy_commission_is_taken_from_the_base_balance(client: Any, sim: Sim) -> None:
    base, quote = balance(client, BASE), balance(client, QUOTE)
    client.order_limit_buy(symbol=SYMBOL, quantity="10", price="0.9700")
    sim.trade("0.9700", "10")
    assert balance(client, BASE) == base + 10 - commission_of(10)
    assert balance(client, QUOTE) == quote - Decimal("9.7")


def test_my_trades(client: Any, sim: Sim) -> None:
    order = client.order_limit_buy(symbol=SYMBOL, quantity="5", price="0.9600")
    sim.trade("0.9600", "5")
    trades = client.get_my_trades(symbol=SYMBOL)  # GET /api/v3/myTrades
    (trade,) = [t for t in trades if t["orderId"] == order["orderId"]]
    assert trade["symbol"] == SYMBOL and trade["orderListId"] == -1
    assert Decimal(trade["price"]) == Decimal("0.96") and Decimal(trade["qty"]) == 5
    assert Decimal(trade["quoteQty"]) == Decimal("4.8")
    assert trade["commissionAsset"] == BASE and Decimal(trade["commission"]) == commission_of(5)
    assert trade["isBuyer"] is True and trade["isMaker"] is True


def test_all_orders(client: Any, sim: Sim) -> None:
    filled = client.order_limit_buy(symbol=SYMBOL, quantity="2", price="0.9400")
    sim.trade("0.9400", "2")
    canceled = client.order_limit_buy(symbol=SYMBOL, quantity="2", price="0.9000")
    client.cancel_order(symbol=SYMBOL, orderId=canceled["orderId"])
    resting = client.order_limit_buy(symbol=SYMBOL, quantity="2", price="0.9100")
    orders = client.get_all_orders(symbol=SYMBOL)  # GET /api/v3/allOrders
    status = {o["orderId"]: o["status"] for o in orders}
    assert status[filled["orderId"]] == "FILLED"
    assert status[canceled["orderId"]] == "CANCELED"
    assert status[resting["orderId"]] == "NEW"


def test_cancel(client: Any) -> None:
    order = client.order_limit_buy(symbol=SYMBOL, quantity="3", price="0.9000")
    canceled = client.cancel_order(symbol=SYMBOL, orderId=order["orderId"])
    assert canceled["status"] == "CANCELED" and canceled["orderId"] == order["orderId"]
    assert canceled["origClientOrderId"] == order["clientOrderId"]
    open_ids = {o["orderId"] for o in client.get_open_orders(symbol=SYMBOL)}
    assert order["orderId"] not in open_ids


def test_market_buy(client: Any, sim: Sim) -> None:
    sim.trade("1.0000", "50")
    base = balance(client, BASE)
    order = client.order_market_buy(symbol=SYMBOL, quantity="5")
    assert order["status"] == "FILLED" and Decimal(order["executedQty"]) == 5
    fills = order["fills"]
    assert fills and all(f["commissionAsset"] == BASE for f in fills)
    assert sum(Decimal(f["commission"]) for f in fills) == commission_of(5)
    assert balance(client, BASE) == base + 5 - commission_of(5)


def test_duplicate_client_order_id_of_an_open_order(client: Any) -> None:
    same = cid("dup")
    client.order_limit_buy(symbol=SYMBOL, quantity="2", price="0.9000", newClientOrderId=same)
    with pytest.raises(BinanceAPIException) as caught:
        client.order_limit_buy(symbol=SYMBOL, quantity="2", price="0.9001", newClientOrderId=same)
    assert (caught.value.code, caught.value.message) == (-2010, "Duplicate order sent.")


def test_bad_signature(sim: Sim) -> None:
    with (
        sync_client(sim, secret="not" + sim.api_secret) as wrong,
        pytest.raises(BinanceAPIException) as caught,
    ):
        wrong.get_account()
    assert caught.value.code == -1022
    assert caught.value.message == "Signature for this request is not valid."


# -- sockets (BinanceSocketManager) ------------------------------------------------------------
async def next_event(socket: Any, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next message of event type `kind` (others are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            message = await socket.recv()
            if isinstance(message, dict) and message.get("e") == kind:
                return message
            if isinstance(message, dict) and message.get("e") == "error":
                raise AssertionError(f"socket error: {message}")


async def test_trade_socket(sim: Sim) -> None:
    _, async_class = client_classes(sim)
    client = await async_class.create()
    try:
        socket = socket_manager(client, sim).trade_socket(SYMBOL)  # ws/xrpusdt@trade
        socket.TIMEOUT = 0.2  # its read loop's poll; exit waits for it (10 s by default)
        async with socket:
            await asyncio.to_thread(sim.trade, "1.1111", "2")
            event = await next_event(socket, "trade")
            assert event["s"] == SYMBOL
            assert Decimal(event["p"]) == Decimal("1.1111") and Decimal(event["q"]) == 2
    finally:
        await client.close_connection()


async def test_user_socket_reports_parts_with_base_commission(sim: Sim) -> None:
    _, async_class = client_classes(sim)
    client = await async_class.create(sim.api_key, sim.api_secret)
    client.ws_api.TIMEOUT = 0.2  # its read loop's poll, awaited on close (10 s by default)
    try:
        socket = socket_manager(client, sim).user_socket()  # userDataStream.subscribe.signature
        async with socket:
            order = await client.order_limit_buy(symbol=SYMBOL, quantity="10", price="0.9300")
            new = await next_event(socket, "executionReport")
            assert (new["i"], new["x"], new["X"]) == (order["orderId"], "NEW", "NEW")

            await asyncio.to_thread(sim.trade, "0.9300", "4")
            part = await next_event(socket, "executionReport")
            assert (part["x"], part["X"]) == ("TRADE", "PARTIALLY_FILLED")
            assert Decimal(part["l"]) == 4 and Decimal(part["z"]) == 4
            assert part["N"] == BASE and Decimal(part["n"]) == commission_of(4)

            await asyncio.to_thread(sim.trade, "0.9300", "6")
            done = await next_event(socket, "executionReport")
            assert (done["x"], done["X"]) == ("TRADE", "FILLED")
            assert Decimal(done["l"]) == 6 and Decimal(done["z"]) == 10
            assert done["N"] == BASE and Decimal(done["n"]) == commission_of(6)
    finally:
        await client.close_connection()
