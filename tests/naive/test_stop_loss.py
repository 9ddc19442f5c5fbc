"""The naive stop-loss (issue 13): below buy * (1 - stop_loss_interval) the resting sell is
cancelled and what it held is sold at the market (`PlaceMarketOrder`; its reference price,
`stop_at`, is the triggering trade's price floored to the tick). Pure transitions, then the
tree on the paper exchange (a MARKET order fills at once at the last trade's price).

Settings (`xrp_settings`): buy 10.1 at 0.99 on a trade at 1.0, sell at 0.9929, rebuy below
0.9405; with stop_loss_interval 0.02 the stop fires strictly below 0.99 * 0.98 = 0.9702.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from hedgehog.core.errors import ExchangeUnavailable, StoreUnavailable
from hedgehog.core.types import Order, OrderStatus, Side, TradeEvent
from hedgehog.naive import serde, strategy
from hedgehog.naive.order_check import order_problem as _order_problem
from hedgehog.naive.strategy import (
    CancelOrder,
    CheckSell,
    OrderRef,
    PlaceMarketOrder,
    Report,
    RequestRebuy,
)

from .conftest import XRP, Harness, xrp_settings

S = "XRPUSDT"
NEW, FILLED, CANCELED = OrderStatus.NEW, OrderStatus.FILLED, OrderStatus.CANCELED
EXPIRED = OrderStatus.EXPIRED
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
    assert decisions == (PlaceMarketOrder(stop),) and new.sell == stop and new.sell_attempt == 1
    assert new.awaiting() is None and new.in_flight() == [stop]
    assert new.is_market(stop) and not new.is_market(state.sell)  # type: ignore[arg-type]
    stored = serde.load_state(serde.dump_state(new))
    assert stored == new and stored.is_market(stored.sell)  # type: ignore[arg-type]
    filled = Order(3, "XRPUSDT-1-0S1", S, SELL, D(0), D("10.1"), D("10.1"), D("9.5"), FILLED,
                   order_type="MARKET")  # fmt: skip
    done, end = strategy.on_order(new, filled)
    assert done.phase == "done" and end == (strategy.CycleComplete(),)


def test_a_market_sell_expired_in_part_sells_the_rest_at_the_market_then_gives_up() -> None:
    state, _ = strategy.on_trade(selling(), trade("0.95"))
    cancelled = Order(2, "XRPUSDT-1-0S", S, SELL, D("0.9929"), D("10.1"), D(0), D(0), CANCELED)
    state, _ = strategy.on_order(state, cancelled)
    expired = Order(3, "XRPUSDT-1-0S1", S, SELL, D(0), D("10.1"), D("4"), D("3.8"), EXPIRED)
    state, decisions = strategy.on_order(state, expired)
    rest = OrderRef("XRPUSDT-1-0S2", SELL, D("0.95"), D("6.1"))
    assert decisions == (PlaceMarketOrder(rest),) and state.sell_attempt == 2
    again = Order(4, "XRPUSDT-1-0S2", S, SELL, D(0), D("6.1"), D("1"), D("0.95"), EXPIRED)
    state, decisions = strategy.on_order(state, again)
    assert state.blocked and decisions == (Report(state.blocked),)
    assert "5.1 unsold" in state.blocked


def test_a_refused_market_sell_is_checked_and_placed_at_the_market_again() -> None:
    state, _ = strategy.on_trade(selling(), trade("0.95"))
    cancelled = Order(2, "XRPUSDT-1-0S", S, SELL, D("0.9929"), D("10.1"), D(0), D(0), CANCELED)
    state, _ = strategy.on_order(state, cancelled)
    assert state.sell is not None
    state, decisions = strategy.on_rejected(state, state.sell, "insufficient balance")
    assert decisions == (CheckSell(),)
    state, decisions = strategy.on_sell_check(state, [], D("10"))
    assert decisions == (PlaceMarketOrder(OrderRef("XRPUSDT-1-0S2", SELL, D("0.95"), D("10"))),)


def test_the_trader_checks_a_market_order_s_quantity_not_its_price() -> None:
    odd = OrderRef("XRPUSDT-1-0S1", SELL, D("0.95001"), D("10.1"))  # off the tick
    assert _order_problem(odd, XRP, market=True) is None
    assert "tick" in (_order_problem(odd, XRP) or "")
    off_step = OrderRef("XRPUSDT-1-0S1", SELL, D("0.95"), D("10.15"))
    assert "step" in (_order_problem(off_step, XRP, market=True) or "")
    zero = OrderRef("XRPUSDT-1-0S1", SELL, D("0.95"), D(0))
    assert "quantity" in (_order_problem(zero, XRP, market=True) or "")


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


async def test_the_tree_sells_at_the_market_at_the_stop(h: Harness) -> None:
    await start(h)
    await h.trade("0.9702")  # not below: nothing
    assert view(h)[-1] == ("XRPUSDT-1-0S", SELL, D("0.9929"), NEW)
    await h.trade("0.9701")  # the stop: cancel, then a MARKET sell filled at this price
    assert view(h)[:3] == [
        ("XRPUSDT-1-0B", BUY, D("0.99"), FILLED),
        ("XRPUSDT-1-0S", SELL, D("0.9929"), CANCELED),
        ("XRPUSDT-1-0S1", SELL, D("0.9701"), FILLED),
    ]
    stop = h.by_client_id()["XRPUSDT-1-0S1"]
    assert stop.order_type == "MARKET" and stop.cumulative_quote_qty == D("0.9701") * D("10.1")
    fill = h.engine.fills(S, stop.order_id)
    assert [(f.price, f.qty, f.is_maker) for f in fill] == [(D("0.9701"), D("10.1"), False)]
    # the cycle is over at once: 2 takes 1's place and buys on the next trade
    assert list(h.traders()) == ["2"] and h.engine.balances()["XRP"].total == 0
    await h.trade("0.97")
    assert view(h)[3:] == [("XRPUSDT-2-0B", BUY, D("0.9603"), NEW)]
    h.by_client_id()


async def test_a_market_sell_whose_intent_was_stored_but_not_placed_is_placed_on_restart(
    h: Harness,
) -> None:
    await start(h)
    real = h.exchange.place_market_order

    async def down(*args: object, **kwargs: object) -> Order:
        raise ExchangeUnavailable("timeout")

    h.exchange.place_market_order = down  # type: ignore[method-assign]
    await h.trade("0.96")  # cancelled; the MARKET sell's outcome is unknown (never arrived)
    one = h.trader("1")
    assert one.state.sell.status == "PENDING" and one.state.is_market(one.state.sell)
    assert view(h)[-1] == ("XRPUSDT-1-0S", SELL, D("0.9929"), CANCELED)
    h.exchange.place_market_order = real  # type: ignore[method-assign]
    await h.trade("0.955")  # the exchange's last price moves on
    h.rt.kill(one)  # restarted: the id is unknown, the stored intent is placed at the market
    await h.rt.quiesce()
    assert view(h)[2] == ("XRPUSDT-1-0S1", SELL, D("0.955"), FILLED)
    assert h.by_client_id()["XRPUSDT-1-0S1"].order_type == "MARKET"


async def test_a_market_sell_that_got_there_is_adopted_not_placed_again(h: Harness) -> None:
    await start(h)
    real = h.exchange.place_market_order

    async def lost_answer(*args: object, **kwargs: object) -> Order:
        await real(*args, **kwargs)  # type: ignore[arg-type]
        raise ExchangeUnavailable("timeout after the order was placed")

    h.exchange.place_market_order = lost_answer  # type: ignore[method-assign]
    await h.trade("0.96")  # the answer is lost; the fill's update completes the cycle
    h.exchange.place_market_order = real  # type: ignore[method-assign]
    assert view(h)[2] == ("XRPUSDT-1-0S1", SELL, D("0.96"), FILLED)
    assert list(h.traders()) == ["2"]
    await h.trade("0.96")
    h.by_client_id()  # placed once


async def test_no_market_sell_goes_out_when_its_intent_cannot_be_stored(h: Harness) -> None:
    await start(h)
    real = h.ctx.store.save
    calls = 0

    async def failing(state: object) -> None:
        nonlocal calls
        calls += 1
        if getattr(state, "sell", None) is not None and state.sell.status == "PENDING":  # type: ignore[attr-defined]
            raise StoreUnavailable("disk full")
        await real(state)  # type: ignore[arg-type]

    h.ctx.store.save = failing  # type: ignore[method-assign]
    await h.trade("0.96")  # cancelled, but the MARKET sell's intent is not stored: not placed
    assert [o.client_order_id for o in h.ledger()][-1] == "XRPUSDT-1-0S"
    assert calls


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
        ("XRPUSDT-1-0S1", SELL, D("0.96"), FILLED),
    ]
    assert list(h.traders()) == ["2"]  # the cycle is over: nothing is placed twice
    h.by_client_id()
