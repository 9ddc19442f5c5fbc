"""The streamer application's API: which symbols stream trades from Binance.

    streamer = Streamer(rt, pubsub)            # wss://stream.binance.com:9443 by default
    node = Node([streamer.child_spec(), ...])  # or: await streamer.start()
    await streamer.start_streaming("xrpusdt")  # trades arrive on TRADE_EVENTS:XRPUSDT

The tree:

    StreamerSupervisor ("streamer", rest_for_one)
      ├─ DynamicSupervisor ("streamer.connections"): StreamConnections, temporary children
      └─ StreamManager ("streamer.manager"): assigns symbols, starts and monitors connections

rest_for_one, connections first: the manager depends on the connections supervisor (it starts
children there), not the other way round. If the connections supervisor dies, its connections
die with it and the manager is restarted after it, and starts them again from the wanted set.
If only the manager dies, it alone is restarted: it adopts the connections still running, so
no stream is interrupted by a manager crash. (one_for_all would also restart every connection,
dropping all streams for a fault that did not touch them.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hedgehog.core.errors import ConfigError
from hedgehog.core.symbols import normalize_symbol
from hedgehog.runtime import ChildSpec, DynamicSupervisor, Process, Runtime, Supervisor
from hedgehog.runtime.pubsub import Broadcaster
from hedgehog.streamer.connection import DEFAULT_STREAM_URL
from hedgehog.streamer.manager import (
    CONNECTIONS,
    MANAGER,
    SUPERVISOR,
    OnChange,
    StreamerContext,
    StreamManager,
)
from hedgehog.streamer.options import MAX_STREAMS_PER_CONNECTION, ConnectionOptions


def streamer_children(ctx: StreamerContext) -> list[ChildSpec]:
    """The streamer supervisor's children, in start order."""
    return [
        ChildSpec("connections", DynamicSupervisor, name=CONNECTIONS, shutdown=60.0),
        ChildSpec("manager", StreamManager, (ctx,), name=MANAGER),
    ]


class StreamerSupervisor(Supervisor):
    async def init(self, ctx: StreamerContext) -> None:  # type: ignore[override]
        self.ctx = ctx
        await super().init(streamer_children(ctx), strategy="rest_for_one")


class Streamer:
    """The streamer's facade, as `hedgehog.naive.api.Naive` is the naive system's.

    `on_change(symbol, streaming)` is awaited after each effective change (to store the
    setting); `symbols` are streamed from the start (the ones stored, at boot).
    """

    def __init__(
        self,
        rt: Runtime,
        pubsub: Broadcaster,
        stream_url: str = DEFAULT_STREAM_URL,
        max_streams_per_connection: int = MAX_STREAMS_PER_CONNECTION,
        on_change: OnChange | None = None,
        *,
        options: ConnectionOptions | None = None,
        symbols: Iterable[str] = (),
    ) -> None:
        if not 1 <= max_streams_per_connection <= MAX_STREAMS_PER_CONNECTION:
            raise ConfigError(
                f"max_streams_per_connection must be 1 to {MAX_STREAMS_PER_CONNECTION} "
                f"(Binance's limit); got {max_streams_per_connection}"
            )
        if not stream_url.startswith(("ws://", "wss://")):
            raise ConfigError(f"stream_url must start with ws:// or wss://, got {stream_url!r}")
        self.rt = rt
        self.on_change = on_change
        self.ctx = StreamerContext(
            rt,
            pubsub,
            stream_url,
            max_streams_per_connection,
            options or ConnectionOptions(),
            {normalize_symbol(s) for s in symbols},
        )

    def child_specs(self) -> list[ChildSpec]:
        """The connections supervisor and the manager, to embed under another supervisor
        (keep their order and use rest_for_one)."""
        return streamer_children(self.ctx)

    def child_spec(self) -> ChildSpec:
        """The streamer supervisor, to put under the node's root supervisor."""
        return ChildSpec(
            SUPERVISOR, StreamerSupervisor, (self.ctx,), name=SUPERVISOR, shutdown=90.0
        )

    async def start(self) -> Process:
        """Start the streamer supervisor on its own (tests, tools)."""
        return await self.rt.start(StreamerSupervisor, self.ctx, name=SUPERVISOR)

    async def start_streaming(self, symbol: str) -> bool:
        """Stream a symbol's trades (case-insensitive). False if it was streaming already.

        When the streamer is not running, the symbol is noted and streams once it starts."""
        symbol = normalize_symbol(symbol)
        if self.rt.whereis(MANAGER) is None:
            changed = symbol not in self.ctx.symbols
            self.ctx.symbols.add(symbol)
        else:
            changed = bool(await self.rt.call(MANAGER, ("start", symbol), 30.0))
        if changed and self.on_change is not None:
            await self.on_change(symbol, True)
        return changed

    async def stop_streaming(self, symbol: str) -> bool:
        """Stop a symbol's trades. False if it was not streaming."""
        symbol = normalize_symbol(symbol)
        if self.rt.whereis(MANAGER) is None:
            changed = symbol in self.ctx.symbols
            self.ctx.symbols.discard(symbol)
        else:
            changed = bool(await self.rt.call(MANAGER, ("stop", symbol), 30.0))
        if changed and self.on_change is not None:
            await self.on_change(symbol, False)
        return changed

    def streaming(self) -> list[str]:
        """The symbols that stream (or will, once the streamer runs), sorted."""
        return sorted(self.ctx.symbols)

    def status(self) -> dict[str, Any]:
        """The manager's view: symbols and each connection's `info()`."""
        manager = self.rt.whereis(MANAGER)
        if manager is None:
            return {"running": False, "symbols": self.streaming(), "connections": {}}
        return {"running": True, **manager.info()}
