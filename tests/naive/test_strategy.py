"""The pure naive strategy: the book's test vectors, a table of every transition, client order
ids, properties of the formulas (hypothesis), and the validation of trading settings.

No event loop: the strategy is `(state, event) -> (new state, decisions)`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal as D
from decimal import localcontext

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hedgehog.core.client_ids import MAX_CLIENT_ID
from hedgehog.core.errors import ConfigError
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.symbols import normalize_symbol
from hedgehog.core.types import Fill, Order, OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.naive import strategy
from hedgehog.naive.settings import TradingSettings
from hedgehog.naive.strategy import (
    PENDING,
    CheckSell,
    CycleComplete,
    FetchFills,
    OrderRef,
    PlaceOrder,
    Report,
    RequestRebuy,
    TraderState,
    client_order_id,
)

SYMBOL = "XRPUSDT"
XRP = SymbolFilters(SYMBOL, "XRP", "USDT", D("0.0001"), D("0.1"), min_notional=D("1"))
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")


# -- helpers ---------------------------------------------------------------------------------
def make_settings(**values: object) -> TradingSettings:
    base: dict[str, object] = {
        "chunks": 1,
        "budget": "10",
        "buy_down_interval": "0.01",
        "profit_interval": "0.001",
        "rebuy_interval": "0.1",
        "fee": "0.001",
    }
    base.update(values)
    return TradingSettings.parse(SYMBOL, **base)


def trader(filters: SymbolFilters = XRP, number: int = 1, **values: object) -> TraderState:
    return strategy.new_trader(SYMBOL, number, make_settings(**values), filters)


def trade(price: str | D, trade_id: int = 1) -> TradeEvent:
    return TradeEvent(SYMBOL, trade_id, D(price), D("1"), 1_000 + trade_id)


def on_exchange(
    ref: OrderRef,
    status: OrderStatus,
    executed: D | None = None,
    order_id: int = 7,
    symbol: str = SYMBOL,
) -> Order:
    """The exchange's view of `ref` with `status` (executed defaults to all or nothing)."""
    if executed is None:
        executed = ref.quantity if status == OrderStatus.FILLED else D(0)
    return Order(
        order_id,
        ref.client_order_id,
        symbol,
        ref.side,
        ref.price,
        ref.quantity,
        executed,
        executed * ref.price,
        status,
    )


def update(
    order: Order, commission: str = "0", asset: str = "USDT", last_qty: D | None = None
) -> OrderUpdate:
    """A fill of `order` (of `last_qty`, by default all it executed) when it executed
    something, else a status change. The fill's trade id follows from the executed quantity,
    so the same fill delivered twice has the same id."""
    if order.executed_qty == 0:
        return OrderUpdate(order, D(0), D(0), D(0), "")
    qty = order.executed_qty if last_qty is None else last_qty
    trade_id = order.order_id * 10**6 + int(order.executed_qty * 1000)
    return OrderUpdate(order, qty, order.price, D(commission), asset, 0, trade_id)


def fill(order_id: int, qty: str, commission: str = "0", asset: str = "XRP", tid: int = 1) -> Fill:
    """One fill as `myTrades` lists it."""
    q = D(qty)
    return Fill(SYMBOL, order_id, tid, Side.BUY, D("1"), q, q, D(commission), asset, 0, True)


def with_buy(state: TraderState, price: str = "1.00") -> tuple[TraderState, OrderRef]:
    """`state` after its first buy, placed by a trade such that the buy price is `price`."""
    new, decisions = strategy.on_trade(state, trade(price))
    assert len(decisions) == 1 and isinstance(decisions[0], PlaceOrder)
    return new, decisions[0].order


def bought(state: TraderState) -> tuple[TraderState, OrderRef]:
    """`state` (holding a buy) after its buy was filled: returns the state and the sell."""
    assert state.buy is not None
    new, decisions = strategy.on_update(state, update(on_exchange(state.buy, OrderStatus.FILLED)))
    assert len(decisions) == 1 and isinstance(decisions[0], PlaceOrder)
    return new, decisions[0].order


