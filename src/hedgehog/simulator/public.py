"""Binance's public market-data REST endpoints, over the simulator's own trades and orders.

Unsigned, shapes and errors as Binance spot (`hedgehog.simulator.params`):

- `GET /api/v3/trades` (symbol, limit 500/1000), `/historicalTrades` (+ fromId; no API key
  needed, as Binance now), `/aggTrades` (fromId | startTime/endTime, limit): each of our
  trades is its own aggregate trade;
- `GET /api/v3/klines`, `/uiKlines` (symbol, interval 1s..1M, startTime, endTime, timeZone,
  limit 500/1000): 12-field arrays (`hedgehog.simulator.klines`);
- `GET /api/v3/depth` (symbol, limit 100/5000): the resting orders plus a synthetic ladder
  around the last price (`hedgehog.simulator.book`);
- `GET /api/v3/ticker/price`, `/ticker/bookTicker`, `/ticker/24hr` (type FULL|MINI): for
  `symbol`, `symbols=["A","B"]` or all; a rolling 24 h window (minute precision);
- `GET /api/v3/avgPrice`: volume-weighted price of the last 5 minutes (else the last price).

The data comes from `Market.trade_listeners` (`on_trade`), which also feeds the aggTrade,
kline, bookTicker and depth streams (`hedgehog.simulator.market_streams`).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from aiohttp import web

from hedgehog.core.types import TradeEvent
from hedgehog.simulator.auth import ApiError, missing
from hedgehog.simulator.book import BookMaker
from hedgehog.simulator.history import (
    CLOSE,
    COUNT,
    FIRST,
    HIGH,
    LAST,
    LOW,
    OPEN,
    QUOTE,
    VOLUME,
    SymbolHistory,
)
from hedgehog.simulator.klines import INTERVALS, kline_row, klines, parse_time_zone
from hedgehog.simulator.market import Market, amount
from hedgehog.simulator.market_streams import MarketStreams
from hedgehog.simulator.params import (
    BAD_COMBINATION,
    BAD_INTERVAL,
    INVALID_PARAMETER,
    Query,
)
from hedgehog.simulator.rest import reply
from hedgehog.simulator.streams import StreamHub

DAY_MS = 86_400_000
AVG_PRICE_MINS = 5
_EIGHT = Decimal("0.00000001")
_ZERO = Decimal(0)


class PublicApi:
    """Trade history of every symbol, the REST handlers over it, and the streams it feeds."""

    def __init__(self, market: Market, hub: StreamHub) -> None:
        self.market = market
        self.histories = {s: SymbolHistory() for s in market.symbols}
        self.books = BookMaker(market, self.histories)
        # the market's clock, looked up at each call (tests replace it)
        self.streams = MarketStreams(hub, self.histories, self.books, lambda: market.now_ms())
        market.trade_listeners.append(self.on_trade)

    def on_trade(self, trade: TradeEvent) -> None:
        history = self.histories.get(trade.symbol)
        if history is None:
            return
        history.add(trade)
        self.books.on_trade(trade.symbol)
        self.streams.on_trade(trade)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v3/trades", self.trades),
            web.get("/api/v3/historicalTrades", self.historical_trades),
            web.get("/api/v3/aggTrades", self.agg_trades),
            web.get("/api/v3/klines", self.klines),
            web.get("/api/v3/uiKlines", self.klines),
            web.get("/api/v3/depth", self.depth),
            web.get("/api/v3/ticker/price", self.ticker_price),
            web.get("/api/v3/ticker/bookTicker", self.book_ticker),
            web.get("/api/v3/ticker/24hr", self.ticker_24hr),
            web.get("/api/v3/avgPrice", self.avg_price),
        ]

    def _query(self, request: web.Request) -> Query:
        return Query(request, self.market.symbols)

    # -- trades ------------------------------------------------------------------------------
    async def trades(self, request: web.Request) -> web.Response:
        query = self._query(request)
        history = self.histories[query.symbol()]
        return reply([_trade(t) for t in history.recent(query.limit(500, 1000))])

    async def historical_trades(self, request: web.Request) -> web.Response:
        query = self._query(request)
        history = self.histories[query.symbol()]
        limit, from_id = query.limit(500, 1000), query.integer("fromId")
        trades = history.recent(limit) if from_id is None else history.from_id(from_id, limit)
        return reply([_trade(t) for t in trades])

    async def agg_trades(self, request: web.Request) -> web.Response:
        query = self._query(request)
        history = self.histories[query.symbol()]
        limit, from_id = query.limit(500, 1000), query.integer("fromId")
        start, end = query.integer("startTime"), query.integer("endTime")
        if from_id is not None and (start is not None or end is not None):
            raise ApiError(BAD_COMBINATION, "Combination of optional parameters invalid.")
        if from_id is not None:
            trades = history.from_id(from_id, limit)
        elif start is not None or end is not None:
            trades = history.between(start, end, limit)
        else:
            trades = history.recent(limit)
        return reply([_agg_trade(t) for t in trades])

    # -- klines ------------------------------------------------------------------------------
    async def klines(self, request: web.Request) -> web.Response:
        query = self._query(request)
        symbol = query.symbol()
        interval = query.text("interval")
        if interval is None:
            raise missing("interval")
        if interval not in INTERVALS:
            raise ApiError(BAD_INTERVAL, "Invalid interval.")
        start, end = query.integer("startTime"), query.integer("endTime")
        limit = query.limit(500, 1000)
        zone = query.text("timeZone")
        offset = 0 if zone is None else parse_time_zone(zone)
        if offset is None:
            raise ApiError(INVALID_PARAMETER, "Data sent for parameter 'timeZone' is not valid.")
        rows = klines(self.histories[symbol], interval, start, end, limit, self.market.now_ms(),
                      offset)  # fmt: skip
        return reply([kline_row(close, row) for close, row in rows])

    # -- book --------------------------------------------------------------------------------
    async def depth(self, request: web.Request) -> web.Response:
        query = self._query(request)
        symbol = query.symbol()
        return reply(self.books.book(symbol, query.limit(100, 5000)).depth())

    async def book_ticker(self, request: web.Request) -> web.Response:
        symbols, single = self._query(request).symbols()
        answers = []
        for symbol in symbols:
            bid, ask = self.books.book(symbol, 1).best()
            answers.append({"symbol": symbol,
                            "bidPrice": amount(bid[0] if bid else _ZERO),
                            "bidQty": amount(bid[1] if bid else _ZERO),
                            "askPrice": amount(ask[0] if ask else _ZERO),
                            "askQty": amount(ask[1] if ask else _ZERO)})  # fmt: skip
        return reply(answers[0] if single else answers)

    # -- tickers -----------------------------------------------------------------------------
    async def ticker_price(self, request: web.Request) -> web.Response:
        symbols, single = self._query(request).symbols()
        answers = [{"symbol": s, "price": amount(self._last_price(s))} for s in symbols]
        return reply(answers[0] if single else answers)

    async def ticker_24hr(self, request: web.Request) -> web.Response:
        query = self._query(request)
        symbols, single = query.symbols()
        full = query.choice("type", ("FULL", "MINI"), "FULL") == "FULL"
        now = self.market.now_ms()
        answers = [self._ticker(s, now, full) for s in symbols]
        return reply(answers[0] if single else answers)

    async def avg_price(self, request: web.Request) -> web.Response:
        symbol = self._query(request).symbol()
        history = self.histories[symbol]
        last = history.last
        window = history.window(self.market.now_ms() - AVG_PRICE_MINS * 60_000, seconds=True)
        if window is not None and window[VOLUME] > 0:
            price = (window[QUOTE] / window[VOLUME]).quantize(_EIGHT, ROUND_DOWN)
        else:
            price = last.price if last is not None else _ZERO
        return reply({"mins": AVG_PRICE_MINS, "price": amount(price),
                      "closeTime": last.trade_time if last is not None else 0})  # fmt: skip

    def _last_price(self, symbol: str) -> Decimal:
        last = self.histories[symbol].last
        return last.price if last is not None else _ZERO

    def _ticker(self, symbol: str, now: int, full: bool) -> dict[str, Any]:
        """The rolling 24 h statistics of `symbol` (`/ticker/24hr`), FULL or MINI."""
        history = self.histories[symbol]
        since = now - DAY_MS
        window, last = history.window(since), history.last
        last_price = last.price if last is not None else _ZERO
        if window is None:
            open_ = high = low = last_price
            volume = quote = _ZERO
            first_id, last_id, count = -1, -1, 0
        else:
            open_, high, low = window[OPEN], window[HIGH], window[LOW]
            volume, quote = window[VOLUME], window[QUOTE]
            first_id, last_id, count = window[FIRST], window[LAST], window[COUNT]
            last_price = window[CLOSE]
        answer: dict[str, Any] = {"symbol": symbol}
        if full:
            change = last_price - open_
            percent = change / open_ * 100 if open_ else _ZERO
            average = (quote / volume).quantize(_EIGHT, ROUND_DOWN) if volume else _ZERO
            prev_close = history.close_before(since)
            bid, ask = self.books.book(symbol, 1).best()
            answer.update({
                "priceChange": amount(change), "priceChangePercent": f"{percent:.3f}",
                "weightedAvgPrice": amount(average),
                "prevClosePrice": amount(prev_close if prev_close is not None else open_),
                "lastPrice": amount(last_price),
                "lastQty": amount(last.quantity if last is not None else _ZERO),
                "bidPrice": amount(bid[0] if bid else _ZERO),
                "bidQty": amount(bid[1] if bid else _ZERO),
                "askPrice": amount(ask[0] if ask else _ZERO),
                "askQty": amount(ask[1] if ask else _ZERO),
            })  # fmt: skip
        answer.update({
            "openPrice": amount(open_), "highPrice": amount(high), "lowPrice": amount(low),
            "lastPrice": amount(last_price), "volume": amount(volume),
            "quoteVolume": amount(quote), "openTime": since, "closeTime": now,
            "firstId": first_id, "lastId": last_id, "count": count,
        })  # fmt: skip
        return answer


def _trade(trade: TradeEvent) -> dict[str, Any]:
    quote = (trade.price * trade.quantity).normalize()
    return {"id": trade.trade_id, "price": amount(trade.price), "qty": amount(trade.quantity),
            "quoteQty": format(quote, "f"), "time": trade.trade_time,
            "isBuyerMaker": trade.buyer_market_maker, "isBestMatch": True}  # fmt: skip


def _agg_trade(trade: TradeEvent) -> dict[str, Any]:
    return {"a": trade.trade_id, "p": amount(trade.price), "q": amount(trade.quantity),
            "f": trade.trade_id, "l": trade.trade_id, "T": trade.trade_time,
            "m": trade.buyer_market_maker, "M": True}  # fmt: skip
