"""A symbol's risk book (max loss, realised PnL, the halt and its reason) reaches the
dashboard's symbol section, so the page can say why it places no new buys."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hedgehog.naive.risk import SymbolRisk
from tests.dashboard.conftest import SYMBOL


async def test_a_halted_symbol_says_why(rig: Any) -> None:
    book = SymbolRisk(SYMBOL, max_loss=Decimal(5), fee=Decimal("0.001"))
    book.halted = {"trade_id": 7, "price": "0.9", "pnl": "-5.2", "reason": "max loss 5 reached"}
    rig.node.naive.ctx.risk[SYMBOL] = book
    try:
        status, body = await rig.get(f"/api/symbol/{SYMBOL}")
        assert status == 200
        assert body["risk"]["max_loss"] == "5"
        assert body["risk"]["halted"]["reason"] == "max loss 5 reached"
    finally:
        del rig.node.naive.ctx.risk[SYMBOL]