# -- the book's vectors ----------------------------------------------------------------------
def test_book_vector_buy_and_sell_price() -> None:
    s = make_settings(buy_down_interval="0.0025", profit_interval="0.001", fee="0.001")
    buy = strategy.buy_price(D("0.43183010"), s, XRP)
    assert buy == D("0.4307")
    assert strategy.sell_price(buy, s, XRP) == D("0.4319")


def test_book_vector_buy_order_through_on_trade() -> None:
    filters = replace(XRP, step_size=D("1"))
    state = trader(filters, budget="10", chunks=1, buy_down_interval="0.01")
    new, decisions = strategy.on_trade(state, trade("1.0"))
    assert decisions == (PlaceOrder(new.buy),)  # type: ignore[arg-type]
    assert new.buy is not None
    assert (new.buy.side, new.buy.price, new.buy.quantity) == (Side.BUY, D("0.99"), D("10"))


@pytest.mark.parametrize(("price", "triggers"), [("0.89", True), ("0.9", False), ("0.95", False)])
def test_book_vector_rebuy_is_strict(price: str, triggers: bool) -> None:
    state, buy = with_buy(trader(buy_down_interval="0", rebuy_interval="0.1"), "1.00")
    assert buy.price == D("1")
    new, decisions = strategy.on_trade(state, trade(price, 2))
    if triggers:
        assert decisions == (RequestRebuy(),)
        assert new.rebuy_notified
    else:
        assert decisions == ()
        assert new is state


def test_rebuy_is_requested_only_once() -> None:
    state, _ = with_buy(trader(buy_down_interval="0", rebuy_interval="0.1"), "1.00")
    state, first = strategy.on_trade(state, trade("0.89", 2))
    assert first == (RequestRebuy(),)
    for i, price in enumerate(("0.5", "0.89", "0.1")):
        again, decisions = strategy.on_trade(state, trade(price, 3 + i))
        assert decisions == ()
        assert again is state
    # nor once the buy is filled and the sell is open
    state, _sell = bought(state)
    assert strategy.on_trade(state, trade("0.01", 9))[1] == ()


# -- transitions -----------------------------------------------------------------------------
def test_first_trade_places_a_pending_buy_with_a_deterministic_client_id() -> None:
    state = trader(number=3)
    new, decisions = strategy.on_trade(state, trade("1.0"))
    buy = new.buy
    assert buy is not None
    assert decisions == (PlaceOrder(buy),)
    assert buy.status == PENDING and buy.order_id is None and buy.executed_qty == 0
    assert buy.is_open and not buy.is_filled
    assert buy.client_order_id == client_order_id(SYMBOL, "3", 0, Side.BUY) == "XRPUSDT-3-0B"
    assert new.phase == "buying" and new.in_flight() == [buy]
    assert new.rebuy_below == strategy.rebuy_threshold(buy.price, new.settings)
    # the same input gives the same decision
    assert strategy.on_trade(state, trade("1.0")) == (new, decisions)
    assert state.buy is None  # states are values: the old one is unchanged


@pytest.mark.parametrize(
    ("filters", "values", "price"),
    [
        # quantity below the minimum quantity
        (replace(XRP, min_qty=D("100")), {"budget": "10"}, "1.0"),
        # notional below min notional: budget/chunks itself is too small
        (replace(XRP, min_notional=D("20")), {"budget": "10"}, "1.0"),
        # notional below min notional after flooring to the step: 1 / 0.99 -> 1.0 * 0.99 < 1
        (XRP, {"budget": "1"}, "1.0"),
        # the quantity floors to zero
        (replace(XRP, step_size=D("1"), min_notional=D("0")), {"budget": "1"}, "5"),
        # the buy price floors to zero
        (replace(XRP, tick_size=D("1"), min_notional=D("0")), {"budget": "10"}, "0.5"),
    ],
)
def test_no_buy_when_an_order_would_break_the_filters(
    filters: SymbolFilters, values: dict[str, object], price: str
) -> None:
    state = trader(filters, **values)
    new, decisions = strategy.on_trade(state, trade(price))
    assert new.buy is None
    if new is state:  # the buy price floors to zero: nothing to say yet
        assert decisions == ()
        return
    # said once (status shows it), not on every trade; no order placed
    assert len(decisions) == 1 and isinstance(decisions[0], Report)
    assert new.blocked == decisions[0].message and "raise the budget" in new.blocked
    assert strategy.on_trade(new, trade(price, 2)) == (new, ())


