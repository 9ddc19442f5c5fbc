"""Binance's own connector, binance-sdk-spot (REST API, WebSocket API, WebSocket Streams), through
a whole session against `hedgehog exchange serve`.

It is pointed at the simulator by its three configurations: `ConfigurationRestAPI(base_path=
http://HOST:PORT)`, `ConfigurationWebSocketAPI(stream_url=ws://HOST:PORT/ws-api/v3)` and
`ConfigurationWebSocketStreams(stream_url=ws://HOST:PORT)` (it appends `/stream` and subscribes
with `SUBSCRIBE` requests).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.exchange.clients.conftest import BASE, QUOTE, SYMBOL, Sim, commission_of
from tests.helpers import eventually

spot = pytest.importorskip("binance_sdk_spot.spot")
from binance_common.errors import BadRequestError  # noqa: E402
from binance_sdk_spot.rest_api.models import (  # noqa: E402
    KlinesIntervalEnum,
    NewOrderSideEnum,
    NewOrderTimeInForceEnum,
    NewOrderTypeEnum,
)
from binance_sdk_spot.websocket_api.models import (  # noqa: E402
    OrderPlaceSideEnum,
    OrderPlaceTimeInForceEnum,
    OrderPlaceTypeEnum,
)
from binance_sdk_spot.websocket_streams.models import (  # noqa: E402
    KlineIntervalEnum,
    PartialBookDepthLevelsEnum,
)

pytestmark = [
    pytest.mark.clients,
    # binance-common calls aiohttp's ws_connect(timeout=<float>), deprecated by aiohttp 3.10+
    pytest.mark.filterwarnings("ignore:parameter 'timeout' of type 'float':DeprecationWarning"),
]


def sdk(sim: Sim, secret: str | None = None) -> Any:
    """The README's settings: the three URLs and the demo keys."""
    key, secret = sim.api_key, secret or sim.api_secret
    return spot.Spot(
        config_rest_api=spot.ConfigurationRestAPI(
            api_key=key, api_secret=secret, base_path=sim.url, timeout=5000, retries=0
        ),
        config_ws_api=spot.ConfigurationWebSocketAPI(
            api_key=key, api_secret=secret, stream_url=sim.ws_api_url, reconnect_attempts=1
        ),
        config_ws_streams=spot.ConfigurationWebSocketStreams(
            stream_url=sim.ws_url, reconnect_delay=100, reconnect_attempts=1
        ),
    )


def plain(model: Any) -> Any:
    """A response model as Binance's JSON (field names as on the wire)."""
    if hasattr(model, "model_dump"):
        return model.model_dump(by_alias=True, exclude_none=True)
    return model


def cid(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:20]}"


# ================================= REST API ===================================================
@pytest.fixture(scope="module")
def rest(sim: Sim) -> Any:
    return sdk(sim).rest_api


def rest_balance(rest: Any, asset: str) -> Decimal:
    account = plain(rest.get_account().data())
    (entry,) = [b for b in account["balances"] if b["asset"] == asset]
    return Decimal(entry["free"]) + Decimal(entry["locked"])


def limit_buy(rest: Any, qty: float, price: float, **extra: Any) -> dict[str, Any]:
    return plain(
        rest.new_order(
            symbol=SYMBOL, side=NewOrderSideEnum.BUY, type=NewOrderTypeEnum.LIMIT,
            time_in_force=NewOrderTimeInForceEnum.GTC, quantity=qty, price=price, **extra,
        ).data()
    )  # fmt: skip


def test_rest_exchange_info(rest: Any) -> None:
    info = plain(rest.exchange_info(symbol=SYMBOL).data())  # GET /api/v3/exchangeInfo
    (entry,) = info["symbols"]
    assert (entry["symbol"], entry["baseAsset"], entry["quoteAsset"]) == (SYMBOL, BASE, QUOTE)


def test_rest_account(rest: Any) -> None:
    account = plain(rest.get_account().data())  # GET /api/v3/account
    assert {BASE, QUOTE} <= {b["asset"] for b in account["balances"]}
    assert {"maker", "taker", "buyer", "seller"} <= set(account["commissionRates"])


def test_rest_ticker(rest: Any, sim: Sim) -> None:
    sim.trade("1.0500", "3")
    ticker = plain(rest.ticker24hr(symbol=SYMBOL).data())  # GET /api/v3/ticker/24hr
    ticker = ticker.get("actual_instance", ticker)
    assert ticker["symbol"] == SYMBOL and Decimal(ticker["lastPrice"]) == Decimal("1.05")


