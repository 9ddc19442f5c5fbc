"""The naive cycle's profit and loss, written once (DESIGN.md's formula):

    pnl = qty * sell_price * (1 - fee) - qty * buy_price * (1 + fee)

The fee is charged on both legs in the quote asset. Unrealised PnL is the same formula with
the last price standing for the sell. Decimal in, Decimal out, in this exact order of
operations, so every view (ledger, report, observer, dashboard) gives the same digits.
"""

from __future__ import annotations

from decimal import Decimal

ONE = Decimal(1)


def buy_cost(qty: Decimal, price: Decimal, fee: Decimal) -> Decimal:
    """What buying `qty` at `price` costs, the fee included."""
    return qty * price * (ONE + fee)


def sell_proceeds(qty: Decimal, price: Decimal, fee: Decimal) -> Decimal:
    """What selling `qty` at `price` brings in, the fee deducted."""
    return qty * price * (ONE - fee)


def cycle_pnl(qty: Decimal, buy_price: Decimal, sell_price: Decimal, fee: Decimal) -> Decimal:
    """The PnL of buying then selling `qty` (or of holding it at `sell_price`: unrealised)."""
    return sell_proceeds(qty, sell_price, fee) - buy_cost(qty, buy_price, fee)


__all__ = ["buy_cost", "cycle_pnl", "sell_proceeds"]
