"""The grid strategy, pure: its settings and level prices, and its transitions against the
issue's rules (buy at g_i only when a trade prints strictly above it, sell at g_{i+1} what was
bought less a base-asset commission, skip orders below the minimums)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from hedgehog.core.errors import ConfigError
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Order, OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.grid.settings import GridSettings
from hedgehog.grid.strategy import GRID, GridState
from hedgehog.naive.state import CycleComplete, FetchFills, PlaceOrder

F = SymbolFilters("XRPUSDT", "XRP", "USDT", D("0.0001"), D("0.01"), D("0.01"), D("10"))


def settings(**values: object) -> GridSettings:
    base = {"lower": "0.37", "upper": "0.41", "levels": "9", "budget": "800"}
    return GridSettings.parse("XRPUSDT", **{**base, **values})


def trade(price: str, n: int = 1) -> TradeEvent:
    return TradeEvent("XRPUSDT", n, D(price), D(1), n)


def test_level_prices_follow_the_formula() -> None:
    s = settings()
    assert s.prices(F) == [
        D(x) for x in ["0.37", "0.375", "0.38", "0.385", "0.39", "0.395", "0.4", "0.405", "0.41"]
    ]
    # floor to the tick: (0.41 - 0.37) / 7 does not divide evenly
    odd = settings(levels="8").prices(F)
    assert odd[1] == D("0.3757") and odd[-1] == D("0.41")
    assert s.quantity(D("0.37"), F) == D("270.27")  # floor_step((800 / 8) / 0.37)


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"levels": "1"}, "levels must be 2.."),
        ({"levels": "x"}, "whole number"),
        ({"lower": "0.5"}, "0 < lower < upper"),
        ({"budget": "-1"}, "budget must be positive"),
        ({"fee": "1"}, "fee must be in"),
        ({"step": "1"}, "unknown setting 'step'"),
        ({"lower": "1e999999"}, "out of range"),
    ],
)
def test_bad_settings_are_refused_by_name(values: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        settings(**values)


def test_missing_settings_say_how_to_give_them() -> None:
    with pytest.raises(ConfigError, match="grid needs lower, upper, levels"):
        GridSettings.parse("XRPUSDT")


def test_levels_that_collapse_on_the_tick_are_refused() -> None:
    with pytest.raises(ConfigError, match="collapse on the tick size"):
        settings(lower="0.3700", upper="0.3705", levels="9").check_against(F)


def fresh(level: int = 0, s: GridSettings | None = None) -> GridState:
    return GRID.new_trader("XRPUSDT", level + 1, s or settings(), F, "", level)


def test_the_leader_starts_one_trader_per_buy_level_and_replaces_a_level() -> None:
    s = settings()
    assert GRID.missing_slots(s, []) == list(range(8))
    assert GRID.missing_slots(s, [fresh(0), fresh(3)]) == [1, 2, 4, 5, 6, 7]
    assert GRID.replacement(s, fresh(5)) == 5
    assert GRID.extra_trader(s, 3) is None
    state = fresh(2)
    assert (state.buy_at, state.sell_at) == (D("0.38"), D("0.385"))


def test_a_level_buys_only_when_a_trade_prints_strictly_above_it() -> None:
    state = fresh(2)  # g_2 = 0.38
    for price in ("0.38", "0.3712"):
        same, decisions = GRID.on_trade(state, trade(price), True)
        assert same is state and decisions == ()
    assert GRID.trade_band(state, True) == (None, D("0.38"))  # quiet up to its level
    bought, decisions = GRID.on_trade(state, trade("0.3801"), True)
    assert decisions == (PlaceOrder(bought.buy),)
    assert (bought.buy.side, bought.buy.price, bought.buy.quantity) == (
        Side.BUY,
        D("0.38"),
        D("263.15"),
    )
    assert bought.buy.client_order_id == "XRPUSDT-3-0B"
    assert GRID.on_trade(bought, trade("0.50"), True)[1] == ()  # one order at a time
    assert GRID.trade_band(bought, True) == (None, None)
    assert GRID.on_trade(state, trade("0.3801"), False)[1] == ()  # shutting down: no buy


def filled(state: GridState, side: Side, qty: D, commission: D, asset: str) -> OrderUpdate:
    ref = state.buy if side == Side.BUY else state.sell
    assert ref is not None
    order = Order(
        7 if side == Side.BUY else 8,
        ref.client_order_id,
        "XRPUSDT",
        side,
        ref.price,
        ref.quantity,
        qty,
        qty * ref.price,
        OrderStatus.FILLED,
        1,
        2,
    )
    return OrderUpdate(order, qty, ref.price, commission, asset, 2, trade_id=1)


def test_after_its_buy_it_sells_one_level_up_less_a_base_commission() -> None:
    state, _ = GRID.on_trade(fresh(2), trade("0.3801"), True)
    placed, _ = GRID.on_order(
        state,
        Order(
            7,
            state.buy.client_order_id,
            "XRPUSDT",
            Side.BUY,
            D("0.38"),
            D("263.15"),
            D(0),
            D(0),
            OrderStatus.NEW,
            1,
            1,
        ),
    )
    selling, decisions = GRID.on_update(
        placed, filled(placed, Side.BUY, D("263.15"), D("0.26315"), "XRP")
    )
    assert len(decisions) == 1 and isinstance(decisions[0], PlaceOrder)
    sell = decisions[0].order
    assert (sell.side, sell.price, sell.quantity) == (Side.SELL, D("0.385"), D("262.88"))
    done, decisions = GRID.on_update(
        selling, filled(selling, Side.SELL, D("262.88"), D("0.1"), "USDT")
    )
    assert decisions == (CycleComplete(),) and done.phase == "done"


def test_a_fill_learnt_without_its_commission_asks_for_the_fills_first() -> None:
    state, _ = GRID.on_trade(fresh(0), trade("0.371"), True)
    order = Order(7, state.buy.client_order_id, "XRPUSDT", Side.BUY, D("0.37"), D("270.27"),
                  D("270.27"), D("100"), OrderStatus.FILLED, 1, 2)  # fmt: skip
    _, decisions = GRID.on_order(state, order)
    assert decisions == (FetchFills(7),)


def test_a_level_below_the_minimums_is_skipped_for_ever() -> None:
    small = settings(budget="50")  # 50 / 8 = 6.25 USDT a level: below min notional 10
    state = fresh(0, small)
    assert GRID.on_trade(state, trade("0.40"), True)[1] == ()
    assert GRID.trade_band(state, True) == (None, None)  # nothing it may do: skip every trade


def test_describe_says_the_level() -> None:
    seen = GRID.describe(fresh(4))
    assert seen["level"] == 4 and seen["buy_at"] == "0.39" and seen["phase"] == "idle"