def test_no_buy_when_buys_are_not_allowed() -> None:
    state = trader()
    new, decisions = strategy.on_trade(state, trade("1.0"), allow_buy=False)
    assert (new, decisions) == (state, ())


def test_allow_buy_false_still_checks_the_rebuy_condition() -> None:
    state, _ = with_buy(trader(buy_down_interval="0", rebuy_interval="0.1"), "1.00")
    assert strategy.on_trade(state, trade("0.5", 2), allow_buy=False)[1] == (RequestRebuy(),)


@pytest.mark.parametrize("via", ["on_order", "on_update"])
def test_buy_filled_places_the_sell_at_the_formula_price(via: str) -> None:
    state, buy = with_buy(trader(profit_interval="0.001", fee="0.001"), "1.0")
    assert (buy.price, buy.quantity) == (D("0.99"), D("10.1"))
    filled = on_exchange(buy, OrderStatus.FILLED)
    if via == "on_order":  # a poller or the placement answer: no commission in it
        new, decisions = strategy.on_order(state, filled)
        assert decisions == (FetchFills(7),) and new.sell is None
        new, decisions = strategy.on_fills(new, [fill(7, "10.1", "0.01", "USDT")])
    else:
        new, decisions = strategy.on_update(state, update(filled, "0.01", "USDT"))
    sell = new.sell
    assert sell is not None
    assert decisions == (PlaceOrder(sell),)
    # 0.99 * 1.001^3 = 0.99297...
    assert (sell.side, sell.price, sell.quantity) == (Side.SELL, D("0.9929"), D("10.1"))
    assert sell.price == strategy.sell_price(buy.price, state.settings, XRP)
    assert sell.status == PENDING
    assert sell.client_order_id == client_order_id(SYMBOL, "1", 0, Side.SELL)
    assert new.buy is not None and new.buy.is_filled and new.buy.order_id == 7
    assert new.buy.executed_qty == D("10.1")
    assert new.phase == "selling" and new.in_flight() == [sell]
    assert new.buy_fee_base == 0  # a quote-asset commission does not touch the quantity


def test_sell_is_for_the_executed_quantity() -> None:
    state, buy = with_buy(trader(), "1.0")
    # an exchange reporting FILLED with less than ordered (e.g. an adjusted lot)
    state, _ = strategy.on_order(state, on_exchange(buy, OrderStatus.FILLED, D("7.3")))
    _, decisions = strategy.on_fills(state, [fill(7, "7.3", "0", "USDT")])
    assert isinstance(decisions[0], PlaceOrder)
    assert decisions[0].order.quantity == D("7.3")


def test_buy_placement_answer_and_partial_fills_place_nothing() -> None:
    state, buy = with_buy(trader(), "1.0")
    new, decisions = strategy.on_order(state, on_exchange(buy, OrderStatus.NEW))
    assert decisions == () and new.buy is not None and new.buy.status == "NEW"
    assert new.buy.order_id == 7
    partial = on_exchange(buy, OrderStatus.PARTIALLY_FILLED, D("4"))
    new, decisions = strategy.on_update(new, update(partial))
    assert decisions == () and new.sell is None
    assert new.buy is not None and new.buy.executed_qty == D("4") and new.buy.is_open


def test_sell_filled_completes_the_cycle() -> None:
    state, _ = with_buy(trader(), "1.0")
    state, sell = bought(state)
    new, decisions = strategy.on_order(state, on_exchange(sell, OrderStatus.NEW, order_id=8))
    assert decisions == () and new.phase == "selling"
    new, decisions = strategy.on_update(new, update(on_exchange(sell, OrderStatus.FILLED, None, 8)))
    assert decisions == (CycleComplete(),)
    assert new.phase == "done" and new.in_flight() == []
    assert new.sell is not None and new.sell.is_filled


