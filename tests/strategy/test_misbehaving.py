"""A user's strategy can be wrong: one that raises is a crashed trader (restarted with its last
state, at most 5 times in 10 s, then its symbol is marked errored), never a dead node; one that
returns nonsense is refused before anything is stored or sent, with the strategy's name."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from hedgehog.core.types import Side, TradeEvent
from hedgehog.naive.plugin import NaiveStrategy
from hedgehog.naive.state import OrderRef, PlaceOrder, replace
from tests.naive.conftest import Harness, open_harness


class Raising(NaiveStrategy):
    name = "raising"

    def on_trade(self, state: Any, trade: TradeEvent, may_buy: bool = True) -> Any:  # type: ignore[override]
        raise RuntimeError("my bug")


class Nonsense(NaiveStrategy):
    name = "nonsense"

    def __init__(self, price: str, quantity: str) -> None:
        self.price, self.quantity = D(price), D(quantity)

    def on_trade(self, state: Any, trade: TradeEvent, may_buy: bool = True) -> Any:  # type: ignore[override]
        if state.buy is not None:
            return state, ()
        order = OrderRef(f"XRPUSDT-{state.trader_id}-0B", Side.BUY, self.price, self.quantity)
        return replace(state, buy=order), (PlaceOrder(order),)


async def crash_loop(h: Harness, strategy: Any) -> list[Any]:
    h.ctx.strategies["XRPUSDT"] = strategy
    await h.naive.start_trading("XRPUSDT")
    await h.rt.quiesce()
    for _ in range(10):
        await h.trade("0.5")
    return list(h.rt.errors)


async def test_a_strategy_that_raises_crashes_its_trader_not_the_node() -> None:
    async with open_harness() as h:
        errors = await crash_loop(h, Raising())
        assert errors and all("my bug" in repr(e) for e in errors)
        assert "crashed 6 times" in h.ctx.errored["XRPUSDT"]  # given up: bounded
        assert h.running("XRPUSDT")  # its symbol's tree stands, the node too
        assert h.ledger() == []
        h.rt.errors.clear()  # the harness fails a test on crashes: these were the point


@pytest.mark.parametrize(
    ("price", "quantity", "says"),
    [
        ("0.5", "-3", "the quantity must be a positive Decimal"),
        ("0.50005", "10", "the price is off the tick size 0.0001"),
        ("0.5", "10.05", "the quantity is off the step size 0.1"),
    ],
)
async def test_nonsense_is_refused_naming_the_strategy(
    price: str, quantity: str, says: str
) -> None:
    async with open_harness() as h:
        errors = await crash_loop(h, Nonsense(price, quantity))
        assert errors and errors[0]["error"].startswith("StrategyError(")
        message = errors[0]["error"]
        assert "strategy 'nonsense'" in message and says in message
        assert "crashed 6 times" in h.ctx.errored["XRPUSDT"] and says in h.ctx.errored["XRPUSDT"]
        assert h.ledger() == []  # nothing reached the exchange
        assert h.running("XRPUSDT")
        h.rt.errors.clear()
