"""The naive system's supervision tree, as in chapter 5 of the book:

NaiveSupervisor (rest_for_one, "naive")
  ├─ BarPublisher ("naive.bars"): the bars of the symbols whose strategy wants them (the
  │    book's indicator app); a restart restarts the symbols after it, which ask again
  ├─ DynamicSymbolSupervisor (one_for_one, "naive.symbols")
  │    └─ SymbolSupervisor (one_for_all, ("symbol", S))
  │         ├─ DynamicTraderSupervisor (("traders", S)): traders, temporary children
  │         └─ Leader (("leader", S)): starts and monitors the traders
  └─ SymbolsAutostart ("naive.autostart"): after any restart of naive.symbols (a kill, or
     its restart intensity exceeded), starts again every symbol that was trading
"""

from __future__ import annotations

import logging
from typing import Any

from hedgehog.market.publisher import BarPublisher
from hedgehog.naive.context import (
    BARS,
    OFF,
    ON,
    SHUTDOWN,
    SYMBOLS,
    NaiveContext,
    leader_name,
    symbol_name,
    traders_name,
)
from hedgehog.naive.leader import Leader
from hedgehog.naive.messages import StopSymbol
from hedgehog.runtime import (
    ChildSpec,
    Continue,
    DynamicSupervisor,
    Process,
    Supervisor,
    start_child,
)

log = logging.getLogger("hedgehog.naive")
AUTOSTART = "naive.autostart"


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
            case StopSymbol(symbol):
                return self._stop_symbol(symbol)
        return None

    async def _stop_symbol(self, symbol: str) -> None:
        pid = self.rt.whereis(symbol_name(symbol))
        child = self._child_of(pid) if pid is not None else None
        if child is not None:
            self.children.remove(child)
            await self._stop_child(child)
        await self.ctx.set_status(symbol, OFF)


class SymbolsAutostart(Process):
    """The book's autostart task: it runs after naive.symbols under a rest_for_one parent, so
    it is restarted whenever naive.symbols is, and then starts every symbol the context says
    is trading (on, or shutting down: its leader carries the shutdown on). The context lives
    outside the tree, so what was trading survives any kill inside it. At a node's first start
    the context is empty: the node's boot starts the stored symbols itself."""

    def init(self, ctx: NaiveContext) -> Continue:
        self.ctx = ctx
        self.restarted: list[str] = []
        return Continue("start")

    async def handle_continue(self, payload: object) -> None:
        for symbol, status in list(self.ctx.status.items()):
            if status in (ON, SHUTDOWN) and self.rt.whereis(symbol_name(symbol)) is None:
                await start_child(self.rt, SYMBOLS, symbol_spec(symbol, self.ctx))
                self.restarted.append(symbol)
        if self.restarted:
            log.warning("symbols started again after a restart: %s", ", ".join(self.restarted))

    def info(self) -> dict[str, object]:
        return {"restarted": list(self.restarted)}


class NaiveSupervisor(Supervisor):
    """naive.bars, naive.symbols, then its autostart, rest_for_one (see the module's
    docstring)."""

    async def init(self, ctx: NaiveContext) -> None:  # type: ignore[override]
        await super().init(
            [
                ChildSpec("bars", BarPublisher, (ctx.pubsub,), name=BARS),
                ChildSpec("symbols", DynamicSymbolSupervisor, (ctx,), name=SYMBOLS),
                ChildSpec("autostart", SymbolsAutostart, (ctx,), name=AUTOSTART),
            ],
            strategy="rest_for_one",
        )


def symbol_spec(symbol: str, ctx: NaiveContext) -> ChildSpec:
    return ChildSpec(symbol_name(symbol), SymbolSupervisor, (symbol, ctx), name=symbol_name(symbol))