@pytest.mark.parametrize("phase", ["buying", "selling"])
def test_updates_of_other_orders_are_ignored(phase: str) -> None:
    state, buy = with_buy(trader(), "1.0")
    if phase == "selling":
        state, _ = bought(state)
    other = replace(buy, client_order_id=client_order_id(SYMBOL, "2", 0, Side.BUY))
    for status in OrderStatus:
        order = on_exchange(other, status)
        assert strategy.on_order(state, order) == (state, ())
        new, decisions = strategy.on_update(state, update(order, "1", "XRP"))
        assert (new, decisions) == (state, ())
    assert strategy.on_rejected(state, other) == (state, ())


def test_updates_for_a_trader_without_orders_are_ignored() -> None:
    state = trader()
    ref = OrderRef("XRPUSDT-1-0B", Side.BUY, D("1"), D("1"))
    assert strategy.on_order(state, on_exchange(ref, OrderStatus.FILLED)) == (state, ())


def test_replayed_fills_make_no_second_decision() -> None:
    state, buy = with_buy(trader(), "1.0")
    filled = update(on_exchange(buy, OrderStatus.FILLED))
    state, decisions = strategy.on_update(state, filled)
    assert len(decisions) == 1
    assert state.sell is not None
    sell = state.sell
    # the same fill again, by update and by query: no second sell
    assert strategy.on_update(state, filled) == (state, ())
    assert strategy.on_order(state, filled.order) == (state, ())
    # and a late NEW of the buy does not reopen it
    assert strategy.on_order(state, on_exchange(buy, OrderStatus.NEW)) == (state, ())
    sold = update(on_exchange(sell, OrderStatus.FILLED, order_id=8))
    state, decisions = strategy.on_update(state, sold)
    assert decisions == (CycleComplete(),)
    assert strategy.on_update(state, sold) == (state, ())
    assert strategy.on_update(state, filled) == (state, ())


@pytest.mark.parametrize(
    "status", [OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED]
)
def test_buy_dead_before_any_fill_starts_a_new_cycle(status: OrderStatus) -> None:
    state, buy = with_buy(trader(buy_down_interval="0", rebuy_interval="0.1"), "1.0")
    state, _ = strategy.on_trade(state, trade("0.5", 2))  # rebuy requested for this buy
    assert state.rebuy_notified
    new, decisions = strategy.on_update(state, update(on_exchange(buy, status)))
    assert decisions == ()
    assert new.buy is None and new.sell is None and new.cycle == 1
    assert not new.rebuy_notified and new.phase == "idle"
    # the next trade places a buy under a new client order id
    new, decisions = strategy.on_trade(new, trade("1.0", 3))
    assert isinstance(decisions[0], PlaceOrder)
    assert decisions[0].order.client_order_id == client_order_id(SYMBOL, "1", 1, Side.BUY)
    assert decisions[0].order.client_order_id != buy.client_order_id


def test_rejected_buy_is_dropped_and_the_cycle_advances() -> None:
    state, buy = with_buy(trader(), "1.0")
    new, decisions = strategy.on_rejected(state, buy)
    assert decisions == ()
    assert new.buy is None and new.cycle == 1 and new.rebuy_below is None
    assert new.phase == "idle"
    _, decisions = strategy.on_trade(new, trade("1.0", 2))
    assert isinstance(decisions[0], PlaceOrder)
    assert decisions[0].order.client_order_id == "XRPUSDT-1-1B"


def test_rejected_buy_starts_its_next_cycle_with_a_fresh_rebuy_flag() -> None:
    # Bug fixed in strategy.on_rejected: it kept `rebuy_notified` from the dropped buy (unlike a
    # cancelled buy, which resets it), so the trader's next buy could never ask for a rebuy.
    # It happens when a PENDING buy waits out an unreachable exchange while the price falls.
    state, buy = with_buy(trader(buy_down_interval="0", rebuy_interval="0.1"), "1.0")
    state, _ = strategy.on_trade(state, trade("0.5", 2))
    assert state.rebuy_notified
    new, _ = strategy.on_rejected(state, buy)
    assert not new.rebuy_notified
    new, _ = with_buy(new, "1.0")
    assert strategy.on_trade(new, trade("0.5", 3))[1] == (RequestRebuy(),)


