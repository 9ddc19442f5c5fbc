"""The order poller: fills and closes found by polling, delivered once each."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal as D

import pytest

from hedgehog.core.errors import ExchangeUnavailable, UnknownOrder
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Order, OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.exchange.base import Balance
from hedgehog.exchange.binance.reconcile import OrderPoller
from hedgehog.exchange.binance.rest import BinanceExchange
from hedgehog.exchange.paper.engine import MatchingEngine
from hedgehog.exchange.paper.exchange import PaperExchange
from tests.exchange.binance.fakes import FakeBinance

XRP = SymbolFilters("XRPUSDT", "XRP", "USDT", D("0.0001"), D("0.1"))


class Orders:
    """A hand-driven exchange: the test sets each order's state; polls read it."""

    def __init__(self) -> None:
        self.orders: dict[int, Order] = {}
        self.hidden: set[int] = set()  # open orders the listing leaves out (a race)
        self.fail_listing = 0
        self.fail_get: dict[int, Exception] = {}
        self.gets: list[int] = []

    def put(self, order: Order) -> Order:
        self.orders[order.order_id] = order
        return order

    def advance(self, oid: int, executed: str, status: OrderStatus) -> Order:
        o = self.orders[oid]
        qty = D(executed)
        return self.put(replace(o, executed_qty=qty, cumulative_quote_qty=qty * o.price,
                                status=status, update_time=o.update_time + 1))  # fmt: skip

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        if self.fail_listing:
            self.fail_listing -= 1
            raise ExchangeUnavailable("listing failed")
        return [
            o
            for o in self.orders.values()
            if o.status.is_open and o.symbol == symbol and o.order_id not in self.hidden
        ]

    async def get_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        assert order_id is not None
        self.gets.append(order_id)
        if order_id in self.fail_get:
            raise self.fail_get.pop(order_id)
        if order_id not in self.orders:
            raise UnknownOrder("Order does not exist.")
        return self.orders[order_id]


def new_order(oid: int = 1, price: str = "0.5", symbol: str = "XRPUSDT") -> Order:
    return Order(oid, f"hh-{oid}", symbol, Side.BUY, D(price), D(10), D(0), D(0),
                 OrderStatus.NEW, 1_000, 1_000)  # fmt: skip


@pytest.fixture
def book() -> Orders:
    return Orders()


@pytest.fixture
def delivered() -> list[OrderUpdate]:
    return []


@pytest.fixture
def poller(book: Orders, delivered: list[OrderUpdate]) -> OrderPoller:
    return OrderPoller(book, ["xrpusdt"], delivered.append, now_ms=lambda: 99)


async def test_partial_fills_and_the_close_are_delivered_once(
    poller: OrderPoller, book: Orders, delivered: list[OrderUpdate]
) -> None:
    book.put(new_order())
    assert await poller.poll_once() == []  # seen open, nothing executed
    assert 1 in poller.tracked
    book.advance(1, "4", OrderStatus.PARTIALLY_FILLED)
    (partial,) = await poller.poll_once()
    assert (partial.last_qty, partial.last_price) == (D(4), D("0.5"))
    assert (partial.commission, partial.commission_asset) == (D(0), "")
    assert partial.order.status is OrderStatus.PARTIALLY_FILLED and partial.event_time == 1_001
    assert await poller.poll_once() == []  # no change, no delivery
    book.advance(1, "10", OrderStatus.FILLED)
    (filled,) = await poller.poll_once()
    assert filled.order.status is OrderStatus.FILLED and filled.last_qty == D(6)
    assert book.gets == [1]
    assert await poller.poll_once() == [] and book.gets == [1]  # forgotten once closed
    assert delivered == [partial, filled]
    assert poller.tracked == {}


async def test_last_price_is_the_average_price_of_the_new_quantity(
    poller: OrderPoller, book: Orders
) -> None:
    book.put(new_order())
    await poller.poll_once()
    o = book.orders[1]
    book.put(replace(o, executed_qty=D(4), cumulative_quote_qty=D("1.9"),
                     status=OrderStatus.PARTIALLY_FILLED))  # fmt: skip
    (first,) = await poller.poll_once()
    assert first.last_price == D("0.475")
    book.put(replace(o, executed_qty=D(10), cumulative_quote_qty=D("4.9"),
                     status=OrderStatus.FILLED))  # fmt: skip
    (second,) = await poller.poll_once()
    assert (second.last_qty, second.last_price) == (D(6), D("0.5"))


async def test_a_canceled_order_is_delivered_with_nothing_executed(
    poller: OrderPoller, book: Orders
) -> None:
    book.put(new_order())
    await poller.poll_once()
    book.advance(1, "0", OrderStatus.CANCELED)
    (update,) = await poller.poll_once()
    assert update.order.status is OrderStatus.CANCELED
    assert (update.last_qty, update.last_price) == (D(0), D(0))


async def test_an_order_first_seen_partly_filled_is_delivered(
    poller: OrderPoller, book: Orders
) -> None:
    book.put(new_order())
    book.advance(1, "3", OrderStatus.PARTIALLY_FILLED)
    (update,) = await poller.poll_once()
    assert update.last_qty == D(3)


