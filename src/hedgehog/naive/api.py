"""The naive application's API: start, stop and shut down trading per symbol.

- `start_trading(symbol)`: check the symbol and its settings against the exchange (a clear
  `ConfigError` at once if the symbol does not exist or budget/chunks is below min notional),
  then start its tree. Starting a symbol that is shutting down switches it back on, at once.
- `stop_trading(symbol)`: stop its tree now; its orders stay on the exchange.
- `shutdown_trading(symbol)`: no new buys; the symbol stops when its last cycle ends.
"""

from __future__ import annotations

from typing import Any

from hedgehog.core.errors import ConfigError, UnknownSymbol
from hedgehog.core.symbols import normalize_symbol
from hedgehog.naive.context import (
    OFF,
    ON,
    SHUTDOWN,
    SYMBOLS,
    NaiveContext,
    leader_name,
    symbol_name,
)
from hedgehog.naive.messages import RESUME
from hedgehog.naive.messages import SHUTDOWN as SHUTDOWN_MESSAGE
from hedgehog.naive.settings import TradingSettings
from hedgehog.naive.supervisors import DynamicSymbolSupervisor, NaiveSupervisor, symbol_spec
from hedgehog.runtime import ChildSpec, Process, start_child, terminate_child


class Naive:
    def __init__(self, ctx: NaiveContext) -> None:
        self.ctx = ctx
        self.rt = ctx.rt

    def child_spec(self) -> ChildSpec:
        """The naive tree (naive.symbols and its autostart), to put under the node's root."""
        return ChildSpec("naive", NaiveSupervisor, (self.ctx,), name="naive")

    async def start(self) -> Process:
        """Start the DynamicSymbolSupervisor on its own (tests, backtests)."""
        return await self.rt.start(DynamicSymbolSupervisor, self.ctx, name=SYMBOLS)

    async def start_trading(
        self, symbol: str, settings: TradingSettings | None = None
    ) -> Process | None:
        symbol = normalize_symbol(symbol)
        given = settings
        if settings is None:
            settings = self.ctx.settings_for(symbol)
        try:
            filters = await self.ctx.exchange.symbol_filters(symbol)
        except UnknownSymbol:
            raise ConfigError(f"{symbol} is not traded on the exchange") from None
        settings.check_against(filters)
        if given is not None:
            self.ctx.settings[symbol] = given  # only settings that passed the checks
        running = self.rt.whereis(symbol_name(symbol))
        if running is not None:
            if self.ctx.status.get(symbol) == SHUTDOWN:
                await self.ctx.set_status(symbol, ON)
                await self.rt.call(leader_name(symbol), RESUME)
            return running
        await self.ctx.set_status(symbol, ON)
        return await start_child(self.rt, SYMBOLS, symbol_spec(symbol, self.ctx))

    async def stop_trading(self, symbol: str) -> bool:
        """Stop now (orders stay). False if the symbol was not trading."""
        symbol = normalize_symbol(symbol)
        await self.ctx.set_status(symbol, OFF)
        pid = self.rt.whereis(symbol_name(symbol))
        if pid is None:
            return False
        await terminate_child(self.rt, SYMBOLS, pid)
        return True

    async def shutdown_trading(self, symbol: str) -> bool:
        """No new buys; stop when the last cycle ends. False if the symbol was not trading."""
        symbol = normalize_symbol(symbol)
        if self.rt.whereis(symbol_name(symbol)) is None:
            return False
        await self.ctx.set_status(symbol, SHUTDOWN)
        await self.rt.call(leader_name(symbol), SHUTDOWN_MESSAGE)
        return True

    def trading(self) -> dict[str, str]:
        """Status of every symbol known to this node."""
        return dict(self.ctx.status)

    def leader_info(self, symbol: str) -> dict[str, Any] | None:
        leader = self.rt.whereis(leader_name(normalize_symbol(symbol)))
        return leader.info() if leader is not None else None