def test_rejected_sell_is_marked_and_checked() -> None:
    state, _ = with_buy(trader(), "1.0")
    state, sell = bought(state)
    new, decisions = strategy.on_rejected(state, sell, "insufficient balance")
    assert decisions == (CheckSell(),)
    assert new.sell is not None and new.sell.status == "REJECTED" and not new.sell.is_open
    assert new.buy == state.buy and new.sell_rejections == 1
    assert new.awaiting() == CheckSell()  # what a restarted trader does first


def test_base_asset_commission_reduces_the_sell_quantity_once() -> None:
    # Binance charges a buy's commission in the base asset: only the rest can be sold.
    state, buy = with_buy(trader(), "1.0")
    assert buy.quantity == D("10.1")
    partial = update(on_exchange(buy, OrderStatus.PARTIALLY_FILLED, D("5")), "0.005", "XRP")
    state, decisions = strategy.on_update(state, partial)
    assert decisions == () and state.buy_fee_base == D("0.005")
    state, decisions = strategy.on_update(state, partial)  # the same partial fill again
    assert decisions == () and state.buy_fee_base == D("0.005")
    filled = update(on_exchange(buy, OrderStatus.FILLED), "0.0051", "XRP", D("5.1"))
    state, decisions = strategy.on_update(state, filled)
    assert state.buy_fee_base == D("0.0101") and state.buy_fee_qty == D("10.1")
    assert isinstance(decisions[0], PlaceOrder)
    # 10.1 - 0.0101 = 10.0899, floored to the step 0.1
    assert decisions[0].order.quantity == D("10")
    again, decisions = strategy.on_update(state, filled)  # the fill delivered twice
    assert (again, decisions) == (state, ())
    assert again.buy_fee_base == D("0.0101")


def test_base_asset_commission_of_a_single_fill_delivered_twice() -> None:
    state, buy = with_buy(trader(), "1.0")
    filled = update(on_exchange(buy, OrderStatus.FILLED), "0.0101", "XRP")
    state, decisions = strategy.on_update(state, filled)
    assert isinstance(decisions[0], PlaceOrder) and decisions[0].order.quantity == D("10")
    assert strategy.on_update(state, filled) == (state, ())


def test_commission_of_a_sell_does_not_touch_the_buy_fee() -> None:
    state, _ = with_buy(trader(), "1.0")
    state, sell = bought(state)
    new, _ = strategy.on_update(state, update(on_exchange(sell, OrderStatus.FILLED), "1", "XRP"))
    assert new.buy_fee_base == 0


def test_phase_and_in_flight() -> None:
    state = trader()
    assert state.phase == "idle" and state.in_flight() == []
    state, buy = with_buy(state, "1.0")
    assert state.phase == "buying" and state.in_flight() == [buy]
    state, sell = bought(state)
    assert state.phase == "selling" and state.in_flight() == [sell]
    state, _ = strategy.on_order(state, on_exchange(sell, OrderStatus.FILLED, order_id=8))
    assert state.phase == "done" and state.in_flight() == []


# -- client order ids ------------------------------------------------------------------------
def test_client_order_id_is_deterministic_and_distinct() -> None:
    ids = {
        client_order_id(symbol, trader_id, cycle, side)
        for symbol in ("XRPUSDT", "BTCUSDT")
        for trader_id in ("1", "2", "12")
        for cycle in (0, 1, 21)
        for side in Side
    }
    assert len(ids) == 2 * 3 * 3 * 2
    assert client_order_id("XRPUSDT", "1", 21, Side.BUY) == "XRPUSDT-1-21B"
    assert client_order_id("XRPUSDT", "12", 1, Side.SELL) == "XRPUSDT-12-1S"
    for cid in ids:
        assert CLIENT_ID.fullmatch(cid)


