"""A deliberately broken node, for the chaos checker's mutation test (never for trading).

    python bench/chaos_mutant.py call-before-intent run --exchange binance ...

`call-before-intent`: each trader calls the exchange BEFORE its order's intent is durable:
it places the order first, then lets the real trader code save the state and "place" it,
answering that placement with the exchange's earlier answer (or error). Everything else is
the real `hedgehog` command line. A node like this loses or duplicates orders when it dies
between the call and the save; `bench/chaos.py --mutant call-before-intent` must report it.
"""

from __future__ import annotations

import sys
from typing import Any

MUTANTS = ("call-before-intent",)


class EarlyExchange:
    """The trader's exchange, answering placements already made with their early outcome."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.early: dict[str, tuple[bool, Any]] = {}

    async def call_now(self, symbol: str, order: Any) -> None:
        try:
            answer = await self.inner.place_limit_order(
                symbol, order.side, order.price, order.quantity, order.client_order_id
            )
        except Exception as exc:  # answered later, to the real trader code
            self.early[order.client_order_id] = (False, exc)
        else:
            self.early[order.client_order_id] = (True, answer)

    async def place_limit_order(self, *args: Any, **kwargs: Any) -> Any:
        cid = kwargs.get("client_order_id", args[4] if len(args) > 4 else None)
        if cid in self.early:
            ok, outcome = self.early.pop(cid)
            if not ok:
                raise outcome
            return outcome
        return await self.inner.place_limit_order(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def call_before_intent() -> None:
    from hedgehog.naive import trader as module
    from hedgehog.naive.strategy import PlaceOrder

    trader = module.Trader
    for name in ("init", "_apply", "_place"):
        if not callable(getattr(trader, name, None)):
            raise SystemExit(f"chaos_mutant: Trader.{name} is gone; update bench/chaos_mutant.py")
    real_init, real_apply = trader.init, trader._apply

    def init(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_init(self, *args, **kwargs)
        self._exchange = EarlyExchange(self._exchange)
        return result

    async def apply(self: Any, state: Any, decisions: Any) -> None:
        exchange = self._exchange
        for decision in decisions:
            if isinstance(decision, PlaceOrder) and isinstance(exchange, EarlyExchange):
                await exchange.call_now(state.symbol, decision.order)  # the bug
        await real_apply(self, state, decisions)

    trader.init = init  # type: ignore[method-assign]
    trader._apply = apply  # type: ignore[method-assign]


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in MUTANTS:
        raise SystemExit(f"usage: chaos_mutant.py {{{','.join(MUTANTS)}}} <hedgehog arguments>")
    call_before_intent()
    from hedgehog.cli import main as hedgehog

    sys.argv = ["hedgehog", *sys.argv[2:]]
    hedgehog()


if __name__ == "__main__":
    main()
