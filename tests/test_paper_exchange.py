"""The paper exchange: the `Exchange` protocol over the engine, and the updates it publishes."""

from __future__ import annotations

import time
from collections.abc import Coroutine
from decimal import Decimal as D
from typing import Any, TypeVar

import pytest

from hedgehog.core.errors import OrderRejected, RejectReason, UnknownOrder, UnknownSymbol
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.exchange.base import Balance, Exchange
from hedgehog.exchange.paper.engine import MatchingEngine
from hedgehog.exchange.paper.exchange import PaperExchange
from hedgehog.exchange.paper.rules import Rules

XRP = SymbolFilters("XRPUSDT", "XRP", "USDT", D("0.0001"), D("0.1"), min_notional=D("1"))
T = TypeVar("T")


def done(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that must finish without suspending, and return its result."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("the coroutine suspended")


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, object]] = []

    def __call__(self, topic: str, message: object) -> None:
        self.messages.append((topic, message))


@pytest.fixture
def published() -> Recorder:
    return Recorder()


@pytest.fixture
def paper(published: Recorder) -> PaperExchange:
    engine = MatchingEngine({"XRPUSDT": XRP}, balances={"USDT": D(100), "XRP": D(50)})
    return PaperExchange(engine, published, now_ms=lambda: 1_000)


def test_it_is_an_exchange(paper: PaperExchange) -> None:
    exchange: Exchange = paper
    assert isinstance(exchange, Exchange)


async def test_place_publishes_a_new_update(paper: PaperExchange, published: Recorder) -> None:
    order = await paper.place_limit_order("XRPUSDT", Side.BUY, D("0.5"), D("10"), "a1")
    assert order.status is OrderStatus.NEW and order.time == 1_000
    assert published.messages == [
        ("ORDERS:XRPUSDT", OrderUpdate(order, D(0), D(0), D(0), "USDT", 1_000)),
    ]
    assert await paper.open_orders("XRPUSDT") == [order]
    assert await paper.open_orders() == [order]
    assert await paper.get_order("XRPUSDT", client_order_id="a1") == order
    assert (await paper.balances())["USDT"] == Balance("USDT", D("94.995"), D("5.005"))


async def test_rejection_publishes_nothing(paper: PaperExchange, published: Recorder) -> None:
    with pytest.raises(OrderRejected) as info:
        await paper.place_limit_order("XRPUSDT", Side.BUY, D("0.5"), D("1000"), "big")
    assert info.value.reason is RejectReason.INSUFFICIENT_BALANCE
    with pytest.raises(UnknownSymbol):
        await paper.place_limit_order("NOPE", Side.BUY, D("0.5"), D("10"), "x")
    assert published.messages == []


async def test_cancel_publishes_canceled(paper: PaperExchange, published: Recorder) -> None:
    order = await paper.place_limit_order("XRPUSDT", Side.SELL, D("0.6"), D("10"), "s1")
    canceled = await paper.cancel_order("XRPUSDT", order_id=order.order_id)
    assert canceled.status is OrderStatus.CANCELED and canceled.update_time == 1_000
    topic, update = published.messages[-1]
    assert topic == "ORDERS:XRPUSDT" and isinstance(update, OrderUpdate)
    assert update.order == canceled and update.last_qty == 0
    assert (await paper.balances())["XRP"] == Balance("XRP", D(50), D(0))
    with pytest.raises(UnknownOrder):
        await paper.cancel_order("XRPUSDT", client_order_id="s1")
    with pytest.raises(UnknownOrder):
        await paper.get_order("XRPUSDT", order_id=42)


async def test_process_trade_publishes_fills_in_order(
    paper: PaperExchange, published: Recorder
) -> None:
    await paper.place_limit_order("XRPUSDT", Side.BUY, D("0.45"), D("10"), "b1")
    published.messages.clear()
    assert paper.process_trade(TradeEvent("XRPUSDT", 1, D("0.46"), D(1), 2_000)) == []
    assert published.messages == []  # nothing crossed: nothing published
    await paper.place_limit_order("XRPUSDT", Side.SELL, D("0.4"), D("10"), "s1")
    await paper.place_limit_order("XRPUSDT", Side.BUY, D("0.5"), D("10"), "b2")
    published.messages.clear()
    fills = paper.process_trade(TradeEvent("XRPUSDT", 2, D("0.45"), D(1), 3_000))
    assert [u.order.client_order_id for u in fills] == ["b1", "s1", "b2"]
    assert all(u.order.status is OrderStatus.FILLED and u.event_time == 3_000 for u in fills)
    assert published.messages == [("ORDERS:XRPUSDT", u) for u in fills]
    assert await paper.open_orders() == []
    assert paper.process_trade(TradeEvent("ETHBTC", 3, D("0.45"), D(1), 4_000)) == []


async def test_symbol_filters(paper: PaperExchange) -> None:
    assert await paper.symbol_filters("XRPUSDT") is XRP
    with pytest.raises(UnknownSymbol, match="NOPE"):
        await paper.symbol_filters("NOPE")