def test_rest_depth(rest: Any, sim: Sim) -> None:
    sim.trade("1.0000", "1")
    limit_buy(rest, 10, 0.9995)
    book = plain(rest.depth(symbol=SYMBOL).data())  # GET /api/v3/depth
    bids = [(Decimal(p), Decimal(q)) for p, q in book["bids"]]
    assert any(p == Decimal("0.9995") and q >= 10 for p, q in bids)


def test_rest_klines(rest: Any, sim: Sim) -> None:
    sim.trade("1.0200", "5")
    rows = plain(rest.klines(symbol=SYMBOL, interval=KlinesIntervalEnum.INTERVAL_1m).data())
    rows = rows.get("root", rows) if isinstance(rows, dict) else rows  # GET /api/v3/klines
    last = [plain(x) for x in rows[-1]]
    last = [x.get("actual_instance", x) if isinstance(x, dict) else x for x in last]
    assert Decimal(str(last[4])) == Decimal("1.02")


def test_rest_recent_trades(rest: Any, sim: Sim) -> None:
    sim.trade("1.0123", "7")
    trades = plain(rest.get_trades(symbol=SYMBOL).data())  # GET /api/v3/trades
    trades = trades.get("root", trades) if isinstance(trades, dict) else trades
    last = plain(trades[-1])
    assert Decimal(last["price"]) == Decimal("1.0123") and Decimal(last["qty"]) == 7


def test_rest_limit_buy_fills_in_parts(rest: Any, sim: Sim) -> None:
    order = limit_buy(rest, 10, 0.98)
    sim.trade("0.9800", "4")
    part = plain(rest.get_order(symbol=SYMBOL, order_id=order["orderId"]).data())
    assert part["status"] == "PARTIALLY_FILLED" and Decimal(part["executedQty"]) == 4
    sim.trade("0.9800", "6")
    done = plain(rest.get_order(symbol=SYMBOL, order_id=order["orderId"]).data())
    assert done["status"] == "FILLED" and Decimal(done["executedQty"]) == 10
    fills = [plain(f) for f in rest.my_trades(symbol=SYMBOL, order_id=order["orderId"]).data()]
    assert sorted(Decimal(f["qty"]) for f in fills) == [4, 6]  # GET /api/v3/myTrades
    for fill in fills:
        assert fill["commissionAsset"] == BASE
        assert Decimal(fill["commission"]) == commission_of(fill["qty"])


def test_rest_buy_commission_is_taken_from_the_base_balance(rest: Any, sim: Sim) -> None:
    base, quote = rest_balance(rest, BASE), rest_balance(rest, QUOTE)
    limit_buy(rest, 10, 0.97)
    sim.trade("0.9700", "10")
    assert rest_balance(rest, BASE) == base + 10 - commission_of(10)
    assert rest_balance(rest, QUOTE) == quote - Decimal("9.7")


def test_rest_my_trades_and_all_orders(rest: Any, sim: Sim) -> None:
    filled = limit_buy(rest, 5, 0.96)
    sim.trade("0.9600", "5")
    canceled = limit_buy(rest, 2, 0.90)
    rest.delete_order(symbol=SYMBOL, order_id=canceled["orderId"])
    trades = [plain(t) for t in rest.my_trades(symbol=SYMBOL).data()]  # GET /api/v3/myTrades
    (trade,) = [t for t in trades if t["orderId"] == filled["orderId"]]
    assert trade["commissionAsset"] == BASE and Decimal(trade["commission"]) == commission_of(5)
    orders = [plain(o) for o in rest.all_orders(symbol=SYMBOL).data()]  # GET /api/v3/allOrders
    status = {o["orderId"]: o["status"] for o in orders}
    assert (status[filled["orderId"]], status[canceled["orderId"]]) == ("FILLED", "CANCELED")


def test_rest_cancel(rest: Any) -> None:
    order = limit_buy(rest, 3, 0.90)
    canceled = plain(rest.delete_order(symbol=SYMBOL, order_id=order["orderId"]).data())
    assert canceled["status"] == "CANCELED" and canceled["orderId"] == order["orderId"]


def test_rest_market_buy(rest: Any, sim: Sim) -> None:
    sim.trade("1.0000", "50")
    order = plain(
        rest.new_order(
            symbol=SYMBOL, side=NewOrderSideEnum.BUY, type=NewOrderTypeEnum.MARKET, quantity=5
        ).data()
    )
    assert order["status"] == "FILLED" and Decimal(order["executedQty"]) == 5
    assert order["fills"] and all(f["commissionAsset"] == BASE for f in order["fills"])
    assert sum(Decimal(f["commission"]) for f in order["fills"]) == commission_of(5)


