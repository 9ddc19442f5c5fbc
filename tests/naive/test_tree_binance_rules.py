"""The naive tree on Binance's money rules (issue 10), through the real processes: the paper
engine charges a buy's commission in the coins bought and fills orders in parts.

XRPUSDT as in test_tree: a trade at 1.0 gives a buy at 0.99 for 10.1, whose sell is at 0.9929.
The commission is 0.1%: the buy leaves 10.1 - 0.0101 = 10.0899 XRP, so the sell is for 10.0.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D

import pytest

from hedgehog.core.types import OrderStatus, Side, TradeEvent
from hedgehog.exchange.paper.engine import MatchingEngine
from hedgehog.exchange.paper.exchange import PaperExchange
from hedgehog.exchange.paper.rules import Rules

from .conftest import BTC, XRP, Harness, open_harness, xrp_settings

S = "XRPUSDT"


@pytest.fixture
async def b() -> AsyncIterator[Harness]:
    """The harness with an engine on Binance's rules (received commission, volume fills)."""
    async with open_harness() as h:
        h.engine = MatchingEngine({S: XRP, "BTCUSDT": BTC}, keep_ledger=True, rules=Rules.binance())
        h.exchange = PaperExchange(h.engine, h.pubsub.broadcast)
        h.ctx.exchange = h.exchange
        await h.naive.start_trading(S, xrp_settings(chunks=1))
        await h.rt.quiesce()
        yield h


async def fill(h: Harness, price: str, qty: str, settle: bool = True) -> None:
    """A trade that only the exchange sees, of `qty`: it fills at most that much."""
    n = next(h._ids)
    h.exchange.process_trade(TradeEvent(S, n, D(price), D(qty), 1_000 * n))
    if settle:
        await h.rt.quiesce()


def balances(h: Harness) -> dict[str, tuple[D, D]]:
    return {a: (x.free, x.locked) for a, x in h.engine.balances().items()}


async def test_a_buy_filled_in_parts_is_sold_net_of_its_commission(b: Harness) -> None:
    await b.trade("1.0")
    await fill(b, "0.99", "4")
    trader = b.trader("1")
    assert trader.state.buy is not None and trader.state.buy.status == "PARTIALLY_FILLED"
    assert trader.state.sell is None and trader.state.buy_fee_base == D("0.004")
    await fill(b, "0.99", "50")  # fills the other 6.1
    sell = trader.state.sell
    assert sell is not None and sell.quantity == D("10.0") and sell.status == "NEW"
    assert balances(b)["XRP"] == (D("0.0899"), D("10.0"))
    await fill(b, "0.9929", "100")
    assert b.ctx.rejections == {} and list(b.traders()) == ["2"]


async def test_a_fill_learnt_without_its_commission_is_completed_from_the_fills(
    b: Harness,
) -> None:
    """The bug of issue 10: the buy's fill reaches the trader only through a query (here: it
    was dead when the fill happened), which carries no commission. It must not sell 10.1."""
    await b.trade("1.0")
    assert b.rt.kill(b.trader("1"))
    assert b.pubsub.subscribers("ORDERS:XRPUSDT") == []
    await fill(b, "0.99", "100")  # nobody hears of the fill
    trader = b.trader("1")  # restarted: queries its buy, reads its fills, sells
    assert trader.state.buy is not None and trader.state.buy.is_filled
    assert trader.state.buy_fill_ids and trader.state.fees_known
    sell = trader.state.sell
    assert sell is not None and sell.quantity == D("10.0") and sell.status == "NEW"
    assert b.ctx.rejections == {}


async def test_a_refused_sell_is_resized_to_the_free_balance_and_placed_again(
    b: Harness,
) -> None:
    await b.trade("1.0")
    assert b.rt.kill(b.trader("1"))
    await fill(b, "0.99", "100", settle=False)  # the buy fills while its trader is down
    # meanwhile someone sells 4 of the account's XRP outside hedgehog
    outside, _ = b.engine.submit(S, Side.SELL, "LIMIT", D("4"), "outside", 1, D("5"))
    assert outside.status is OrderStatus.NEW
    await b.rt.quiesce()
    trader = b.trader("1")  # restarted: its sell of 10.0 is refused, then re-sized
    assert b.ctx.rejections[(S, "SELL")] == 1
    sell = trader.state.sell
    assert sell is not None and sell.client_order_id == "XRPUSDT-1-0S1"
    assert sell.quantity == D("6.0") and sell.status == "NEW"  # 10.0899 - 4 held, floored
    assert trader.state.sell_rejections == 1 and trader.state.blocked == ""
    assert [o.client_order_id for o in b.ledger()] == ["XRPUSDT-1-0B", "outside", "XRPUSDT-1-0S1"]


async def test_a_sell_that_can_never_pass_blocks_the_trader_with_its_reason(b: Harness) -> None:
    await b.trade("1.0")
    assert b.rt.kill(b.trader("1"))
    await fill(b, "0.99", "100", settle=False)
    b.engine.submit(S, Side.SELL, "LIMIT", D("10"), "outside", 1, D("5"))  # takes nearly all
    await b.rt.quiesce()
    trader = b.trader("1")
    assert trader.state.sell is not None and trader.state.sell.status == "REJECTED"
    assert "only 0.0899 free" in trader.state.blocked
    assert trader.info()["blocked"] == trader.state.blocked
