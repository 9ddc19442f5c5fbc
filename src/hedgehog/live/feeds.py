"""Where fills come from in live trading, as processes under the node's root supervisor.

- `PaperFeeder`: the paper exchange matches against the live trade stream; this process feeds
  it every trade of the traded symbols (it subscribes before the traders, so a trade's fills
  are published before the traders see the trade).
- `FillRouter`: on Binance, fills arrive on the user data stream (WebSocket API) and are
  published as `OrderUpdate`s on `ORDERS:<SYMBOL>`. After each reconnect, and every so often,
  open orders are reconciled over REST; while the stream is down they are polled.
- `WatchedExchange`: tells the router about each order placed or looked up, so an order that
  fills between two polls is still caught.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import (
    Fill,
    Order,
    OrderUpdate,
    Side,
    TradeEvent,
    orders_topic,
    trade_topic,
)
from hedgehog.exchange.base import Balance, Exchange
from hedgehog.exchange.binance.reconcile import OrderPoller
from hedgehog.exchange.binance.rest import BinanceExchange
from hedgehog.exchange.binance.user_stream import UserDataStream
from hedgehog.exchange.paper.exchange import PaperExchange
from hedgehog.live.messages import UnwatchSymbol, WatchOrder, WatchSymbol
from hedgehog.runtime import Process
from hedgehog.runtime.pubsub import PubSub

log = logging.getLogger("hedgehog.live")


class PaperFeeder(Process):
    def init(self, pubsub: PubSub, exchange: PaperExchange) -> None:
        self.pubsub = pubsub
        self.exchange = exchange
        self.trades = 0

    def handle_cast(self, message: Any) -> None:
        match message:
            case WatchSymbol(symbol):
                self.pubsub.subscribe(self, trade_topic(symbol))
            case UnwatchSymbol(symbol):
                self.pubsub.unsubscribe(self, trade_topic(symbol))

    def handle_info(self, message: Any) -> None:
        if type(message) is TradeEvent:
            self.trades += 1
            self.exchange.process_trade(message)

    def info(self) -> dict[str, Any]:
        return {"exchange": "paper", "trades_matched": self.trades}


class FillRouter(Process):
    """Owns the user data stream and the order poller of one Binance account."""

    async def init(
        self,
        pubsub: PubSub,
        exchange: BinanceExchange,
        api_key: str,
        api_secret: str,
        ws_api_url: str,
        poll_interval: float = 10.0,
    ) -> None:
        self.pubsub = pubsub
        self.exchange = exchange
        self.updates = 0
        self.poller = OrderPoller(exchange, (), self._publish, interval=poll_interval)
        self.stream = UserDataStream(
            api_key,
            api_secret,
            ws_api_url,
            on_update=self._publish,
            on_reconnect=self._reconcile,
            time_offset=lambda: exchange.time_offset_ms,
        )
        self._tasks = [
            asyncio.create_task(self._guard(self.stream.run(), "user data stream")),
            asyncio.create_task(self._guard(self.poller.run(), "order poller")),
        ]

    async def _guard(self, work: Any, what: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a dead feed must not go unnoticed: crash, get restarted
            log.error("%s failed: %s", what, exc)
            self.rt.send(self, ("failed", what, exc))

    def handle_cast(self, message: Any) -> None:
        match message:
            case WatchSymbol(symbol):
                self.poller.add_symbol(symbol)
            case UnwatchSymbol(symbol):
                self.poller.remove_symbol(symbol)
            case WatchOrder(order):
                self.poller.watch(order)

    def handle_info(self, message: Any) -> None:
        match message:
            case ("failed", what, exc):
                raise RuntimeError(f"{what} stopped: {exc}") from exc

    async def terminate(self, reason: Any) -> None:
        await self.stream.close()
        self.poller.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _publish(self, update: OrderUpdate) -> None:
        self.updates += 1
        self.pubsub.broadcast(orders_topic(update.symbol), update)

    async def _reconcile(self) -> None:
        await self.poller.poll_once()

    def info(self) -> dict[str, Any]:
        status = self.exchange.rate_limit_status()
        return {
            "exchange": "binance",
            "user_stream_connected": self.stream.connected,
            "last_message_at": self.stream.last_message_at,
            "reconnects": self.stream.reconnects,
            "updates": self.updates,
            "weight_used": status.weight_used,
            "banned": status.banned,
        }


class WatchedExchange:
    """An `Exchange` that reports every order it sees to `on_order` (the router's poller)."""

    def __init__(self, inner: Exchange, on_order: Callable[[Order], None]) -> None:
        self.inner = inner
        self.on_order = on_order

    async def symbol_filters(self, symbol: str) -> SymbolFilters:
        return await self.inner.symbol_filters(symbol)

    async def place_limit_order(
        self, symbol: str, side: Side, price: Decimal, quantity: Decimal, client_order_id: str
    ) -> Order:
        order = await self.inner.place_limit_order(symbol, side, price, quantity, client_order_id)
        self.on_order(order)
        return order

    async def place_market_order(
        self, symbol: str, side: Side, quantity: Decimal, client_order_id: str
    ) -> Order:
        order = await self.inner.place_market_order(symbol, side, quantity, client_order_id)
        self.on_order(order)
        return order

    async def get_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        order = await self.inner.get_order(
            symbol, client_order_id=client_order_id, order_id=order_id
        )
        if order.status.is_open:
            self.on_order(order)
        return order

    async def cancel_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        return await self.inner.cancel_order(
            symbol, client_order_id=client_order_id, order_id=order_id
        )

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        return await self.inner.open_orders(symbol)

    async def balances(self) -> dict[str, Balance]:
        return await self.inner.balances()

    async def order_fills(self, symbol: str, order_id: int) -> list[Fill]:
        return await self.inner.order_fills(symbol, order_id)