async def test_the_same_state_is_never_delivered_twice(
    poller: OrderPoller, book: Orders, delivered: list[OrderUpdate]
) -> None:
    book.put(new_order())
    await poller.poll_once()
    book.advance(1, "4", OrderStatus.PARTIALLY_FILLED)
    await poller.poll_once()
    book.advance(1, "3", OrderStatus.PARTIALLY_FILLED)  # a stale answer
    assert await poller.poll_once() == []
    book.advance(1, "4", OrderStatus.PARTIALLY_FILLED)
    assert await poller.poll_once() == []
    book.hidden.add(1)  # missing from the listing, but still open when fetched
    assert await poller.poll_once() == []
    book.hidden.clear()
    keys = [(u.order.order_id, u.order.executed_qty, u.order.status) for u in delivered]
    assert len(keys) == len(set(keys)) == 1


async def test_a_watched_order_that_closes_between_polls_is_caught(
    poller: OrderPoller, book: Orders
) -> None:
    placed = book.put(new_order(5, symbol="BTCUSDT"))
    poller.watch(placed)
    assert "BTCUSDT" in poller.symbols
    book.advance(5, "10", OrderStatus.FILLED)  # filled before any poll saw it open
    (update,) = await poller.poll_once()
    assert update.order.order_id == 5 and update.last_qty == D(10)
    poller.watch(book.orders[5])  # a closed order: nothing more to do
    assert await poller.poll_once() == []


async def test_errors_are_logged_and_retried_on_the_next_poll(
    poller: OrderPoller, book: Orders, caplog: pytest.LogCaptureFixture
) -> None:
    book.put(new_order(1))
    book.put(new_order(2))
    await poller.poll_once()
    book.fail_listing = 1
    assert await poller.poll_once() == []
    assert "order poll of XRPUSDT failed" in caplog.text
    book.advance(1, "10", OrderStatus.FILLED)
    book.fail_get[1] = ExchangeUnavailable("timeout")
    assert await poller.poll_once() == []
    (update,) = await poller.poll_once()
    assert update.order.order_id == 1
    del book.orders[2]  # the exchange forgot it
    assert await poller.poll_once() == []
    assert "vanished" in caplog.text and poller.tracked == {}


async def test_a_failing_consumer_does_not_stop_polling(book: Orders) -> None:
    def explode(update: OrderUpdate) -> None:
        raise RuntimeError("consumer bug")

    poller = OrderPoller(book, ["XRPUSDT"], explode)
    book.put(new_order())
    await poller.poll_once()
    book.advance(1, "10", OrderStatus.FILLED)
    assert len(await poller.poll_once()) == 1
    assert await poller.poll_once() == []


async def test_run_polls_every_interval_on_the_injected_sleep(book: Orders) -> None:
    slept: list[float] = []
    poller: OrderPoller

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            poller.close()
        await asyncio.sleep(0)

    poller = OrderPoller(book, ["XRPUSDT"], print, interval=7.5, sleep=sleep)
    await asyncio.wait_for(poller.run(), 2)
    assert slept == [7.5, 7.5, 7.5] and poller.polls == 3


async def test_wake_polls_at_once_and_close_stops_a_real_sleep(book: Orders) -> None:
    sleeping = asyncio.Event()

    async def real_sleep(seconds: float) -> None:  # a real 60 s sleep that says it started
        sleeping.set()
        await asyncio.sleep(seconds)

    poller = OrderPoller(book, ["XRPUSDT"], print, interval=60, sleep=real_sleep)
    task = asyncio.create_task(poller.run())
    await asyncio.wait_for(sleeping.wait(), 10)
    assert poller.polls == 1
    sleeping.clear()
    poller.wake()
    await asyncio.wait_for(sleeping.wait(), 10)  # woken long before the 60 s
    assert poller.polls == 2
    poller.close()
    await asyncio.wait_for(task, 10)


async def test_with_the_paper_exchange() -> None:
    engine = MatchingEngine({"XRPUSDT": XRP}, balances={"USDT": D(100)})
    paper = PaperExchange(engine, now_ms=lambda: 5)
    delivered: list[OrderUpdate] = []
    poller = OrderPoller(paper, ["XRPUSDT"], delivered.append)
    order = await paper.place_limit_order("XRPUSDT", Side.BUY, D("0.5"), D(10), "hh-paper")
    await poller.poll_once()
    paper.process_trade(TradeEvent("XRPUSDT", 1, D("0.49"), D(100), 7))
    (update,) = await poller.poll_once()
    assert update.order.order_id == order.order_id and update.order.status is OrderStatus.FILLED
    assert (update.last_qty, update.last_price) == (D(10), D("0.5"))


async def test_with_the_rest_client_against_the_fake(
    fake: FakeBinance, exchange: BinanceExchange
) -> None:
    fake.balances["USDT"] = Balance("USDT", D(100), D(0))
    delivered: list[OrderUpdate] = []
    poller = OrderPoller(exchange, ["XRPUSDT"], delivered.append)
    placed = await exchange.place_limit_order("XRPUSDT", Side.SELL, D("0.6"), D(10), "hh-rest")
    poller.watch(placed)
    fake.fill(placed.order_id, D(2))
    (partial,) = await poller.poll_once()
    fake.fill(placed.order_id)
    (filled,) = await poller.poll_once()
    assert (partial.last_qty, filled.last_qty) == (D(2), D(8))
    assert filled.order.status is OrderStatus.FILLED and filled.client_order_id == "hh-rest"
    assert fake.count("GET", "/api/v3/order") == 1