def test_long_symbols_are_hashed_but_stay_unique() -> None:
    a, b = "A" * 20, "A" * 19 + "B"
    ida = client_order_id(a, "run7-123456", 1234567, Side.BUY)
    idb = client_order_id(b, "run7-123456", 1234567, Side.BUY)
    assert len(a + "-run7-123456-1234567B") > MAX_CLIENT_ID  # so both got hashed
    assert ida != idb
    for cid in (ida, idb):
        assert len(cid) <= MAX_CLIENT_ID and CLIENT_ID.fullmatch(cid)
        assert cid.endswith("-run7-123456-1234567B")
    assert ida == client_order_id(a, "run7-123456", 1234567, Side.BUY)
    assert ida != client_order_id(a, "run7-123456", 1234567, Side.SELL)


def test_a_trader_id_too_long_for_any_client_id_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        client_order_id("XRPUSDT", "x" * 40, 0, Side.BUY)


symbols = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=20)
trader_ids = st.builds(
    lambda prefix, n: f"{prefix}{n}",
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-", max_size=8),
    st.integers(0, 10**6),
)
cycles = st.integers(0, 10**6)
keys = st.tuples(symbols, trader_ids, cycles, st.sampled_from(Side))
Key = tuple[str, str, int, Side]


@given(keys, keys)
@settings(max_examples=300, deadline=None)
def test_client_order_id_properties(k1: Key, k2: Key) -> None:
    cid = client_order_id(*k1)
    assert len(cid) <= MAX_CLIENT_ID
    assert CLIENT_ID.fullmatch(cid)
    assert client_order_id(*k1) == cid
    if k1 != k2:
        assert client_order_id(*k2) != cid


# -- properties of the formulas --------------------------------------------------------------
units_of_size = st.builds(
    lambda m, e: D(m).scaleb(-e), st.sampled_from([1, 2, 5, 25]), st.integers(0, 8)
)
intervals = st.integers(0, 5000).map(lambda n: D(n).scaleb(-4))  # [0, 0.5]
prices = st.builds(lambda n, e: D(n).scaleb(-e), st.integers(1, 10**8), st.integers(0, 8))
fees = st.integers(0, 100).map(lambda n: D(n).scaleb(-4))  # [0, 0.01]


@st.composite
def setups(draw: st.DrawFn) -> tuple[TraderState, D]:
    tick = draw(units_of_size)
    step = draw(units_of_size)
    min_notional = draw(st.sampled_from([D(0), D("0.1"), D(1), D(5), D(10)]))
    min_qty = draw(st.sampled_from([D(0), step, step * 10]))
    filters = SymbolFilters(SYMBOL, "XRP", "USDT", tick, step, min_qty, min_notional)
    s = TradingSettings(
        SYMBOL,
        chunks=draw(st.integers(1, 20)),
        budget=draw(prices),
        buy_down_interval=draw(intervals),
        profit_interval=draw(intervals),
        rebuy_interval=draw(intervals),
        fee=draw(fees),
    )
    return strategy.new_trader(SYMBOL, 1, s, filters), draw(prices)


@given(setups())
@settings(max_examples=250, deadline=None)
def test_buy_orders_respect_price_and_filters(setup: tuple[TraderState, D]) -> None:
    state, price = setup
    f, s = state.filters, state.settings
    new, decisions = strategy.on_trade(state, trade(price))
    expected_price = strategy.buy_price(price, s, f)
    expected_qty = strategy.buy_quantity(expected_price, s, f) if expected_price > 0 else D(0)
    if not decisions or isinstance(decisions[0], Report):
        assert new.buy is None
        # nothing placed only when an order (the buy, or the sell after a base-asset
        # commission) would break the exchange's filters
        assert expected_price <= 0 or (
            strategy.chunk_problem(expected_price, expected_qty, s, f) is not None
        )
        return
    (decision,) = decisions
    assert isinstance(decision, PlaceOrder)
    buy = decision.order
    assert buy == new.buy
    assert buy.price == expected_price and buy.quantity == expected_qty
    assert 0 < buy.price <= price
    assert buy.price % f.tick_size == 0
    assert buy.quantity > 0 and buy.quantity % f.step_size == 0
    assert buy.quantity >= f.min_qty
    assert buy.price * buy.quantity >= f.min_notional
    assert buy.price * buy.quantity <= s.chunk_budget  # never more than a chunk's budget
    assert f.check(buy.price, buy.quantity) is None  # the exchange would accept it


