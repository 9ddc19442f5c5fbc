"""The cycle PnL formula, written once, against DESIGN.md's numbers."""

from __future__ import annotations

from decimal import Decimal

from hedgehog.core.pnl import buy_cost, cycle_pnl, sell_proceeds


def test_cycle_pnl_charges_the_fee_on_both_legs() -> None:
    q, buy, sell, fee = Decimal("100"), Decimal("0.4"), Decimal("0.4012"), Decimal("0.001")
    assert buy_cost(q, buy, fee) == Decimal("40.04")
    assert sell_proceeds(q, sell, fee) == Decimal("40.07988")
    assert cycle_pnl(q, buy, sell, fee) == Decimal("0.03988")
    # holding at the buy price loses both fees
    assert cycle_pnl(q, buy, buy, fee) == -Decimal("0.08")


def test_cycle_pnl_is_exact_in_decimal() -> None:
    q, buy, fee = Decimal("0.01"), Decimal("0.1234"), Decimal("0.00075")
    got = cycle_pnl(q, buy, Decimal("0.1235"), fee)
    assert got == q * Decimal("0.1235") * (1 - fee) - q * buy * (1 + fee)
