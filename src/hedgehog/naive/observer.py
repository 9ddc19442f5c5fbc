"""The observer: a read-only process that follows symbols' trades and order updates and keeps
what people watch — last price, recent prices, our orders and fills, completed cycles,
realised and unrealised PnL over time. The live view and the dashboard read it; it changes
nothing, so it can never disturb trading.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

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
from hedgehog.naive.messages import Watch
from hedgehog.runtime import Process
from hedgehog.runtime.pubsub import PubSub

RECENT = 2_000  # recent trades kept per symbol (for charts)
SAMPLE_MS = 1_000  # PnL sampled at most once a second of trade time


@dataclass
class SymbolView:
    symbol: str
    fee: Decimal
    last_price: Decimal | None = None
    last_time: int = 0
    trades: int = 0
    prices: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=RECENT))
    orders: dict[str, Order] = field(default_factory=dict)
    fills: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT))
    filled_buys: dict[str, Order] = field(default_factory=dict)  # cycle key -> buy
    cycles: int = 0
    realised: Decimal = ZERO
    fees: Decimal = ZERO
    pnl: deque[tuple[int, str, str]] = field(default_factory=lambda: deque(maxlen=RECENT))

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
            if message.trade_time - view.last_time >= SAMPLE_MS:
                view.last_time = message.trade_time
                view.prices.append((message.trade_time, str(message.price)))
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
