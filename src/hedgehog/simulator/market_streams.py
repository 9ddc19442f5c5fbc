"""The market streams beside `@trade`, made from the same trades, as Binance pushes them.

- `<symbol>@aggTrade`: each trade is its own aggregate trade (`a` = `f` = `l` = trade id);
- `<symbol>@kline_<interval>`: the open kline after each trade; when its period ends, once
  more with `x` true (at the next 100 ms tick, or before the next period's first trade);
- `<symbol>@bookTicker`: best bid and ask, after each trade and whenever the resting orders
  change them (checked every 100 ms);
- `<symbol>@depth<5|10|20>` and `@depth<n>@100ms`: the partial book `{lastUpdateId, bids,
  asks}` every 1000 ms or 100 ms.

Nothing is computed for a symbol nobody listens to: `refresh` (called by the hub on every
subscription change) lists the watched streams, and the 100 ms timer of the event loop runs only
while one of them needs it. `tick()` is that timer's body, for tests to call directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hedgehog.core.types import TradeEvent
from hedgehog.simulator.book import Book, BookMaker
from hedgehog.simulator.history import TIME, Bucket, SymbolHistory, add_trade
from hedgehog.simulator.klines import kline_at, kline_event, next_start, period_start
from hedgehog.simulator.klines import source as kline_source
from hedgehog.simulator.market import amount
from hedgehog.simulator.streams import DEPTH_LEVELS, KLINE_INTERVALS, StreamHub

TICK = 0.1  # seconds
_DEPTH = max(DEPTH_LEVELS)
_ZERO = amount(Decimal(0))


class _Kline:
    __slots__ = ("close_time", "closed", "row")

    def __init__(self, row: Bucket, close_time: int) -> None:
        self.row, self.close_time, self.closed = row, close_time, False


class MarketStreams:
    """Frames of the aggTrade, kline, bookTicker and partial depth streams of a `StreamHub`."""

    def __init__(
        self,
        hub: StreamHub,
        histories: dict[str, SymbolHistory],
        books: BookMaker,
        now_ms: Callable[[], int],
    ) -> None:
        self.hub, self.histories, self.books, self.now_ms = hub, histories, books, now_ms
        # stream name -> (symbol, kind, argument)
        self.kinds: dict[str, tuple[str, str, Any]] = {}
        for symbol in histories:
            s = symbol.lower()
            self.kinds[f"{s}@aggTrade"] = (symbol, "aggTrade", None)
            self.kinds[f"{s}@bookTicker"] = (symbol, "bookTicker", None)
            for interval in KLINE_INTERVALS:
                self.kinds[f"{s}@kline_{interval}"] = (symbol, "kline", interval)
            for n in DEPTH_LEVELS:
                self.kinds[f"{s}@depth{n}"] = (symbol, "depth", (n, 10))
                self.kinds[f"{s}@depth{n}@100ms"] = (symbol, "depth", (n, 1))
        self.watched: dict[str, list[str]] = {}  # symbol -> its watched stream names
        self._klines: dict[str, _Kline] = {}
        self._best: dict[str, Any] = {}
        self._timer: asyncio.TimerHandle | None = None
        self.ticks = 0
        hub.on_change = self.refresh

    def refresh(self) -> None:
        """Note which streams have subscribers; start or stop the timer."""
        watched: dict[str, list[str]] = {}
        for name, clients in self.hub.subscribers.items():
            kind = self.kinds.get(name)
            if clients and kind is not None:
                watched.setdefault(kind[0], []).append(name)
        self.watched = watched
        names = {n for group in watched.values() for n in group}
        self._klines = {n: k for n, k in self._klines.items() if n in names}
        self._best = {n: b for n, b in self._best.items() if n in names}
        if watched and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(TICK, self._on_timer)
        elif not watched and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- per trade ---------------------------------------------------------------------------
    def on_trade(self, trade: TradeEvent) -> None:
        names = self.watched.get(trade.symbol)
        if not names:
            return
        for name in names:
            _, kind, arg = self.kinds[name]
            if kind == "aggTrade":
                self.hub.send(name, _agg_trade(trade))
            elif kind == "kline":
                self._kline(name, arg, trade)
            elif kind == "bookTicker":
                self._book_ticker(name, trade.symbol, self.books.book(trade.symbol, 1))

    def _kline(self, name: str, interval: str, trade: TradeEvent) -> None:
        state = self._klines.get(name)
        symbol = trade.symbol
        start = period_start(trade.trade_time, interval)
        now = self.now_ms()
        if state is None or start > state.row[TIME]:
            if state is not None and not state.closed:
                self._close(name, symbol, interval, state, now)
            after = next_start(start, interval)
            # history holds this trade already: the period so far, this trade included
            row = kline_at(kline_source(self.histories[symbol], interval), start, after)
            if row is None:
                return
            state = self._klines[name] = _Kline(row, after - 1)
        else:
            add_trade(state.row, trade, trade.price * trade.quantity)
            state.closed = False
        self.hub.send(name, kline_event(symbol, interval, state.close_time, state.row, False, now))

    def _close(self, name: str, symbol: str, interval: str, state: _Kline, now: int) -> None:
        state.closed = True
        self.hub.send(name, kline_event(symbol, interval, state.close_time, state.row, True, now))

    def _book_ticker(self, name: str, symbol: str, book: Book) -> None:
        bid, ask = book.best()
        if self._best.get(name) == (bid, ask):
            return
        self._best[name] = (bid, ask)
        zero = _ZERO
        self.hub.send(name, {
            "u": book.update_id, "s": symbol,
            "b": amount(bid[0]) if bid else zero, "B": amount(bid[1]) if bid else zero,
            "a": amount(ask[0]) if ask else zero, "A": amount(ask[1]) if ask else zero,
        })  # fmt: skip

    # -- timer -------------------------------------------------------------------------------
    def _on_timer(self) -> None:
        self._timer = None
        self.tick()
        if self.watched and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(TICK, self._on_timer)

    def tick(self) -> None:
        """Push what is due every 100 ms: depth snapshots, changed book tickers, ended klines."""
        self.ticks += 1
        now = self.now_ms()
        for symbol, names in self.watched.items():
            book: Book | None = None
            depth: dict[str, Any] | None = None
            deep = any(self.kinds[n][1] == "depth" for n in names)
            for name in names:
                _, kind, arg = self.kinds[name]
                if kind == "depth":
                    levels, every = arg
                    if self.ticks % every:
                        continue
                    if depth is None:
                        book = book or self.books.book(symbol, _DEPTH)
                        depth = book.depth()
                    self.hub.send(name, {"lastUpdateId": depth["lastUpdateId"],
                                         "bids": depth["bids"][:levels],
                                         "asks": depth["asks"][:levels]})  # fmt: skip
                elif kind == "bookTicker":
                    book = book or self.books.book(symbol, _DEPTH if deep else 1)
                    self._book_ticker(name, symbol, book)
                elif kind == "kline":
                    state = self._klines.get(name)
                    if state is not None and not state.closed and now > state.close_time:
                        self._close(name, symbol, arg, state, now)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _agg_trade(trade: TradeEvent) -> dict[str, Any]:
    return {"e": "aggTrade", "E": trade.event_time or trade.trade_time, "s": trade.symbol,
            "a": trade.trade_id, "p": amount(trade.price), "q": amount(trade.quantity),
            "f": trade.trade_id, "l": trade.trade_id, "T": trade.trade_time,
            "m": trade.buyer_market_maker, "M": True}  # fmt: skip
