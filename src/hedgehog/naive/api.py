"""The naive application's API: start, stop and shut down trading per symbol.

- `start_trading(symbol, settings, strategy)`: check the symbol and its settings against the
  exchange (a clear `ConfigError` at once if the symbol does not exist or its settings do not
  fit its filters, e.g. budget/chunks below min notional), then start its tree running that
  strategy (`ctx.strategies[symbol]`, naive by default). Starting a symbol that is shutting
  down switches it back on, at once.
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
from hedgehog.strategy.protocol import Strategy
from hedgehog.strategy.registry import load_strategy


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
        self,
        symbol: str,
        settings: TradingSettings | Any | None = None,
        strategy: Strategy | str | None = None,
    ) -> Process | None:
        """Start the symbol's tree with `strategy` (a `Strategy`, or a name `load_strategy`
        takes; None: the one it has, naive by default) and `settings` (that strategy's; None:
        those it has, or the strategy's defaults). A symbol running with another strategy is
        refused, and so is one stopped with traders of the strategy it ran still stored: shut
        it down with that strategy first (they hold orders only it knows how to finish)."""
        symbol = normalize_symbol(symbol)
        current = self.ctx.strategy_for(symbol)
        if isinstance(strategy, str):
            strategy = load_strategy(strategy)
        chosen = current if strategy is None else strategy
        switching = chosen.name != current.name
        given = settings
        if settings is None:
            settings = (
                chosen.parse_settings(symbol, {}) if switching else self.ctx.settings_for(symbol)
            )
        try:
            filters = await self.ctx.exchange.symbol_filters(symbol)
        except UnknownSymbol:
            raise ConfigError(f"{symbol} is not traded on the exchange") from None
        settings.check_against(filters)
        running = self.rt.whereis(symbol_name(symbol))
        if running is not None and switching:
            raise ConfigError(
                f"{symbol} is trading with strategy {current.name}: stop it (or shut it down "
                f"and let its traders finish) before trading it with {chosen.name}"
            )
        if switching and symbol in self.ctx.strategies:
            stored = await self.ctx.store.load(symbol)  # traders it ran, stopped mid-cycle
            if stored:
                raise ConfigError(
                    f"{symbol} still has {len(stored)} traders of strategy {current.name} "
                    f"stored: trade it with {current.name} and shut it down until they finish, "
                    f"then switch to {chosen.name}"
                )
        self.ctx.strategies[symbol] = chosen
        if given is not None or switching:
            self.ctx.settings[symbol] = settings  # only settings that passed the checks
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
