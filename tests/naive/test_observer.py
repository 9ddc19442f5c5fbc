"""The observer's accounts: fills, fees, cycles and PnL, and no double counting when the same
fill is reported twice (the user data stream and the order poller both report it); its price
bars are `BarAggregator`'s, bounded."""

from __future__ import annotations

from decimal import Decimal as D

from hedgehog.core.types import Order, OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.market.bars import BarAggregator
from hedgehog.naive.messages import Watch
from hedgehog.naive.observer import RECENT_BARS, Observer, PriceBar, PriceBars
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


def _trades(times: list[int], symbol: str = "XRPUSDT") -> list[TradeEvent]:
    prices = ["1.00", "1.02", "0.99", "1.01", "1.005", "0.98", "1.03"]
    return [
        TradeEvent(symbol, i + 1, D(prices[i % len(prices)]), D(i % 5 + 1), t, i % 2 == 0)
        for i, t in enumerate(times)
    ]


def _bars_of(trades: list[TradeEvent], interval: str) -> list[PriceBar]:
    """`BarAggregator`'s bars of `trades`, the open one last."""
    aggregator = BarAggregator("XRPUSDT", interval)
    bars = [b for t in trades for b in aggregator.add(t)]
    last = aggregator.flush()
    return [PriceBar.of(b) for b in [*bars, *([last] if last is not None else [])]]


T0 = 1_700_000_000_000


async def test_prices_are_the_aggregators_bars_1s_then_1m() -> None:
    """The observer folds every trade into bars (not a sampled price): 1 s bars while it has
    seen less than SECONDS_SPAN_MS of trade time, then 1 min bars of all its trades."""
    rt = Runtime()
    pubsub = PubSub(rt)
    observer = await rt.start(Observer, pubsub)
    rt.cast(observer, Watch("XRPUSDT", D("0.001")))
    await rt.quiesce()
    early = _trades([T0 + 150 * i for i in range(40)])  # 6 s of trades, several a second
    for trade in early:
        pubsub.broadcast("TRADE_EVENTS:XRPUSDT", trade)
    await rt.quiesce()
    prices = observer.views["XRPUSDT"].prices
    assert prices.interval == "1s"
    assert prices.bars() == _bars_of(early, "1s") and len(prices.bars()) == 6
    late = _trades([T0 + 7_000 * i for i in range(1, 60)])  # then up to ~7 minutes in
    late = [t._replace(trade_id=t.trade_id + 40) for t in late]
    for trade in late:
        pubsub.broadcast("TRADE_EVENTS:XRPUSDT", trade)
    await rt.quiesce()
    assert prices.interval == "1m"
    assert prices.bars() == _bars_of(early + late, "1m") and len(prices.bars()) == 8
    await rt.shutdown()


def test_price_bars_are_bounded() -> None:
    trades = _trades([T0 + 30_000 * i for i in range(2 * (RECENT_BARS + 100))])
    prices = PriceBars("XRPUSDT")
    for trade in trades:
        prices.add(trade)
    expected = _bars_of(trades, "1m")
    assert prices.bars() == expected[-(RECENT_BARS + 1) :]  # the last N closed and the open one
    assert len(expected) > RECENT_BARS + 50
