"""The observer: a read-only process that follows symbols' trades and order updates and keeps
what people watch — last price, recent price bars, our orders and fills, completed cycles,
realised and unrealised PnL over time. The live view and the dashboard read it; it changes
nothing, so it can never disturb trading.

Prices are bars folded from every trade by `hedgehog.market.bars.PriceAggregator`: the OHLC of
the bars that make the simulator's klines, the strategies' bars and the backtest report's
charts, without their volumes' exact sums (a few comparisons per live trade): 1 s
bars while the symbol has less than SECONDS_SPAN_MS of trade time, 1 min bars after that (the
1 s ones then dropped). Memory is bounded as before: the last RECENT_BARS closed bars, each
kept as a `PriceBar` (its open time and exact OHLC, not the volumes the chart never shows).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from hedgehog.core.client_ids import cycle_key
from hedgehog.core.decimals import ZERO, fmt
from hedgehog.core.pnl import cycle_pnl
from hedgehog.core.types import (
    Order,
    OrderStatus,
    OrderUpdate,
    Side,
    TradeEvent,
    orders_topic,
    trade_topic,
)
from hedgehog.market.bars import Bar, PriceAggregator
from hedgehog.naive.messages import Watch
from hedgehog.runtime import Process
from hedgehog.runtime.pubsub import PubSub

RECENT = 2_000  # recent fills and PnL points kept per symbol (for charts)
RECENT_BARS = 1_440  # closed price bars kept per symbol: a day of 1 min bars
SAMPLE_MS = 1_000  # PnL sampled at most once a second of trade time
SECONDS_SPAN_MS = 5 * 60_000  # less trade time seen than this: 1 s bars, else 1 min bars


class PriceBar(NamedTuple):
    """What a price chart draws of a `Bar`: its interval's open time (ms) and exact OHLC."""

    time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal

    @classmethod
    def of(cls, bar: Bar) -> PriceBar:
        return cls(bar.open_time, bar.open, bar.high, bar.low, bar.close)


class PriceBars:
    """One symbol's recent bars: 1 s bars until SECONDS_SPAN_MS of trade time has passed since
    its first trade seen, then 1 min bars; the last RECENT_BARS closed ones and the open one."""

    __slots__ = ("_closed", "_first", "_minutes", "_seconds", "_seconds_closed")

    def __init__(self, symbol: str) -> None:
        self._first: int | None = None
        self._minutes = PriceAggregator("1m")
        self._closed: deque[PriceBar] = deque(maxlen=RECENT_BARS)
        self._seconds: PriceAggregator | None = PriceAggregator("1s")
        self._seconds_closed: deque[PriceBar] = deque(maxlen=SECONDS_SPAN_MS // 1_000 + 1)

    def add(self, trade: TradeEvent) -> None:
        """Fold one trade of the symbol (in the order they arrive)."""
        if self._first is None:
            self._first = trade.trade_time
        closed = self._minutes.add(trade)
        if closed is not None:
            self._closed.append(PriceBar(*closed))
        seconds = self._seconds
        if seconds is None:
            return
        if trade.trade_time - self._first >= SECONDS_SPAN_MS:  # enough for minutes: for good
            self._seconds = None
            self._seconds_closed.clear()
            return
        closed = seconds.add(trade)
        if closed is not None:
            self._seconds_closed.append(PriceBar(*closed))

    @property
    def interval(self) -> str:
        """The interval shown: "1s" or "1m"."""
        return "1m" if self._seconds is None else "1s"

    def bars(self) -> list[PriceBar]:
        """The bars shown, oldest first: the closed ones kept, then the one in progress."""
        aggregator = self._seconds or self._minutes
        closed = self._closed if self._seconds is None else self._seconds_closed
        current = aggregator.current
        return [*closed, *([PriceBar(*current)] if current is not None else [])]


@dataclass
class SymbolView:
    symbol: str
    fee: Decimal
    last_price: Decimal | None = None
    last_time: int = 0
    trades: int = 0
    prices: PriceBars = field(init=False)
    orders: dict[str, Order] = field(default_factory=dict)
    fills: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT))
    filled_buys: dict[str, Order] = field(default_factory=dict)  # cycle key -> buy
    cycles: int = 0
    realised: Decimal = ZERO
    fees: Decimal = ZERO
    pnl: deque[tuple[int, str, str]] = field(default_factory=lambda: deque(maxlen=RECENT))

    def __post_init__(self) -> None:
        self.prices = PriceBars(self.symbol)

    def unrealised(self) -> Decimal:
        if self.last_price is None:
            return ZERO
        total = ZERO
        for buy in self.filled_buys.values():
            q = buy.executed_qty
            total += cycle_pnl(q, buy.price, self.last_price, self.fee)
        return total

    def open_orders(self) -> list[Order]:
        return [o for o in self.orders.values() if o.status.is_open]

    def summary(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "last_price": fmt(self.last_price) if self.last_price is not None else None,
            "trades": self.trades,
            "open_orders": len(self.open_orders()),
            "cycles_completed": self.cycles,
            "realised_pnl": fmt(self.realised),
            "unrealised_pnl": fmt(self.unrealised()),
            "fees_paid": fmt(self.fees),
        }


class Observer(Process):
    """`watch(symbol, fee)` with a cast; read `views` (it is never written from outside)."""

    def init(self, pubsub: PubSub) -> None:
        self.pubsub = pubsub
        self.views: dict[str, SymbolView] = {}

    def handle_cast(self, message: Any) -> None:
        match message:
            case Watch(symbol, fee):
                if symbol not in self.views:
                    self.views[symbol] = SymbolView(symbol, fee)
                    self.pubsub.subscribe(self, trade_topic(symbol))
                    self.pubsub.subscribe(self, orders_topic(symbol))

    def handle_info(self, message: Any) -> None:
        if type(message) is TradeEvent:
            view = self.views.get(message.symbol)
            if view is None:
                return
            view.last_price = message.price
            view.trades += 1
            view.prices.add(message)
            if message.trade_time - view.last_time >= SAMPLE_MS:
                view.last_time = message.trade_time
                view.pnl.append((message.trade_time, fmt(view.realised), fmt(view.unrealised())))
        elif type(message) is OrderUpdate:
            self._on_update(message)

    def _on_update(self, update: OrderUpdate) -> None:
        order = update.order
        view = self.views.get(order.symbol)
        if view is None:
            return
        previous = view.orders.get(order.client_order_id)
        view.orders[order.client_order_id] = order
        if previous is not None and order.executed_qty <= previous.executed_qty:
            return  # the same fill again (user stream and poller both report it)
        if len(view.orders) > 5 * RECENT:  # forget the oldest closed orders
            for cid in [c for c, o in view.orders.items() if o.status.is_closed][:RECENT]:
                del view.orders[cid]
        if update.last_qty <= 0:
            return
        view.fees += update.last_qty * update.last_price * view.fee
        view.fills.append(
            {
                "time": update.event_time or order.update_time,
                "side": order.side.value,
                "price": fmt(update.last_price),
                "qty": fmt(update.last_qty),
                "client_order_id": order.client_order_id,
            }
        )
        if order.status != OrderStatus.FILLED:
            return
        key = cycle_key(order.client_order_id)
        if order.side == Side.BUY:
            view.filled_buys[key] = order
            return
        buy = view.filled_buys.pop(key, None)
        if buy is not None:
            q = order.executed_qty
            view.realised += cycle_pnl(q, buy.price, order.price, view.fee)
            view.cycles += 1

    def info(self) -> dict[str, Any]:
        return {s: v.summary() for s, v in self.views.items()}
