"""The naive strategy on Binance's money rules: commissions known before the sell is sized,
partial fills, part-filled buys that were cancelled, dust, refused sells and their retries.

The bug these guard against (issue 10): a buy reported FILLED by an order query or the
placement answer (no commission in them) was sold for its whole quantity; Binance had taken
the commission from the coins bought, refused the sell for balance, and the trader sat on them.
"""

from __future__ import annotations

from decimal import Decimal as D

from hedgehog.core.types import Fill, OrderStatus, Side
from hedgehog.naive import strategy
from hedgehog.naive.strategy import (
    MAX_SELL_ATTEMPTS,
    CheckSell,
    CycleComplete,
    FetchFills,
    PlaceOrder,
    Report,
    TraderState,
    client_order_id,
)
from tests.naive.test_strategy import SYMBOL, on_exchange, trader, update, with_buy


def fills(*parts: tuple[str, str], order_id: int = 7, asset: str = "XRP") -> list[Fill]:
    """The buy's fills as `myTrades` lists them: (qty, commission) each."""
    return [
        Fill(
            SYMBOL,
            order_id,
            100 + i,
            Side.BUY,
            D("0.99"),
            D(q),
            D(q) * D("0.99"),
            D(c),
            asset,
            0,
            True,
        )
        for i, (q, c) in enumerate(parts)
    ]


def filled_by_a_poller() -> tuple[TraderState, tuple[object, ...]]:
    state, buy = with_buy(trader(), "1.0")  # buys 10.1 at 0.99
    return strategy.on_order(state, on_exchange(buy, OrderStatus.FILLED))


def test_a_fill_without_its_commission_asks_for_the_fills_before_selling() -> None:
    state, decisions = filled_by_a_poller()
    assert decisions == (FetchFills(7),)
    assert state.sell is None and state.phase == "selling" and not state.fees_known
    assert state.awaiting() == FetchFills(7)  # a restarted trader asks again
    state, decisions = strategy.on_fills(state, fills(("4", "0.004"), ("6.1", "0.0061")))
    (place,) = decisions
    assert isinstance(place, PlaceOrder)
    assert place.order.quantity == D("10")  # 10.1 - 0.0101, floored to the step 0.1
    assert state.buy_fee_base == D("0.0101") and state.buy_fill_ids == (100, 101)


def test_the_executionreport_after_the_poller_does_not_count_twice() -> None:
    state, _ = filled_by_a_poller()
    assert state.buy is not None
    late = update(on_exchange(state.buy, OrderStatus.FILLED), "0.0101", "XRP")
    assert strategy.on_update(state, late) == (state, ())  # the fills read decide
    state, decisions = strategy.on_fills(state, fills(("10.1", "0.0101")))
    assert isinstance(decisions[0], PlaceOrder) and decisions[0].order.quantity == D("10")


def test_fills_lagging_the_order_status_place_nothing_yet() -> None:
    state, _ = filled_by_a_poller()
    state, decisions = strategy.on_fills(state, fills(("4", "0.004")))
    assert decisions == () and state.sell is None and state.awaiting() == FetchFills(7)


def test_commission_in_bnb_or_quote_leaves_the_whole_quantity() -> None:
    state, _ = filled_by_a_poller()
    state, decisions = strategy.on_fills(state, fills(("10.1", "0.00002"), asset="BNB"))
    assert isinstance(decisions[0], PlaceOrder) and decisions[0].order.quantity == D("10.1")


def test_a_part_filled_buy_cancelled_sells_what_it_bought() -> None:
    state, buy = with_buy(trader(), "1.0")
    part = update(on_exchange(buy, OrderStatus.PARTIALLY_FILLED, D("6")), "0.006", "XRP")
    state, decisions = strategy.on_update(state, part)
    assert decisions == () and state.phase == "buying"
    cancelled = on_exchange(buy, OrderStatus.CANCELED, D("6"))
    state, decisions = strategy.on_order(state, cancelled)
    (place,) = decisions
    assert isinstance(place, PlaceOrder) and place.order.quantity == D("5.9")  # 5.994 floored
    assert state.buy is not None and state.buy.has_bought and state.phase == "selling"


def test_a_part_filled_buy_below_the_minimums_is_recorded_as_dust() -> None:
    state, buy = with_buy(trader(), "1.0")
    part = update(on_exchange(buy, OrderStatus.PARTIALLY_FILLED, D("0.5")), "0.0005", "XRP")
    state, _ = strategy.on_update(state, part)
    state, decisions = strategy.on_order(state, on_exchange(buy, OrderStatus.CANCELED, D("0.5")))
    assert isinstance(decisions[0], Report) and "dust" in decisions[0].message
    assert decisions[1:] == (CycleComplete(),)
    assert state.dust == D("0.4995") and state.phase == "done" and state.sell is None


def sold_and_refused(reason: str = "insufficient balance") -> TraderState:
    state, buy = with_buy(trader(), "1.0")
    state, (place,) = strategy.on_update(state, update(on_exchange(buy, OrderStatus.FILLED)))
    assert isinstance(place, PlaceOrder)
    state, decisions = strategy.on_rejected(state, place.order, reason)
    assert decisions == (CheckSell(),)
    return state


def test_a_refused_sell_is_placed_again_for_what_the_account_holds() -> None:
    state = sold_and_refused()
    state, decisions = strategy.on_sell_check(state, fills(("10.1", "0.0101")), D("10.0899"))
    (place,) = decisions
    assert isinstance(place, PlaceOrder)
    assert place.order.quantity == D("10") and place.order.price == D("0.9929")
    # a new client order id: the refused one may not be reused for a different order
    assert place.order.client_order_id == client_order_id(SYMBOL, "1", 0, Side.SELL, 1)
    assert place.order.client_order_id.endswith("0S1")
    assert state.sell_attempt == 1 and state.sell_rejections == 1


def test_a_refused_sell_with_less_free_than_bought_sells_the_free_part() -> None:
    state = sold_and_refused()
    state, (place,) = strategy.on_sell_check(state, fills(("10.1", "0")), D("3.05"))
    assert isinstance(place, PlaceOrder) and place.order.quantity == D("3")


def test_a_refused_sell_with_nothing_free_is_reported_not_retried() -> None:
    state = sold_and_refused()
    state, decisions = strategy.on_sell_check(state, fills(("10.1", "0")), D("0"))
    assert isinstance(decisions[0], Report) and "only 0 free" in state.blocked
    assert state.awaiting() is None  # blocked: a human decides


def test_sells_refused_again_and_again_block_the_trader() -> None:
    state = sold_and_refused("filter failure: PERCENT_PRICE_BY_SIDE")
    for _ in range(1, MAX_SELL_ATTEMPTS):
        state, (place,) = strategy.on_sell_check(state, fills(("10.1", "0")), D("10.1"))
        assert isinstance(place, PlaceOrder)
        state, decisions = strategy.on_rejected(state, place.order, "PERCENT_PRICE_BY_SIDE")
    assert isinstance(decisions[0], Report)
    assert "refused 3 times" in state.blocked and "PERCENT_PRICE_BY_SIDE" in state.blocked
    assert state.sell_rejections == MAX_SELL_ATTEMPTS and state.awaiting() is None
