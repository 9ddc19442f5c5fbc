"""What the naive system's processes share: the exchange, pub/sub, trader store, settings.

It lives outside the supervision tree (like ETS tables owned by the application), so nothing
in it is lost when a trader, a leader or a symbol supervisor crashes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hedgehog.core.types import TradeEvent
from hedgehog.exchange.base import Exchange
from hedgehog.naive.plugin import NAIVE
from hedgehog.naive.risk import RiskBooks, SymbolRisk
from hedgehog.naive.settings import TradingSettings
from hedgehog.naive.store import MemoryTraderStore, TraderStore
from hedgehog.naive.strategy import OrderRef
from hedgehog.runtime import Runtime
from hedgehog.runtime.pubsub import PubSub
from hedgehog.strategy.protocol import Strategy

ON, OFF, SHUTDOWN = "on", "off", "shutdown"
SYMBOLS = "naive.symbols"  # the DynamicSymbolSupervisor's registered name
BARS = "naive.bars"  # the BarPublisher's registered name


def bar_intervals(strategy: Strategy, settings: Any) -> tuple[str, ...]:
    """The bar intervals a strategy's traders get (none for a strategy on trades only)."""
    declare = getattr(strategy, "bar_intervals", None)
    return tuple(declare(settings)) if declare is not None else ()


def leader_name(symbol: str) -> tuple[str, str]:
    return ("leader", symbol)


def traders_name(symbol: str) -> tuple[str, str]:
    return ("traders", symbol)


def symbol_name(symbol: str) -> tuple[str, str]:
    return ("symbol", symbol)


@dataclass
class NaiveContext:
    rt: Runtime
    pubsub: PubSub
    exchange: Exchange
    store: TraderStore = field(default_factory=MemoryTraderStore)
    settings: dict[str, Any] = field(default_factory=dict)  # symbol -> its strategy's settings
    strategies: dict[str, Strategy] = field(default_factory=dict)  # symbol -> (default naive)
    status: dict[str, str] = field(default_factory=dict)
    trader_prefix: str = ""  # prepended to trader ids; unique per run unless the store persists
    retry_seconds: float = 5.0  # after the exchange was unreachable, a trader checks again
    traders_started: Counter[str] = field(default_factory=Counter)
    restarts: Counter[str] = field(default_factory=Counter)
    rejections: Counter[tuple[str, str]] = field(default_factory=Counter)  # (symbol, side)
    dust: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    errored: dict[str, str] = field(default_factory=dict)  # symbol -> why its leader gave up
    risk: dict[str, SymbolRisk] = field(default_factory=RiskBooks)  # symbols with max_loss set

    on_status: Callable[[str, str], Awaitable[None]] | None = None  # persists status changes
    on_order_intent: Callable[[TradeEvent, OrderRef], None] | None = None
    """Called by a trader when a trade makes it decide to place an order, before the order is
    recorded and sent (instrumentation: `bench/live.py` measures trade-to-order latency)."""
    may_send: Callable[[str], bool] | None = None
    """Asked by a trader right before it sends an order of a symbol (its intent already
    stored): False holds the order back. A cluster node answers from its local lease deadline
    (`hedgehog.cluster`), so a node paused past its lease sends nothing it stored before."""

    async def set_status(self, symbol: str, status: str) -> None:
        """Record a symbol's status (on, off, shutdown), durably when `on_status` is set."""
        self.status[symbol] = status
        if self.on_status is not None:
            await self.on_status(symbol, status)

    def strategy_for(self, symbol: str) -> Strategy:
        """The strategy `symbol` trades with: naive unless told otherwise."""
        return self.strategies.get(symbol, NAIVE)

    def settings_for(self, symbol: str) -> Any:
        """`symbol`'s settings, or its strategy's defaults (a `ConfigError` when the strategy
        has settings without defaults)."""
        settings = self.settings.get(symbol)
        if settings is not None:
            return settings
        strategy = self.strategy_for(symbol)
        if strategy is NAIVE:
            return TradingSettings(symbol=symbol)
        return strategy.parse_settings(symbol, {})