def test_no_method_ever_suspends(paper: PaperExchange, published: Recorder) -> None:
    """Driven by hand, each coroutine finishes on its first step: no event loop is needed."""
    order = done(paper.place_limit_order("XRPUSDT", Side.BUY, D("0.5"), D("10"), "a"))
    assert done(paper.get_order("XRPUSDT", order_id=order.order_id)) == order
    assert done(paper.open_orders()) == [order]
    assert done(paper.symbol_filters("XRPUSDT")) is XRP
    assert set(done(paper.balances())) == {"USDT", "XRP"}
    with pytest.raises(OrderRejected):  # "a" is open
        done(paper.place_limit_order("XRPUSDT", Side.BUY, D("0.5"), D("10"), "a"))
    assert done(paper.cancel_order("XRPUSDT", client_order_id="a")).status is OrderStatus.CANCELED
    assert len(published.messages) == 2


def test_defaults_publish_nowhere_on_the_wall_clock() -> None:
    paper = PaperExchange(MatchingEngine({"XRPUSDT": XRP}))
    before = time.time_ns() // 1_000_000
    order = done(paper.place_limit_order("XRPUSDT", Side.BUY, D("0.5"), D("10"), "a"))
    assert before <= order.time <= time.time_ns() // 1_000_000
    assert paper.process_trade(TradeEvent("XRPUSDT", 1, D("0.5"), D(1), 5))[0].last_qty == 10


# -- MARKET orders ---------------------------------------------------------------------------
async def test_a_market_order_fills_whole_at_once_at_the_last_trade_price(
    paper: PaperExchange, published: Recorder
) -> None:
    """The backtest rule: filled whole at the last processed trade's price, as taker,
    whatever that trade's quantity; its NEW update, then its fill, are published."""
    paper.process_trade(TradeEvent("XRPUSDT", 7, D("0.5"), D("0.1"), 2_000))
    order = await paper.place_market_order("XRPUSDT", Side.SELL, D("40"), "m1")
    assert (order.status, order.order_type, order.executed_qty) == (OrderStatus.FILLED, "MARKET",
                                                                    D(40))  # fmt: skip
    assert order.cumulative_quote_qty == D(20)
    (new, fill) = [m for _, m in published.messages]
    assert isinstance(new, OrderUpdate) and isinstance(fill, OrderUpdate)
    assert new.order.status is OrderStatus.NEW and new.last_qty == 0
    assert (fill.last_qty, fill.last_price, fill.trade_id, fill.is_maker) == (D(40), D("0.5"), 8,
                                                                              False)  # fmt: skip
    assert fill.commission == D("0.02")  # the taker fee, in the quote asset (backtests)
    assert await paper.get_order("XRPUSDT", client_order_id="m1") == order
    assert await paper.open_orders() == []
    bal = await paper.balances()
    assert (bal["XRP"].free, bal["XRP"].locked, bal["USDT"].free) == (D(10), D(0), D("119.98"))


async def test_a_market_order_before_any_trade_or_beyond_the_balance_is_refused(
    paper: PaperExchange, published: Recorder
) -> None:
    with pytest.raises(OrderRejected, match="no trade yet"):
        await paper.place_market_order("XRPUSDT", Side.SELL, D("10"), "m1")
    paper.process_trade(TradeEvent("XRPUSDT", 1, D("0.5"), D(1), 1))
    with pytest.raises(OrderRejected) as refused:
        await paper.place_market_order("XRPUSDT", Side.SELL, D("60"), "m1")
    assert refused.value.reason is RejectReason.INSUFFICIENT_BALANCE
    with pytest.raises(OrderRejected) as small:
        await paper.place_market_order("XRPUSDT", Side.SELL, D("1"), "m1")  # 0.5 < 1 USDT
    assert small.value.reason is RejectReason.FILTER_FAILURE
    with pytest.raises(OrderRejected):
        await paper.place_market_order("XRPUSDT", Side.SELL, D("10.05"), "m1")  # off the step
    assert published.messages == [] and await paper.open_orders() == []


async def test_a_market_buy_on_binance_rules_pays_in_the_coins_bought() -> None:
    engine = MatchingEngine(
        {"XRPUSDT": XRP}, balances={"USDT": D(100)}, rules=Rules.binance(), keep_fills=True
    )
    paper = PaperExchange(engine, now_ms=lambda: 5)
    paper.process_trade(TradeEvent("XRPUSDT", 1, D("0.5"), D(1), 1))
    order = await paper.place_market_order("XRPUSDT", Side.BUY, D("100"), "m")
    assert order.status is OrderStatus.FILLED and order.cumulative_quote_qty == D(50)
    (fill,) = await paper.order_fills("XRPUSDT", order.order_id)
    assert (fill.commission, fill.commission_asset, fill.is_maker) == (D("0.1"), "XRP", False)


def test_a_market_order_never_suspends(paper: PaperExchange) -> None:
    paper.process_trade(TradeEvent("XRPUSDT", 1, D("0.5"), D(1), 1))
    order = done(paper.place_market_order("XRPUSDT", Side.SELL, D("10"), "m"))
    assert order.status is OrderStatus.FILLED