@given(setups())
@settings(max_examples=250, deadline=None)
def test_sell_price_is_never_below_the_buy_price(setup: tuple[TraderState, D]) -> None:
    # sell = floor_tick(buy * (1+fee)^2 * (1+profit)). With a coarse tick the markup can vanish
    # in the flooring, so sell == buy is possible; sell > buy exactly when the markup is at
    # least one tick (buy is itself a multiple of the tick).
    state, price = setup
    f, s = state.filters, state.settings
    buy = strategy.buy_price(price, s, f)
    assume(buy > 0)
    sell = strategy.sell_price(buy, s, f)
    assert sell % f.tick_size == 0
    assert sell >= buy
    with localcontext() as exact:
        exact.prec = 80  # the markup, exactly
        gross = buy * (1 + s.fee) ** 2 * (1 + s.profit_interval)
        assert (sell > buy) == (gross - buy >= f.tick_size)
        assert sell <= gross < sell + f.tick_size


@given(setups(), st.integers(0, 10**4).map(lambda n: D(n).scaleb(-6)))
@settings(max_examples=150, deadline=None)
def test_full_cycle_through_the_strategy(setup: tuple[TraderState, D], fee_base: D) -> None:
    state, price = setup
    state, decisions = strategy.on_trade(state, trade(price))
    assume(decisions and isinstance(decisions[0], PlaceOrder))
    buy = state.buy
    assert buy is not None
    filled = on_exchange(buy, OrderStatus.FILLED)
    commission = fee_base * buy.quantity
    state, decisions = strategy.on_update(state, update(filled, str(commission), "XRP"))
    f = state.filters
    held = buy.quantity - commission
    sell_at = strategy.sell_price(buy.price, state.settings, f)
    kept = held - held % f.step_size
    if kept <= 0 or kept < f.min_qty or kept * sell_at < f.min_notional:
        # what the commission left is below the minimums to sell: recorded as dust
        assert isinstance(decisions[0], Report) and decisions[1:] == (CycleComplete(),)
        assert state.dust == held and state.phase == "done" and state.sell is None
        return
    (decision,) = decisions
    assert isinstance(decision, PlaceOrder)
    sell = decision.order
    f = state.filters
    assert sell.side == Side.SELL and sell.price >= buy.price
    assert sell.quantity % f.step_size == 0
    assert buy.quantity - commission - f.step_size < sell.quantity <= buy.quantity - commission
    state, decisions = strategy.on_order(state, on_exchange(sell, OrderStatus.FILLED))
    assert decisions == (CycleComplete(),) and state.phase == "done"


@given(prices, intervals)
@settings(deadline=None)
def test_rebuy_threshold_is_strict(price: D, rebuy: D) -> None:
    s = TradingSettings(SYMBOL, rebuy_interval=rebuy)
    filters = replace(XRP, tick_size=D("1E-8"), step_size=D("1E-8"), min_notional=D(0))
    state = strategy.new_trader(SYMBOL, 1, replace(s, buy_down_interval=D(0)), filters)
    state, decisions = strategy.on_trade(state, trade(price))
    assume(decisions)
    threshold = price * (1 - rebuy)
    assert strategy.on_trade(state, trade(threshold, 2))[1] == ()
    below = threshold - D("1E-12")
    assert strategy.on_trade(state, trade(below, 3))[1] == (RequestRebuy(),)


