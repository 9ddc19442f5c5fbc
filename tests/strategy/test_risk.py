"""The max-loss halt's threshold, pure (`hedgehog.strategy.risk`), and its settings."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgehog.core.errors import ConfigError
from hedgehog.core.pnl import cycle_pnl
from hedgehog.core.types import Side
from hedgehog.grid.settings import GridSettings
from hedgehog.naive.settings import TradingSettings
from hedgehog.naive.state import OrderRef
from hedgehog.strategy.risk import (
    breached,
    cycle_realised,
    exposure,
    halt_price,
    parse_flag,
    parse_max_loss,
    pnl_at,
)

F = D("0.001")


class _S:
    def __init__(self, buy: OrderRef | None, sell: OrderRef | None = None) -> None:
        self.buy, self.sell = buy, sell


def ref(side: Side, price: str, qty: str, executed: str, status: str = "FILLED") -> OrderRef:
    return OrderRef("X-1-0B", side, D(price), D(qty), status, 1, D(executed))


def test_the_threshold_of_one_held_chunk() -> None:
    # 10.1 bought at 0.99, fee 0.1%: PnL(p) = 10.1 p 0.999 - 10.1 * 0.99 * 1.001
    q, c, r = exposure([_S(ref(Side.BUY, "0.99", "10.1", "10.1"))], F)
    assert (q, c, r) == (D("10.1"), D("9.999"), 0)
    t = halt_price(r, q, c, F, D("0.1"))
    assert t == (D("1.001") * D("9.999") - D("0.1")) / (D("0.999") * D("10.1"))
    assert abs(pnl_at(t, r, q, c, F) + D("0.1")) < D("1e-20")  # PnL is -max_loss there
    assert cycle_pnl(q, D("0.99"), t, F) == pnl_at(t, r, q, c, F)
    assert breached(t - D("1e-8"), t) and not breached(t, t) and not breached(D(1), t)


def test_nothing_held_halts_only_on_a_realised_loss_beyond_the_limit() -> None:
    assert halt_price(D("-0.5"), D(0), D(0), F, D(1)) is None
    assert halt_price(D("-1"), D(0), D(0), F, D(1)) is None  # -1 is not below -1
    assert halt_price(D("-1.01"), D(0), D(0), F, D(1)) == D("Infinity")
    assert breached(D("1e6"), D("Infinity"))
    assert not breached(D(0), None)


def test_partial_sells_count_as_realised_and_leave_the_rest_held() -> None:
    state = _S(ref(Side.BUY, "1", "10", "10"), ref(Side.SELL, "0.9", "10", "4", "PARTIALLY_FILLED"))
    q, c, r = exposure([state], F)
    assert (q, c) == (D(6), D(6))
    assert r == cycle_realised(state, F) == cycle_pnl(D(4), D(1), D("0.9"), F)
    assert exposure([_S(None), _S(ref(Side.BUY, "1", "10", "0", "NEW"))], F) == (0, 0, 0)


@given(
    st.decimals(D("0.0001"), D(1000), places=4),
    st.decimals(D("0.1"), D(1000), places=1),
    st.decimals(D("-50"), D("50"), places=2),
    st.decimals(D("0.01"), D(100), places=2),
    st.decimals(D("0.0001"), D(2000), places=4),
)
def test_below_the_threshold_the_loss_is_beyond_the_limit(
    bought_at: D, qty: D, realised: D, limit: D, price: D
) -> None:
    c = qty * bought_at
    t = halt_price(realised, qty, c, F, limit)
    assert t is not None
    pnl = pnl_at(price, realised, qty, c, F)
    if pnl < -limit - D("1e-12"):
        assert breached(price, t)
    if pnl > -limit + D("1e-12"):
        assert not breached(price, t)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1e40", "nan", "inf", True, 1.5, "9" * 50])
def test_bad_max_loss_is_a_config_error(value: object) -> None:
    with pytest.raises(ConfigError, match="max_loss"):
        parse_max_loss(value)


def test_max_loss_and_flags() -> None:
    assert parse_max_loss("12.5") == D("12.5") and parse_max_loss(None) is None
    assert parse_max_loss("off") is None and parse_max_loss(3) == D(3)
    assert parse_flag("true", "x") and not parse_flag("no", "x") and parse_flag(True, "x")
    with pytest.raises(ConfigError, match="halt_cancels_buys must be true or false"):
        parse_flag("maybe", "halt_cancels_buys")


def test_naive_settings_take_the_controls_and_show_them_only_when_on() -> None:
    plain = TradingSettings.parse("XRPUSDT")
    assert "max_loss" not in plain.as_dict() and "stop_loss_interval" not in plain.as_dict()
    on = TradingSettings.parse(
        "XRPUSDT", max_loss="25", halt_cancels_buys="true", stop_loss_interval="0.02"
    )
    assert (on.max_loss, on.halt_cancels_buys, on.stop_loss_interval) == (D(25), True, D("0.02"))
    shown = on.as_dict()
    assert shown["max_loss"] == "25" and shown["halt_cancels_buys"] is True
    assert shown["stop_loss_interval"] == "0.02"
    again = {k: v for k, v in shown.items() if k != "symbol"}
    assert TradingSettings.parse("XRPUSDT", **again) == on  # a settings row reads back
    for bad, match in (("0", "stop_loss_interval"), ("1", "stop_loss_interval")):
        with pytest.raises(ConfigError, match=match):
            TradingSettings.parse("XRPUSDT", stop_loss_interval=bad)
    with pytest.raises(ConfigError, match="max_loss"):
        TradingSettings.parse("XRPUSDT", max_loss="-3")
    with pytest.raises(ConfigError, match=r"known: .*max_loss"):
        TradingSettings.parse("XRPUSDT", max_los="3")


def test_grid_settings_take_max_loss() -> None:
    base = {"lower": "0.4", "upper": "0.44", "levels": "5"}
    plain = GridSettings.parse("XRPUSDT", **base)
    assert "max_loss" not in plain.as_dict()
    on = GridSettings.parse("XRPUSDT", **base, max_loss="7", halt_cancels_buys="yes")
    assert on.as_dict()["max_loss"] == "7" and on.halt_cancels_buys
    with pytest.raises(ConfigError, match="stop_loss_interval"):
        GridSettings.parse("XRPUSDT", **base, stop_loss_interval="0.1")  # naive's only