def test_rest_duplicate_client_order_id(rest: Any) -> None:
    same = cid("dup")
    limit_buy(rest, 2, 0.90, new_client_order_id=same)
    with pytest.raises(BadRequestError) as caught:
        limit_buy(rest, 2, 0.9001, new_client_order_id=same)
    assert (caught.value.status_code, caught.value.error_message) == (
        -2010, "Duplicate order sent."
    )  # fmt: skip


def test_rest_bad_signature(sim: Sim) -> None:
    wrong = sdk(sim, secret="not" + sim.api_secret).rest_api
    with pytest.raises(BadRequestError) as caught:
        wrong.get_account()
    assert (caught.value.status_code, caught.value.error_message) == (
        -1022, "Signature for this request is not valid."
    )  # fmt: skip


# ================================= WebSocket API ==============================================
class WsApiError(Exception):
    def __init__(self, error: Any) -> None:
        super().__init__(error)
        self.code = error.get("code") if isinstance(error, dict) else None
        self.msg = error.get("msg") if isinstance(error, dict) else str(error)


async def ws(call: Awaitable[Any]) -> Any:
    """The `result` of a WebSocket API request as Binance's JSON; `WsApiError` on an error."""
    try:
        response = await asyncio.wait_for(call, 5)
    except ValueError as exc:  # the SDK fails the request's future with the error object
        raise WsApiError(exc.args[0] if exc.args else exc) from None
    data = response.data()
    if isinstance(data, dict) and "error" in data:
        raise WsApiError(data["error"])
    return plain(data)["result"]


async def ws_limit_buy(conn: Any, qty: float, price: float, **extra: Any) -> dict[str, Any]:
    return await ws(  # type: ignore[no-any-return]
        conn.order_place(
            symbol=SYMBOL, side=OrderPlaceSideEnum.BUY, type=OrderPlaceTypeEnum.LIMIT,
            time_in_force=OrderPlaceTimeInForceEnum.GTC, quantity=qty, price=price, **extra,
        )
    )  # fmt: skip


@pytest.fixture
async def conn(sim: Sim) -> Any:
    connection = await sdk(sim).websocket_api.create_connection()
    yield connection
    await connection.close_connection()


async def test_ws_account_status(conn: Any) -> None:
    account = await ws(conn.account_status())  # account.status
    assert {BASE, QUOTE} <= {b["asset"] for b in account["balances"]}
    assert {"maker", "taker"} <= set(account["commissionRates"])


async def test_ws_limit_buy_fills_in_parts(conn: Any, sim: Sim) -> None:
    order = await ws_limit_buy(conn, 10, 0.98)  # order.place
    await asyncio.to_thread(sim.trade, "0.9800", "4")
    part = await ws(conn.order_status(symbol=SYMBOL, order_id=order["orderId"]))  # order.status
    assert part["status"] == "PARTIALLY_FILLED" and Decimal(part["executedQty"]) == 4
    await asyncio.to_thread(sim.trade, "0.9800", "6")
    done = await ws(conn.order_status(symbol=SYMBOL, order_id=order["orderId"]))
    assert done["status"] == "FILLED" and Decimal(done["executedQty"]) == 10
    fills = await ws(conn.my_trades(symbol=SYMBOL, order_id=order["orderId"]))  # myTrades
    assert sorted(Decimal(f["qty"]) for f in fills) == [4, 6]
    for fill in fills:
        assert fill["commissionAsset"] == BASE
        assert Decimal(fill["commission"]) == commission_of(fill["qty"])


async def test_ws_user_data_stream(conn: Any, sim: Sim) -> None:
    events: list[dict[str, Any]] = []
    subscription = await asyncio.wait_for(conn.user_data_stream_subscribe_signature(), 5)
    subscription.stream.on(
        "message", lambda m: events.append(plain(getattr(m, "actual_instance", m)))
    )
    order = await ws_limit_buy(conn, 10, 0.93)
    await asyncio.to_thread(sim.trade, "0.9300", "4")

    async def reports(count: int) -> list[dict[str, Any]]:
        def of_order() -> list[dict[str, Any]] | None:
            mine = [e for e in events if e.get("i") == order["orderId"]]
            return mine if len(mine) >= count else None

        got: list[dict[str, Any]] = await eventually(of_order, what=f"{count} reports")
        return got

    new, part = await reports(2)
    assert (new["x"], new["X"]) == ("NEW", "NEW")
    assert (part["x"], part["X"]) == ("TRADE", "PARTIALLY_FILLED")
    assert part["N"] == BASE and Decimal(part["n"]) == commission_of(4)


