"""`WatchedExchange` (the live node's wrapper) passes MARKET orders through and reports them
to the fill router's poller, like LIMIT orders."""

from __future__ import annotations

from decimal import Decimal as D

from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Order, OrderStatus, Side, TradeEvent
from hedgehog.exchange.base import Exchange
from hedgehog.exchange.paper.engine import MatchingEngine
from hedgehog.exchange.paper.exchange import PaperExchange
from hedgehog.live.feeds import WatchedExchange

XRP = SymbolFilters("XRPUSDT", "XRP", "USDT", D("0.0001"), D("0.1"), min_notional=D("1"))


async def test_a_market_order_is_placed_and_reported() -> None:
    paper = PaperExchange(MatchingEngine({"XRPUSDT": XRP}, balances={"XRP": D(50)}))
    seen: list[Order] = []
    watched = WatchedExchange(paper, seen.append)
    assert isinstance(watched, Exchange)
    paper.process_trade(TradeEvent("XRPUSDT", 1, D("0.5"), D(1), 1))
    order = await watched.place_market_order("XRPUSDT", Side.SELL, D(10), "hh-m")
    assert order.status is OrderStatus.FILLED and order.order_type == "MARKET"
    assert seen == [order]
