"""Public market-data REST endpoints: shapes, limits, errors, klines, depth and tickers."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgehog.core.types import TradeEvent
from hedgehog.simulator import SimulatorHandle
from hedgehog.simulator.history import SymbolHistory
from hedgehog.simulator.klines import kline_row, klines, parse_time_zone, period_start
from hedgehog.simulator.limits import rest_weight

from .conftest import Api

T0 = 1_700_000_100_000  # Tuesday 2023-11-14 22:15 UTC (a whole 5 minutes)
SYMBOLS = "%5B%22XRPUSDT%22,%22ETHUSDT%22%5D"  # ["XRPUSDT","ETHUSDT"]


class Clock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(sim: SimulatorHandle) -> Clock:
    clock = Clock()
    sim.market.now_ms = clock  # type: ignore[method-assign]
    return clock


def trade(
    sim: SimulatorHandle, price: str, qty: str = "1", maker: bool = False, symbol: str = "XRPUSDT"
) -> TradeEvent:
    event = TradeEvent(symbol, 0, D(price), D(qty), 0, maker)
    return sim.market.process_trade(event, injected=True)[0]


async def error(api: Api, path: str, **params: Any) -> tuple[int, Any]:
    status, body, _ = await api.get(path, **params)
    return status, body


async def test_recent_and_historical_trades(sim: SimulatorHandle, api: Api) -> None:
    for price in ("0.5", "0.51", "0.52", "0.53", "0.54"):
        trade(sim, price, "2.5")
    status, body, _ = await api.get("/api/v3/trades", symbol="XRPUSDT", limit=2)
    assert status == 200
    assert [t["id"] for t in body] == [4, 5]
    assert body[1] == {"id": 5, "price": "0.54000000", "qty": "2.50000000",
                       "quoteQty": "1.35", "time": body[1]["time"], "isBuyerMaker": False,
                       "isBestMatch": True}  # fmt: skip
    _, body, _ = await api.get("/api/v3/trades", symbol="XRPUSDT", limit=5000)  # cut to 1000
    assert len(body) == 5
    _, body, _ = await api.get("/api/v3/historicalTrades", symbol="XRPUSDT", fromId=2, limit=2)
    assert [t["id"] for t in body] == [2, 3]
    _, body, _ = await api.get("/api/v3/historicalTrades", symbol="XRPUSDT")
    assert [t["id"] for t in body] == [1, 2, 3, 4, 5]
    _, body, _ = await api.get("/api/v3/trades", symbol="ETHUSDT")
    assert body == []


async def test_agg_trades(sim: SimulatorHandle, api: Api, clock: Clock) -> None:
    for i in range(5):
        clock.now = T0 + i * 1000
        trade(sim, f"0.5{i}", maker=i % 2 == 0)
    _, body, _ = await api.get("/api/v3/aggTrades", symbol="XRPUSDT", limit=2)
    assert body[-1] == {"a": 5, "p": "0.54000000", "q": "1.00000000", "f": 5, "l": 5,
                        "T": T0 + 4000, "m": True, "M": True}  # fmt: skip
    _, body, _ = await api.get("/api/v3/aggTrades", symbol="XRPUSDT", fromId=3)
    assert [t["a"] for t in body] == [3, 4, 5]
    _, body, _ = await api.get(
        "/api/v3/aggTrades", symbol="XRPUSDT", startTime=T0 + 1000, endTime=T0 + 3000, limit=2
    )
    assert [t["a"] for t in body] == [2, 3]
    _, body, _ = await api.get("/api/v3/aggTrades", symbol="XRPUSDT", endTime=T0 + 2000)
    assert [t["a"] for t in body] == [1, 2, 3]
    assert await error(api, "/api/v3/aggTrades", symbol="XRPUSDT", fromId=1, startTime=T0) == (
        400, {"code": -1128, "msg": "Combination of optional parameters invalid."},
    )  # fmt: skip


async def test_klines(sim: SimulatorHandle, api: Api, clock: Clock) -> None:
    # minute 0: 0.5, 0.6 (maker), 0.4; minute 1: nothing; minute 2: 0.45
    spec = [(0, "0.5", "10", False), (20_000, "0.6", "1", True), (59_999, "0.4", "2", False),
            (125_000, "0.45", "4", False)]  # fmt: skip
    for offset, price, qty, maker in spec:
        clock.now = T0 + offset
        trade(sim, price, qty, maker)
    clock.now = T0 + 150_000
    status, body, _ = await api.get("/api/v3/klines", symbol="XRPUSDT", interval="1m")
    assert status == 200
    assert body == [
        [T0, "0.50000000", "0.60000000", "0.40000000", "0.40000000", "13.00000000",
         T0 + 59_999, "6.40000000", 3, "12.00000000", "5.80000000", "0"],
        [T0 + 60_000, "0.40000000", "0.40000000", "0.40000000", "0.40000000", "0.00000000",
         T0 + 119_999, "0.00000000", 0, "0.00000000", "0.00000000", "0"],  # flat, no trades
        [T0 + 120_000, "0.45000000", "0.45000000", "0.45000000", "0.45000000", "4.00000000",
         T0 + 179_999, "1.80000000", 1, "4.00000000", "1.80000000", "0"],
    ]  # fmt: skip
    _, ui, _ = await api.get("/api/v3/uiKlines", symbol="XRPUSDT", interval="1m")
    assert ui == body
    _, five, _ = await api.get("/api/v3/klines", symbol="XRPUSDT", interval="5m")
    start = T0 - T0 % 300_000
    assert five == [[start, "0.50000000", "0.60000000", "0.40000000", "0.45000000",
                     "17.00000000", start + 299_999, "8.20000000", 4, "16.00000000",
                     "7.60000000", "0"]]  # fmt: skip
    # limit, startTime, endTime
    _, rows, _ = await api.get("/api/v3/klines", symbol="XRPUSDT", interval="1m", limit=1)
    assert [r[0] for r in rows] == [T0 + 120_000]
    _, rows, _ = await api.get(
        "/api/v3/klines", symbol="XRPUSDT", interval="1m", startTime=T0 + 1, limit=1
    )
    assert [r[0] for r in rows] == [T0 + 60_000]  # the first kline opened at or after start
    _, rows, _ = await api.get(
        "/api/v3/klines", symbol="XRPUSDT", interval="1m", endTime=T0 + 60_000
    )
    assert [r[0] for r in rows] == [T0, T0 + 60_000]
    _, rows, _ = await api.get("/api/v3/klines", symbol="XRPUSDT", interval="1s", limit=3)
    assert [r[0] for r in rows] == [T0 + 148_000, T0 + 149_000, T0 + 150_000]
    assert rows[0][8] == 0 and rows[0][4] == "0.45000000"
    # a day in UTC+8 starts at 16:00 UTC
    _, rows, _ = await api.get("/api/v3/klines", symbol="XRPUSDT", interval="1d", timeZone="8")
    assert rows[0][0] % 86_400_000 == 16 * 3_600_000 and rows[0][8] == 4
    _, weekly, _ = await api.get("/api/v3/klines", symbol="XRPUSDT", interval="1w")
    _, monthly, _ = await api.get("/api/v3/klines", symbol="XRPUSDT", interval="1M")
    assert weekly[0][0] == 1_699_833_600_000  # Monday 2023-11-13
    assert monthly[0][0] == 1_698_796_800_000 and monthly[0][6] == 1_701_388_799_999  # November


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        ({"interval": "1m"}, -1102, "Mandatory parameter 'symbol' was not sent"),
        ({"symbol": "XRPUSDT"}, -1102, "Mandatory parameter 'interval'"),
        ({"symbol": "XRPUSDT", "interval": "2m"}, -1120, "Invalid interval."),
        ({"symbol": "DOGEUSDT", "interval": "1m"}, -1121, "Invalid symbol."),
        ({"symbol": "xrpusdt", "interval": "1m"}, -1100, "Illegal characters found in"),
        ({"symbol": "XRPUSDT", "interval": "1m", "limit": "ten"}, -1100, "parameter 'limit'"),
        ({"symbol": "XRPUSDT", "interval": "1m", "limit": 0}, -1130, "parameter 'limit'"),
        ({"symbol": "XRPUSDT", "interval": "1m", "startTime": -5}, -1100, "'startTime'"),
        ({"symbol": "XRPUSDT", "interval": "1m", "timeZone": "15"}, -1130, "'timeZone'"),
    ],
)
async def test_kline_errors(api: Api, params: dict[str, Any], code: int, msg: str) -> None:
    status, body = await error(api, "/api/v3/klines", **params)
    assert status == 400 and body["code"] == code and msg in body["msg"], body


async def test_duplicate_parameter(api: Api) -> None:
    status, body, _ = await api.request("GET", "/api/v3/depth", "symbol=XRPUSDT&symbol=ETHUSDT")
    assert (status, body["code"]) == (400, -1101)


def test_time_zones() -> None:
    assert parse_time_zone("0") == 0
    assert parse_time_zone("-1:00") == -3_600_000
    assert parse_time_zone("+05:45") == (5 * 60 + 45) * 60_000
    assert parse_time_zone("14:00") == 14 * 3_600_000
    assert parse_time_zone("-12:30") is None
    assert parse_time_zone("8:75") is None and parse_time_zone("UTC") is None


async def test_depth_with_a_resting_order(sim: SimulatorHandle, api: Api) -> None:
    _, empty, _ = await api.get("/api/v3/depth", symbol="XRPUSDT")
    assert empty["bids"] == [] and empty["asks"] == []
    trade(sim, "0.6", "3")  # a taker buy: the ask was at 0.6
    _, before, _ = await api.get("/api/v3/depth", symbol="XRPUSDT", limit=1000)
    assert before["asks"][0] == ["0.60000000", "3.00000000"]
    assert before["bids"][0][0] == "0.59990000"
    assert len(before["bids"]) == len(before["asks"]) == 1000
    status, order, _ = await api.order(price="0.55", quantity="10")
    assert status == 200, order
    _, after, _ = await api.get("/api/v3/depth", symbol="XRPUSDT", limit=1000)
    assert after["lastUpdateId"] > before["lastUpdateId"] > empty["lastUpdateId"]
    levels = {p: D(q) for p, q in before["bids"]}
    changed = {p: D(q) - levels[p] for p, q in after["bids"] if D(q) != levels[p]}
    assert changed == {"0.55000000": D(10)}
    _, five, _ = await api.get("/api/v3/depth", symbol="XRPUSDT", limit=5)
    assert len(five["bids"]) == len(five["asks"]) == 5
    assert five["lastUpdateId"] == after["lastUpdateId"]  # nothing changed since
    _, deep, _ = await api.get("/api/v3/depth", symbol="XRPUSDT", limit=6000)
    assert len(deep["bids"]) == len(deep["asks"]) == 5000


async def test_book_never_crosses(sim: SimulatorHandle, api: Api) -> None:
    trade(sim, "0.6", maker=True)  # a taker sell: the bid was at 0.6
    status, order, _ = await api.order(side="SELL", price="0.6001", quantity="5")
    assert status == 200, order
    _, book, _ = await api.get("/api/v3/depth", symbol="XRPUSDT", limit=10)
    bids = [D(p) for p, _ in book["bids"]]
    asks = [D(p) for p, _ in book["asks"]]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert bids[0] == D("0.6") and asks[0] == D("0.6001") and bids[0] < asks[0]
    assert book["asks"][0][1] == "7.00000000"  # 5 resting + the synthetic 2
    _, ticker, _ = await api.get("/api/v3/ticker/bookTicker", symbol="XRPUSDT")
    assert ticker == {"symbol": "XRPUSDT", "bidPrice": "0.60000000", "bidQty": "1.00000000",
                      "askPrice": "0.60010000", "askQty": "7.00000000"}  # fmt: skip


async def test_tickers(sim: SimulatorHandle, api: Api, clock: Clock) -> None:
    clock.now = T0 - 86_400_000 - 60_000
    trade(sim, "0.3", "1")  # before the 24 h window: the previous close
    for i, (price, qty) in enumerate((("0.5", "10"), ("0.7", "2"), ("0.6", "4"))):
        clock.now = T0 + i * 1000
        trade(sim, price, qty)
    trade(sim, "1500", "0.5", symbol="ETHUSDT")
    _, price, _ = await api.get("/api/v3/ticker/price", symbol="XRPUSDT")
    assert price == {"symbol": "XRPUSDT", "price": "0.60000000"}
    _, prices, _ = await api.get("/api/v3/ticker/price")
    assert prices == [price, {"symbol": "ETHUSDT", "price": "1500.00000000"}]
    _, listed, _ = await api.get("/api/v3/ticker/price", symbols=SYMBOLS)
    assert listed == prices
    _, full, _ = await api.get("/api/v3/ticker/24hr", symbol="XRPUSDT")
    assert full == {
        "symbol": "XRPUSDT", "priceChange": "0.10000000", "priceChangePercent": "20.000",
        "weightedAvgPrice": "0.55000000", "prevClosePrice": "0.30000000",
        "lastPrice": "0.60000000", "lastQty": "4.00000000",
        "bidPrice": "0.59990000", "bidQty": full["bidQty"], "askPrice": "0.60000000",
        "askQty": full["askQty"], "openPrice": "0.50000000", "highPrice": "0.70000000",
        "lowPrice": "0.50000000", "volume": "16.00000000", "quoteVolume": "8.80000000",
        "openTime": T0 + 2000 - 86_400_000, "closeTime": T0 + 2000,
        "firstId": 2, "lastId": 4, "count": 3,
    }  # fmt: skip
    _, mini, _ = await api.get("/api/v3/ticker/24hr", symbols=SYMBOLS, type="MINI")
    assert [m["symbol"] for m in mini] == ["XRPUSDT", "ETHUSDT"]
    assert list(mini[0]) == ["symbol", "openPrice", "highPrice", "lowPrice", "lastPrice",
                             "volume", "quoteVolume", "openTime", "closeTime", "firstId",
                             "lastId", "count"]  # fmt: skip
    _, everything, _ = await api.get("/api/v3/ticker/24hr")
    assert [t["symbol"] for t in everything] == ["XRPUSDT", "ETHUSDT"]
    _, books, _ = await api.get("/api/v3/ticker/bookTicker")
    assert [b["symbol"] for b in books] == ["XRPUSDT", "ETHUSDT"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"symbol": "XRPUSDT", "symbols": SYMBOLS}, -1128),
        ({"symbols": "XRPUSDT"}, -1100),
        ({"symbols": "%5B%22DOGEUSDT%22%5D"}, -1121),
        ({"symbol": "DOGEUSDT"}, -1121),
        ({"type": "HUGE"}, -1100),
    ],
)
async def test_ticker_errors(api: Api, params: dict[str, Any], code: int) -> None:
    status, body = await error(api, "/api/v3/ticker/24hr", **params)
    assert (status, body["code"]) == (400, code), body


async def test_avg_price(sim: SimulatorHandle, api: Api, clock: Clock) -> None:
    _, body, _ = await api.get("/api/v3/avgPrice", symbol="XRPUSDT")
    assert body == {"mins": 5, "price": "0.00000000", "closeTime": 0}
    clock.now = T0 - 400_000
    trade(sim, "9", "100")  # more than 5 minutes ago: not averaged
    clock.now = T0
    trade(sim, "1", "1")
    trade(sim, "2", "3")
    _, body, _ = await api.get("/api/v3/avgPrice", symbol="XRPUSDT")
    assert body == {"mins": 5, "price": "1.75000000", "closeTime": T0}
    clock.now = T0 + 600_000  # no trade in the last 5 minutes: the last price
    _, body, _ = await api.get("/api/v3/avgPrice", symbol="XRPUSDT")
    assert body["price"] == "2.00000000"


async def test_weights(api: Api) -> None:
    _, _, first = await api.get("/api/v3/trades", symbol="XRPUSDT")
    _, _, second = await api.get("/api/v3/klines", symbol="XRPUSDT", interval="1m")
    used = int(second["X-MBX-USED-WEIGHT-1M"]) - int(first["X-MBX-USED-WEIGHT-1M"])
    assert used == 2
    _, _, deep = await api.get("/api/v3/depth", symbol="XRPUSDT", limit=5000)
    assert int(deep["X-MBX-USED-WEIGHT-1M"]) - int(second["X-MBX-USED-WEIGHT-1M"]) == 250
    assert rest_weight("GET", "/api/v3/depth", True, {"limit": "5000"}) == 250
    assert rest_weight("GET", "/api/v3/depth", True, {"limit": "500"}) == 25
    assert rest_weight("GET", "/api/v3/depth", True) == 5
    assert rest_weight("GET", "/api/v3/ticker/24hr", False) == 80
    assert rest_weight("GET", "/api/v3/ticker/24hr", False, {"symbols": '["A","B"]'}) == 2
    assert rest_weight("GET", "/api/v3/ticker/price", False) == 4
    assert rest_weight("GET", "/api/v3/ticker/bookTicker", True) == 2


# -- kline aggregation, property-based ------------------------------------------------------
TRADES = st.lists(
    st.tuples(
        st.integers(0, 200_000),  # ms since the previous trade
        st.integers(1, 5_000),  # price in ticks of 0.01
        st.integers(1, 1_000),  # quantity in steps of 0.1
        st.booleans(),
    ),
    min_size=1,
    max_size=60,
)


def _direct(trades: list[TradeEvent], width: int, first: int, last: int) -> list[list[Any]]:
    """Klines of `width` ms straight from the trades, flat at the last close when empty."""
    out, close = [], None
    for start in range(first, last + 1, width):
        inside = [t for t in trades if start <= t.trade_time < start + width]
        if inside:
            prices = [t.price for t in inside]
            volume = sum((t.quantity for t in inside), D(0))
            quote = sum((t.price * t.quantity for t in inside), D(0))
            buys = [t for t in inside if not t.buyer_market_maker]
            row = [start, prices[0], max(prices), min(prices), prices[-1], volume, quote,
                   len(inside), inside[0].trade_id, inside[-1].trade_id,
                   sum((t.quantity for t in buys), D(0)),
                   sum((t.price * t.quantity for t in buys), D(0))]  # fmt: skip
            close = prices[-1]
        else:
            row = [start, close, close, close, close, D(0), D(0), 0, -1, -1, D(0), D(0)]
        out.append(kline_row(start + width - 1, row))
    return out


def _merge(rows: list[list[Any]], width: int) -> list[list[Any]]:
    """1m klines (formatted) rebuilt into klines of `width` ms."""
    groups: dict[int, list[list[Any]]] = {}
    for row in rows:
        groups.setdefault(row[0] - row[0] % width, []).append(row)
    out = []
    for start, group in groups.items():
        traded = [r for r in group if r[8]] or group  # flat minutes only carry the last close
        total = [sum((D(r[i]) for r in group), D(0)) for i in (5, 7, 9, 10)]
        out.append([start, traded[0][1], max(traded, key=lambda r: D(r[2]))[2],
                    min(traded, key=lambda r: D(r[3]))[3], traded[-1][4],
                    f"{total[0]:.8f}", start + width - 1, f"{total[1]:.8f}",
                    sum(r[8] for r in group), f"{total[2]:.8f}", f"{total[3]:.8f}",
                    "0"])  # fmt: skip
    return out


@settings(max_examples=60, deadline=None)
@given(TRADES)
def test_klines_aggregate_across_intervals(spec: list[tuple[int, int, int, bool]]) -> None:
    history, trades, now = SymbolHistory(), [], T0
    for i, (gap, ticks, steps, maker) in enumerate(spec):
        now += gap
        event = TradeEvent("XRPUSDT", i + 1, D(ticks) / 100, D(steps) / 10, now, maker, now)
        history.add(event)
        trades.append(event)
    five = [kline_row(c, r) for c, r in klines(history, "5m", T0 - T0 % 300_000, None, 1000, now)]
    ones = [kline_row(c, r) for c, r in klines(history, "1m", T0, None, 1000, now)]
    begin = trades[0].trade_time
    assert ones == _direct(trades, 60_000, period_start(begin, "1m"), period_start(now, "1m"))
    assert five == _direct(trades, 300_000, period_start(begin, "5m"), period_start(now, "5m"))
    assert _merge(ones, 300_000) == five