async def test_ws_open_orders_cancel_and_all_orders(conn: Any) -> None:
    order = await ws_limit_buy(conn, 3, 0.90)
    open_ids = {o["orderId"] for o in await ws(conn.open_orders_status(symbol=SYMBOL))}
    assert order["orderId"] in open_ids  # openOrders.status
    canceled = await ws(conn.order_cancel(symbol=SYMBOL, order_id=order["orderId"]))
    assert canceled["status"] == "CANCELED"  # order.cancel
    orders = await ws(conn.all_orders(symbol=SYMBOL))  # allOrders
    assert {o["orderId"]: o["status"] for o in orders}[order["orderId"]] == "CANCELED"


async def test_ws_market_buy(conn: Any, sim: Sim) -> None:
    await asyncio.to_thread(sim.trade, "1.0000", "50")
    order = await ws(
        conn.order_place(
            symbol=SYMBOL, side=OrderPlaceSideEnum.BUY, type=OrderPlaceTypeEnum.MARKET, quantity=5
        )
    )
    assert order["status"] == "FILLED" and Decimal(order["executedQty"]) == 5
    assert order["fills"] and all(f["commissionAsset"] == BASE for f in order["fills"])
    assert sum(Decimal(f["commission"]) for f in order["fills"]) == commission_of(5)


async def test_ws_duplicate_client_order_id(conn: Any) -> None:
    same = cid("dup")
    await ws_limit_buy(conn, 2, 0.90, new_client_order_id=same)
    with pytest.raises(WsApiError) as caught:
        await ws_limit_buy(conn, 2, 0.9001, new_client_order_id=same)
    assert (caught.value.code, caught.value.msg) == (-2010, "Duplicate order sent.")


async def test_ws_bad_signature(sim: Sim) -> None:
    wrong = await sdk(sim, secret="not" + sim.api_secret).websocket_api.create_connection()
    try:
        with pytest.raises(WsApiError) as caught:
            await ws(wrong.open_orders_status(symbol=SYMBOL))  # openOrders.status
        assert (caught.value.code, caught.value.msg) == (
            -1022, "Signature for this request is not valid."
        )  # fmt: skip
    finally:
        await wrong.close_connection()


# ================================= WebSocket Streams ==========================================
STREAMS = ["trade", "aggTrade", "kline_1m", "bookTicker", "depth5"]


class _Frames(logging.Handler):
    """What the SDK logs it received (error answers to SUBSCRIBE are only logged)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "Received message" in message or "rror" in message:
            self.lines.append(message[:300])


async def _collect(sim: Sim) -> tuple[dict[str, list[Any]], list[str]]:
    """Subscribe to every stream of STREAMS on one connection, then trade until each has
    delivered a message (at most 5 s: klines push every 2 s on Binance)."""
    got: dict[str, list[Any]] = {name: [] for name in STREAMS}
    frames = _Frames()
    root = logging.getLogger()
    level = root.level
    root.addHandler(frames)
    root.setLevel(logging.INFO)
    client = sdk(sim).websocket_streams
    connection = await client.create_connection()
    try:
        handles = {
            "trade": await connection.trade(symbol=SYMBOL.lower()),
            "aggTrade": await connection.agg_trade(symbol=SYMBOL.lower()),
            "kline_1m": await connection.kline(
                symbol=SYMBOL.lower(), interval=KlineIntervalEnum.INTERVAL_1m
            ),
            "bookTicker": await connection.book_ticker(symbol=SYMBOL.lower()),
            "depth5": await connection.partial_book_depth(
                symbol=SYMBOL.lower(), levels=PartialBookDepthLevelsEnum.LEVELS_5
            ),
        }
        for name, handle in handles.items():
            handle.on("message", lambda m, name=name: got[name].append(plain(m)))
        deadline = asyncio.get_running_loop().time() + 5
        price = Decimal("1.2000")
        while not all(got.values()) and asyncio.get_running_loop().time() < deadline:
            price += Decimal("0.0001")
            await asyncio.to_thread(sim.trade, str(price), "1")
            await asyncio.sleep(0.1)
    finally:
        await connection.close_connection()
        root.removeHandler(frames)
        root.setLevel(level)
    return got, frames.lines


@pytest.fixture(scope="module")
def stream_messages(sim: Sim) -> Iterator[tuple[dict[str, list[Any]], list[str]]]:
    yield asyncio.run(_collect(sim))


@pytest.mark.parametrize("stream", STREAMS)
def test_stream_delivers(
    stream: str, stream_messages: tuple[dict[str, list[Any]], list[str]]
) -> None:
    got, frames = stream_messages
    assert got[stream], f"no message on xrpusdt@{stream}; the SDK received: {frames[:4]}"
    first = got[stream][0]
    assert first, "an empty message"
    if stream == "trade":
        assert first.get("e") == "trade" and first.get("s") == SYMBOL
