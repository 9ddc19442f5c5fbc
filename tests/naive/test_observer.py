"""The observer's accounts: fills, fees, cycles and PnL, and no double counting when the same
fill is reported twice (the user data stream and the order poller both report it)."""

from __future__ import annotations

from decimal import Decimal as D

from hedgehog.core.types import Order, OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.naive.messages import Watch
from hedgehog.naive.observer import Observer
from hedgehog.runtime import Runtime
from hedgehog.runtime.pubsub import PubSub


def fill(cid: str, side: Side, price: str, qty: str = "10") -> OrderUpdate:
    order = Order(
        1,
        cid,
        "XRPUSDT",
        side,
        D(price),
        D(qty),
        D(qty),
        D(price) * D(qty),
        OrderStatus.FILLED,
        1,
        2,
    )
    return OrderUpdate(order, D(qty), D(price), D(0), "USDT", 2)


async def test_fills_counted_once_and_cycles_pnl() -> None:
    rt = Runtime()
    pubsub = PubSub(rt)
    observer = await rt.start(Observer, pubsub)
    rt.cast(observer, Watch("XRPUSDT", D("0.001")))
    await rt.quiesce()
    buy = fill("XRPUSDT-1-0B", Side.BUY, "1.0")
    sell = fill("XRPUSDT-1-0S", Side.SELL, "1.01")
    for update in (buy, buy, sell, sell):  # each reported twice
        pubsub.broadcast("ORDERS:XRPUSDT", update)
    pubsub.broadcast("TRADE_EVENTS:XRPUSDT", TradeEvent("XRPUSDT", 1, D("1.02"), D(1), 3))
    await rt.quiesce()
    view = observer.views["XRPUSDT"]
    assert len(view.fills) == 2
    assert view.fees == D("0.0201")  # 10 x 1.0 x 0.001 + 10 x 1.01 x 0.001, once each
    assert view.cycles == 1
    assert view.realised == D(10) * D("1.01") * D("0.999") - D(10) * D("1.0") * D("1.001")
    assert view.unrealised() == 0
    await rt.shutdown()


async def test_a_sell_placed_again_after_a_refusal_closes_its_cycle() -> None:
    """A refused sell is placed again as `...-0S1`: the observer pairs it with the cycle's
    buy `...-0B` (it once keyed cycles by dropping the last character, and missed it)."""
    rt = Runtime()
    pubsub = PubSub(rt)
    observer = await rt.start(Observer, pubsub)
    rt.cast(observer, Watch("XRPUSDT", D("0.001")))
    await rt.quiesce()
    pubsub.broadcast("ORDERS:XRPUSDT", fill("XRPUSDT-1-0B", Side.BUY, "1.0"))
    pubsub.broadcast("ORDERS:XRPUSDT", fill("XRPUSDT-1-0S1", Side.SELL, "1.01"))
    await rt.quiesce()
    view = observer.views["XRPUSDT"]
    assert view.cycles == 1
    assert view.realised == D(10) * D("1.01") * D("0.999") - D(10) * D("1.0") * D("1.001")
    assert not view.filled_buys
    await rt.shutdown()
