"""`BarPublisher`: the process that turns trade events into bars for whoever wants them.

It subscribes to `TRADE_EVENTS:<SYMBOL>` of each symbol it serves and broadcasts every bar
that closes on `BARS:<SYMBOL>:<INTERVAL>` (`bars_topic`), one `BarAggregator` per
(symbol, interval): indicators subscribe to bars instead of folding trades themselves, and
live and backtests get the same bars (`hedgehog.market.bars`). A bar closes when the first
trade of a later interval arrives, so the last one stays open until `FlushBars` (the end of
a backtest's data) publishes it; nothing is published on shutdown, no half bar goes out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hedgehog.core.types import TradeEvent, bars_topic, trade_topic
from hedgehog.market.bars import Bar, BarAggregator, parse_interval
from hedgehog.runtime import Process
from hedgehog.runtime.pubsub import PubSub


@dataclass(frozen=True, slots=True)
class ServeBars:
    """Cast: publish `symbol`'s bars of `interval` too (serving a pair again changes nothing)."""

    symbol: str
    interval: str


@dataclass(frozen=True, slots=True)
class FlushBars:
    """Call: publish every open bar now (the trades are over); the reply is the bars sent."""


class BarPublisher(Process):
    """Started with the pub/sub and the (symbol, interval) pairs to serve; `ServeBars` adds
    pairs later. An invalid interval fails `init` (a `ConfigError`), or a `ServeBars` cast."""

    def init(self, pubsub: PubSub, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self.pubsub = pubsub
        self.aggregators: dict[str, list[BarAggregator]] = {}  # by symbol
        self.published = 0
        for symbol, interval in pairs:
            self.serve(symbol, interval)

    def serve(self, symbol: str, interval: str) -> None:
        parse_interval(interval)
        symbol = symbol.upper()
        aggregators = self.aggregators.get(symbol)
        if aggregators is None:
            aggregators = self.aggregators[symbol] = []
            self.pubsub.subscribe(self, trade_topic(symbol))
        if all(a.interval != interval for a in aggregators):
            aggregators.append(BarAggregator(symbol, interval))

    def handle_cast(self, message: Any) -> None:
        if isinstance(message, ServeBars):
            self.serve(message.symbol, message.interval)

    def handle_call(self, message: Any, from_: Any) -> Any:
        if isinstance(message, FlushBars):
            flushed = [a.flush() for group in self.aggregators.values() for a in group]
            bars = [bar for bar in flushed if bar is not None]
            for bar in bars:
                self._publish(bar)
            return bars
        return super().handle_call(message, from_)

    def handle_info(self, message: Any) -> None:
        if type(message) is TradeEvent:
            for aggregator in self.aggregators.get(message.symbol, ()):
                for bar in aggregator.add(message):
                    self._publish(bar)

    def _publish(self, bar: Bar) -> None:
        self.published += 1
        self.pubsub.broadcast(bars_topic(bar.symbol, bar.interval), bar)

    def info(self) -> dict[str, Any]:
        """What it serves (symbol -> intervals) and how many bars it has published."""
        served = {s: [a.interval for a in group] for s, group in self.aggregators.items()}
        return {"serving": served, "published": self.published}
