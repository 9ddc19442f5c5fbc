"""The naive stop-loss (issue 13): below buy * (1 - stop_loss_interval) the resting sell is
cancelled and what it held is sold by a LIMIT sell at the triggering trade's price floored
to the tick (the exchange protocol has no MARKET order). Pure transitions, then the tree.

Settings (`xrp_settings`): buy 10.1 at 0.99 on a trade at 1.0, sell at 0.9929, rebuy below
0.9405; with stop_loss_interval 0.02 the stop fires strictly below 0.99 * 0.98 = 0.9702.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from hedgehog.core.errors import ExchangeUnavailable
from hedgehog.core.types import Order, OrderStatus, Side, TradeEvent
from hedgehog.naive import serde, strategy
from hedgehog.naive.strategy import CancelOrder, OrderRef, PlaceOrder, RequestRebuy

from .conftest import XRP, Harness, xrp_settings

S = "XRPUSDT"
NEW, FILLED, CANCELED = OrderStatus.NEW, OrderStatus.FILLED, OrderStatus.CANCELED
BUY, SELL = Side.BUY, Side.SELL


def trade(price: str, n: int = 1) -> TradeEvent:
    return TradeEvent(S, n, D(price), D(100), n)


def selling(stop: str | None = "0.02") -> strategy.TraderState:
    """Bought 10.1 at 0.99, its sell at 0.9929 resting (NEW)."""
    settings = xrp_settings(stop_loss_interval=stop) if stop else xrp_settings()
    state = strategy.new_trader(S, 1, settings, XRP)
    buy = OrderRef("XRPUSDT-1-0B", BUY, D("0.99"), D("10.1"), "FILLED", 1, D("10.1"))
    sell = OrderRef("XRPUSDT-1-0S", SELL, D("0.9929"), D("10.1"), "NEW", 2)
    return replace(
        state,
        buy=buy,
        sell=sell,
        rebuy_below=strategy.rebuy_threshold(D("0.99"), settings),
        buy_fee_qty=D("10.1"),
    )


def test_the_stop_fires_strictly_below_its_threshold() -> None:
    state = selling()
    assert strategy.stop_threshold(state) == D("0.9702")
    assert strategy.trade_band(state) == (D("0.9702"), None)  # the stop is above the rebuy
    assert strategy.on_trade(state, trade("0.9702")) == (state, ())
    new, decisions = strategy.on_trade(state, trade("0.97015"))
    assert new.stop_at == D("0.9701")  # floored to the tick
    assert decisions == (CancelOrder("XRPUSDT-1-0S"),)
    assert strategy.trade_band(new) == (D("0.9405"), None)  # fired: only the rebuy is left
    assert new.awaiting() == CancelOrder("XRPUSDT-1-0S")  # a restarted trader cancels it
    again, more = strategy.on_trade(new, trade("0.9"))  # fires once; the rebuy still asks
    assert again.stop_at == D("0.9701") and more == (RequestRebuy(),)


def test_a_fall_through_both_thresholds_stops_and_asks_for_a_rebuy() -> None:
    new, decisions = strategy.on_trade(selling(), trade("0.9"))
    assert new.stop_at == D("0.9") and new.rebuy_notified
    assert decisions == (CancelOrder("XRPUSDT-1-0S"), RequestRebuy())


def test_the_cancelled_sell_is_replaced_by_the_stop_sell() -> None:
    state, _ = strategy.on_trade(selling(), trade("0.95"))
    cancelled = Order(2, "XRPUSDT-1-0S", S, SELL, D("0.9929"), D("10.1"), D(0), D(0), CANCELED)
    new, decisions = strategy.on_order(state, cancelled)
    stop = OrderRef("XRPUSDT-1-0S1", SELL, D("0.95"), D("10.1"))
    assert decisions == (PlaceOrder(stop),) and new.sell == stop and new.sell_attempt == 1
    assert new.awaiting() is None and new.in_flight() == [stop]
    filled = Order(3, "XRPUSDT-1-0S1", S, SELL, D("0.95"), D("10.1"), D("10.1"), D(0), FILLED)
    done, end = strategy.on_order(new, filled)
    assert done.phase == "done" and end == (strategy.CycleComplete(),)
    assert serde.load_state(serde.dump_state(new)) == new


def test_off_or_without_a_resting_sell_nothing_fires() -> None:
    plain = selling(stop=None)
    assert strategy.on_trade(plain, trade("0.95"))[0].stop_at is None
    assert strategy.trade_band(plain) == (D("0.9405"), None)
    assert "stop_at" not in serde.dump_state(plain)  # what older versions wrote
    pending = replace(selling(), sell=replace(selling().sell, status="PENDING"))  # type: ignore[type-var]
    assert strategy.on_trade(pending, trade("0.95"))[0].stop_at is None


async def start(h: Harness) -> None:
    await h.naive.start_trading(S, xrp_settings(stop_loss_interval="0.02"))
    await h.rt.quiesce()
    await h.trade("1.0")  # 1 buys at 0.99
    await h.trade("0.99")  # filled: sells at 0.9929


def view(h: Harness) -> list[tuple[str, Side, D, OrderStatus]]:
    return [(o.client_order_id, o.side, o.price, o.status) for o in h.ledger()]


async def test_the_tree_sells_at_the_stop(h: Harness) -> None:
    await start(h)
    await h.trade("0.9702")  # not below: nothing
    assert view(h)[-1] == ("XRPUSDT-1-0S", SELL, D("0.9929"), NEW)
    await h.trade("0.97")  # the stop: cancel, then the stop sell
    assert view(h) == [
        ("XRPUSDT-1-0B", BUY, D("0.99"), FILLED),
        ("XRPUSDT-1-0S", SELL, D("0.9929"), CANCELED),
        ("XRPUSDT-1-0S1", SELL, D("0.97"), NEW),
    ]
    assert h.trader("1").info()["stop_at"] == "0.97"
    await h.trade("0.97")  # it fills; the cycle is over, 2 takes 1's place and buys
    assert view(h)[2:] == [
        ("XRPUSDT-1-0S1", SELL, D("0.97"), FILLED),
        ("XRPUSDT-2-0B", BUY, D("0.9603"), NEW),
    ]
    assert list(h.traders()) == ["2"] and h.engine.balances()["XRP"].total == 0
    h.by_client_id()


async def test_a_trader_dying_before_its_cancel_went_through_cancels_on_restart(
    h: Harness,
) -> None:
    await start(h)
    real = h.exchange.cancel_order

    async def down(*args: object, **kwargs: object) -> Order:
        raise ExchangeUnavailable("timeout")

    h.exchange.cancel_order = down  # type: ignore[method-assign]
    await h.trade("0.96")  # the stop fires, its cancel fails: the trader retries later...
    one = h.trader("1")
    assert one.state.stop_at == D("0.96") and one.state.stopping()
    assert view(h)[-1] == ("XRPUSDT-1-0S", SELL, D("0.9929"), NEW)
    h.exchange.cancel_order = real  # type: ignore[method-assign]
    h.rt.kill(one)  # ...but dies first: restarted with its stored state, it cancels
    await h.rt.quiesce()
    assert view(h)[1:] == [
        ("XRPUSDT-1-0S", SELL, D("0.9929"), CANCELED),
        ("XRPUSDT-1-0S1", SELL, D("0.96"), NEW),
    ]
    h.rt.kill(h.trader("1"))  # killed again with the stop sell out: nothing is placed twice
    await h.rt.quiesce()
    await h.trade("0.96")
    assert view(h)[2][3] == FILLED
    h.by_client_id()