# -- settings --------------------------------------------------------------------------------
def test_parse_accepts_strings_ints_and_decimals() -> None:
    s = TradingSettings.parse(
        " xrpusdt ", chunks="3", budget=150, buy_down_interval=D("0.002"), fee="0.00075"
    )
    assert s.symbol == "XRPUSDT" and s.chunks == 3 and s.budget == D(150)
    assert s.buy_down_interval == D("0.002") and s.fee == D("0.00075")
    assert s.chunk_budget == D(50)
    assert s.profit_interval == TradingSettings(SYMBOL).profit_interval  # defaults kept
    assert TradingSettings.parse(SYMBOL, budget=None) == TradingSettings(SYMBOL)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"budget": "-1"}, "budget must be positive"),
        ({"budget": "0"}, "budget must be positive"),
        ({"chunks": 0}, "chunks must be at least 1"),
        ({"chunks": "-2"}, "chunks must be at least 1"),
        ({"buy_down_interval": "1"}, r"buy_down_interval must be in \[0, 1\)"),
        ({"profit_interval": "-0.001"}, r"profit_interval must be in \[0, 1\)"),
        ({"rebuy_interval": "1.5"}, r"rebuy_interval must be in \[0, 1\)"),
        ({"fee": "1"}, r"fee must be in \[0, 1\)"),
        ({"budget": "abc"}, "budget: 'abc' is not a number"),
        ({"budget": "NaN"}, "not a finite number"),
        ({"budget": "Infinity"}, "not a finite number"),
        ({"budget": 10.5}, "floats are not accepted"),
        ({"chunks": "x"}, "chunks: 'x' is not a whole number"),
        ({"chunks": "2.5"}, "not a whole number"),
        ({"chunks": [1]}, "not a whole number"),
        ({"chunks": D("2.5")}, "not a whole number"),
        ({"chunks": 2.5}, "not a whole number"),
        ({"buy_down_interval": "1%"}, "buy_down_interval: '1%' is not a number"),
        ({"colour": "red"}, "unknown setting 'colour'"),
    ],
)
def test_parse_refuses_bad_values(values: dict[str, object], message: str) -> None:
    # Bug fixed in settings.TradingSettings.parse: fractional chunks given as a Decimal or a
    # float (2.5) were silently truncated by int() instead of refused.
    with pytest.raises(ConfigError, match=message):
        TradingSettings.parse(SYMBOL, **values)


def test_messages_name_the_symbol() -> None:
    with pytest.raises(ConfigError, match=r"^XRPUSDT: budget"):
        TradingSettings.parse("xrpusdt", budget="-5")


def test_check_validates_settings_built_directly() -> None:
    TradingSettings(SYMBOL).check()
    with pytest.raises(ConfigError, match="chunks"):
        TradingSettings(SYMBOL, chunks=0).check()
    with pytest.raises(ConfigError, match="rebuy_interval"):
        TradingSettings(SYMBOL, rebuy_interval=D("1")).check()


def test_check_against_requires_min_notional_per_chunk() -> None:
    filters = replace(XRP, min_notional=D("10"))
    TradingSettings.parse(SYMBOL, budget="50", chunks=5).check_against(filters)  # exactly 10
    with pytest.raises(ConfigError, match=r"budget/chunks = 9\.8 is below .*min notional 10"):
        TradingSettings.parse(SYMBOL, budget="49", chunks=5).check_against(filters)
    with pytest.raises(ConfigError, match="budget must be positive"):
        TradingSettings(SYMBOL, budget=D(-1)).check_against(filters)


def test_with_values_validates_the_result() -> None:
    s = TradingSettings.parse(SYMBOL, budget="100", chunks=4)
    t = s.with_values(chunks="2", fee=None)
    assert (t.chunks, t.budget, t.fee) == (2, D(100), s.fee)
    with pytest.raises(ConfigError):
        s.with_values(chunks=0)
    assert s.as_dict()["budget"] == "100" and s.as_dict()["chunks"] == 4


@pytest.mark.parametrize(
    ("raw", "symbol"),
    [("xrpusdt", "XRPUSDT"), (" BtcUsdt\n", "BTCUSDT"), ("1INCHUSDT", "1INCHUSDT")],
)
def test_normalize_symbol(raw: str, symbol: str) -> None:
    assert normalize_symbol(raw) == symbol


@pytest.mark.parametrize(
    "junk", ["", "   ", "XRP/USDT", "xrp-usdt", "XRP USDT", "A" * 21, "XRPÜSDT", "ＸＲＰ", "٣٣"]
)
def test_normalize_symbol_rejects_junk(junk: str) -> None:
    # Bug fixed in settings.normalize_symbol: str.isalnum() accepts any Unicode letter or digit,
    # so "XRPÜSDT" passed and would break client order ids ([A-Za-z0-9_-] only) and topics.
    with pytest.raises(ConfigError, match="not a valid symbol"):
        normalize_symbol(junk)
