"""BarPublisher on the real runtime and the in-memory pub/sub: subscribers of `BARS:<S>:<I>`
see the bars of the trades broadcast on `TRADE_EVENTS:<S>`, equal to `bars_from_table`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import pytest

from hedgehog.core.errors import ConfigError
from hedgehog.core.types import TradeEvent, bars_topic, trade_topic
from hedgehog.market.bars import Bar, bars_from_table
from hedgehog.market.publisher import BarPublisher, FlushBars, ServeBars
from hedgehog.market.synthetic import synthetic_trades
from hedgehog.runtime import InitError, Process, Runtime, VirtualClock
from hedgehog.runtime.pubsub import PubSub


class Listener(Process):
    """Keeps every message it gets."""

    def init(self) -> None:
        self.got: list[Any] = []

    def handle_info(self, message: Any) -> None:
        self.got.append(message)


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    runtime = Runtime(VirtualClock())
    yield runtime
    for proc in list(runtime.processes.values()):
        runtime.kill(proc)


@pytest.fixture
def ps(rt: Runtime) -> PubSub:
    return PubSub(rt)


async def listen(rt: Runtime, ps: PubSub, *topics: str) -> Listener:
    listener = await rt.start(Listener)
    for topic in topics:
        ps.subscribe(listener, topic)
    return listener


async def test_subscribers_see_the_bars_of_the_table(rt: Runtime, ps: PubSub) -> None:
    tables = {s: synthetic_trades(s, 5_000, seed=i) for i, s in enumerate(["AAAUSDT", "BBBUSDT"])}
    pairs = [(s, i) for s in tables for i in ("1s", "5m")]
    publisher = await rt.start(BarPublisher, ps, pairs)
    listeners = {pair: await listen(rt, ps, bars_topic(*pair)) for pair in pairs}
    for symbol, table in tables.items():
        for trade in table.events():
            ps.broadcast(trade_topic(symbol), trade)
    await rt.quiesce()
    closed = {pair: list(listener.got) for pair, listener in listeners.items()}
    flushed = await rt.call(publisher, FlushBars())
    await rt.quiesce()
    assert len(flushed) == len(pairs)  # one open bar each
    for (symbol, interval), listener in listeners.items():
        expected = bars_from_table(tables[symbol], interval)
        assert listener.got == expected
        assert closed[symbol, interval] == expected[:-1]  # the last stayed open until the flush
        assert all(type(bar) is Bar for bar in listener.got)
    assert len(closed["AAAUSDT", "1s"]) > 10
    assert publisher.info()["published"] == sum(len(x.got) for x in listeners.values())


async def test_a_bar_goes_out_when_the_next_interval_s_first_trade_comes(
    rt: Runtime, ps: PubSub
) -> None:
    publisher = await rt.start(BarPublisher, ps)
    rt.cast(publisher, ServeBars("xrpusdt", "1m"))
    rt.cast(publisher, ServeBars("XRPUSDT", "1m"))  # again: no second aggregator
    await rt.quiesce()
    listener = await listen(rt, ps, bars_topic("XRPUSDT", "1m"), bars_topic("XRPUSDT", "1s"))
    topic = trade_topic("XRPUSDT")
    ps.broadcast(topic, TradeEvent("XRPUSDT", 1, D(2), D(1), 60_000))
    ps.broadcast(topic, TradeEvent("XRPUSDT", 2, D(3), D(1), 119_999))
    ps.broadcast(topic, "not a trade")
    await rt.quiesce()
    assert listener.got == []
    ps.broadcast(topic, TradeEvent("XRPUSDT", 3, D(1), D(1), 120_000))
    await rt.quiesce()
    (bar,) = listener.got
    assert (bar.open_time, bar.close_time, bar.high, bar.trades, bar.last_id) == (
        60_000,
        119_999,
        3,
        2,
        2,
    )
    assert publisher.info()["serving"] == {"XRPUSDT": ["1m"]}
    assert ps.subscribers(topic) == [publisher]


async def test_an_unknown_interval_refuses_to_start(rt: Runtime, ps: PubSub) -> None:
    with pytest.raises(InitError) as caught:
        await rt.start(BarPublisher, ps, [("XRPUSDT", "1w")])
    assert isinstance(caught.value.reason.exception, ConfigError) and "1w" in str(caught.value)
