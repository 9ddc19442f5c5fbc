"""Where traders' states live between crashes: the `TraderStore` interface.

A trader writes its state (and so each order intent) here before it calls the exchange; a
leader loads its traders from here when it starts. `MemoryTraderStore` keeps them in the node's
memory, outside the supervision tree, so they survive any crash of a trader, a leader or a
symbol supervisor (not of the whole process: that needs the database store).
"""

from __future__ import annotations

from typing import Protocol

from hedgehog.naive.strategy import TraderState


class TraderStore(Protocol):
    async def save(self, state: TraderState) -> None:
        """Write a trader's state durably (before any exchange call it implies)."""
        ...

    async def remove(self, symbol: str, trader_id: str) -> None:
        """Forget a trader whose cycle is complete."""
        ...

    async def load(self, symbol: str) -> list[TraderState]:
        """The symbol's live traders, in the order they were first started."""
        ...

    async def next_trader_number(self, symbol: str) -> int:
        """A number never handed out before for this symbol (trader ids stay unique)."""
        ...


class MemoryTraderStore:
    """Trader states in a dict: survives process crashes, not a node restart."""

    def __init__(self) -> None:
        self._states: dict[str, dict[str, TraderState]] = {}
        self._counters: dict[str, int] = {}

    async def save(self, state: TraderState) -> None:
        self._states.setdefault(state.symbol, {})[state.trader_id] = state

    async def remove(self, symbol: str, trader_id: str) -> None:
        self._states.get(symbol, {}).pop(trader_id, None)

    async def load(self, symbol: str) -> list[TraderState]:
        return list(self._states.get(symbol, {}).values())

    async def next_trader_number(self, symbol: str) -> int:
        n = self._counters.get(symbol, 0) + 1
        self._counters[symbol] = n
        return n

    def states(self, symbol: str) -> list[TraderState]:
        return list(self._states.get(symbol, {}).values())
