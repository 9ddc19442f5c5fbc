"""The naive system's supervision tree, as in chapter 5 of the book:

DynamicSymbolSupervisor (one_for_one, "naive.symbols")
  └─ SymbolSupervisor (one_for_all, ("symbol", S))
       ├─ DynamicTraderSupervisor (("traders", S)): traders, temporary children
       └─ Leader (("leader", S)): starts and monitors the traders
"""

from __future__ import annotations

from typing import Any

from hedgehog.naive.context import OFF, NaiveContext, leader_name, symbol_name, traders_name
from hedgehog.naive.leader import Leader
from hedgehog.runtime import ChildSpec, DynamicSupervisor, Supervisor


class DynamicTraderSupervisor(DynamicSupervisor):
    """Holds a symbol's traders; the leader starts them and restarts them itself."""


class SymbolSupervisor(Supervisor):
    async def init(self, symbol: str, ctx: NaiveContext) -> None:  # type: ignore[override]
        self.symbol = symbol
        await super().init(
            [
                ChildSpec("traders", DynamicTraderSupervisor, name=traders_name(symbol)),
                ChildSpec("leader", Leader, (symbol, ctx), name=leader_name(symbol)),
            ],
            strategy="one_for_all",
        )


class DynamicSymbolSupervisor(DynamicSupervisor):
    """One SymbolSupervisor per traded symbol. A leader whose shutdown is complete asks it
    (by cast, so the leader is not waiting on its own termination) to stop the symbol."""

    def init(  # type: ignore[override]
        self, ctx: NaiveContext, max_restarts: int = 3, max_seconds: float = 5.0
    ) -> None:
        self.ctx = ctx
        super().init(max_restarts=max_restarts, max_seconds=max_seconds)

    def handle_cast(self, message: Any) -> Any:
        match message:
            case ("stop_symbol", symbol):
                return self._stop_symbol(symbol)
        return None

    async def _stop_symbol(self, symbol: str) -> None:
        pid = self.rt.whereis(symbol_name(symbol))
        child = self._child_of(pid) if pid is not None else None
        if child is not None:
            self.children.remove(child)
            await self._stop_child(child)
        await self.ctx.set_status(symbol, OFF)


def symbol_spec(symbol: str, ctx: NaiveContext) -> ChildSpec:
    return ChildSpec(symbol_name(symbol), SymbolSupervisor, (symbol, ctx), name=symbol_name(symbol))
