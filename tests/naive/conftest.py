"""Fixtures of the naive tree tests: the whole naive system on a real `Runtime` with the paper
exchange, fed trades the way the backtest runner feeds them."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D

import pytest

from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Order, TradeEvent, trade_topic
from hedgehog.exchange.paper.engine import MatchingEngine
from hedgehog.exchange.paper.exchange import PaperExchange
from hedgehog.naive.api import Naive
from hedgehog.naive.context import NaiveContext, leader_name, symbol_name, traders_name
from hedgehog.naive.leader import Leader
from hedgehog.naive.settings import TradingSettings
from hedgehog.naive.trader import Trader
from hedgehog.runtime import Clock, Runtime
from hedgehog.runtime.pubsub import PubSub

XRP = SymbolFilters("XRPUSDT", "XRP", "USDT", D("0.0001"), D("0.1"), min_notional=D("1"))
BTC = SymbolFilters("BTCUSDT", "BTC", "USDT", D("0.01"), D("0.00001"), min_notional=D("10"))


def xrp_settings(chunks: int = 3, **values: object) -> TradingSettings:
    """10 USDT per trader; buy 1% under the market; rebuy 5% under the buy price."""
    base: dict[str, object] = {
        "chunks": chunks,
        "budget": str(10 * chunks),
        "buy_down_interval": "0.01",
        "profit_interval": "0.001",
        "rebuy_interval": "0.05",
        "fee": "0.001",
    }
    base.update(values)
    return TradingSettings.parse("XRPUSDT", **base)


class Harness:
    """The naive system under test, with helpers to feed trades and look inside the tree."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.pubsub = PubSub(rt)
        self.engine = MatchingEngine({"XRPUSDT": XRP, "BTCUSDT": BTC}, keep_ledger=True)
        self.exchange = PaperExchange(self.engine, self.pubsub.broadcast)
        self.ctx = NaiveContext(rt, self.pubsub, self.exchange)
        self.naive = Naive(self.ctx)
        self._ids = itertools.count(1)

    async def trade(self, price: str, symbol: str = "XRPUSDT") -> TradeEvent:
        """What the backtest runner does: fill what the trade crosses, let the owners react,
        then publish the trade and let everyone react."""
        trade = self.make_trade(price, symbol)
        self.exchange.process_trade(trade)
        await self.rt.quiesce()
        self.pubsub.broadcast(trade_topic(symbol), trade)
        await self.rt.quiesce()
        return trade

    async def fill(self, price: str, symbol: str = "XRPUSDT") -> TradeEvent:
        """Only the exchange sees the trade (its fills reach traders as order updates)."""
        trade = self.make_trade(price, symbol)
        self.exchange.process_trade(trade)
        await self.rt.quiesce()
        return trade

    def make_trade(self, price: str, symbol: str = "XRPUSDT") -> TradeEvent:
        n = next(self._ids)
        return TradeEvent(symbol, n, D(price), D("100"), 1_000 * n)

    # -- looking inside ---------------------------------------------------------------------
    def leader(self, symbol: str = "XRPUSDT") -> Leader:
        leader = self.rt.whereis(leader_name(symbol))
        assert isinstance(leader, Leader), f"no leader of {symbol}"
        return leader

    def traders(self, symbol: str = "XRPUSDT") -> dict[str, Trader]:
        """The leader's live traders by trader id."""
        out = {tid: slot.pid for tid, slot in self.leader(symbol).slots.items()}
        assert all(isinstance(p, Trader) and p.alive for p in out.values())
        return out  # type: ignore[return-value]

    def trader(self, trader_id: str, symbol: str = "XRPUSDT") -> Trader:
        return self.traders(symbol)[trader_id]

    def ledger(self, symbol: str = "XRPUSDT") -> list[Order]:
        return [o for o in self.engine.ledger() if o.symbol == symbol]

    def by_client_id(self, symbol: str = "XRPUSDT") -> dict[str, Order]:
        """The ledger by client order id; fails if any client order id was placed twice."""
        orders = self.ledger(symbol)
        counts = Counter(o.client_order_id for o in orders)
        assert all(n == 1 for n in counts.values()), f"duplicated orders: {counts}"
        return {o.client_order_id: o for o in orders}

    def running(self, symbol: str = "XRPUSDT") -> bool:
        names = (symbol_name(symbol), leader_name(symbol), traders_name(symbol))
        alive = [self.rt.whereis(name) is not None for name in names]
        assert all(alive) or not any(alive), f"half a tree: {dict(zip(names, alive, strict=True))}"
        return all(alive)

    def assert_healthy(self) -> None:
        """No process crashed (kills by the test are not crashes)."""
        assert list(self.rt.errors) == []


@asynccontextmanager
async def open_harness(clock: Clock | None = None) -> AsyncIterator[Harness]:
    """The naive system on a fresh runtime, its DynamicSymbolSupervisor started; on exit it
    checks that no process crashed, and shuts the runtime down."""
    harness = Harness(Runtime(clock))
    await harness.naive.start()
    try:
        yield harness
    finally:
        errors = list(harness.rt.errors)
        await harness.rt.shutdown()
        await harness.rt.quiesce()
    assert errors == [], f"a process crashed during the test: {errors}"


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    """The naive system on a wall clock (nothing here waits on time)."""
    async with open_harness() as harness:
        yield harness
