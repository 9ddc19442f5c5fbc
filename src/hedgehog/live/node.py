"""The live node: one runtime with the streamer, the exchange side, the observer and the naive
system (the book's tree, running each symbol's strategy: naive, grid or a plug-in) under a
root supervisor.

    DynamicSymbolSupervisor and friends are the book's tree (see hedgehog.naive); around it:

    root (one_for_one)
      ├─ streamer (rest_for_one): connections supervisor, manager
      ├─ exchange.paper (PaperFeeder)   or   exchange.fills (FillRouter: user stream + poller)
      ├─ observer (prices, fills, PnL for the view and the dashboard)
      └─ naive (rest_for_one): naive.symbols (DynamicSymbolSupervisor), naive.autostart

With a database the node holds its store's lock (`hedgehog.store.lock`) from `create` to the
end of `stop`: one node per store. Crash-only at the top: when the root supervisor dies (its
restart intensity exceeded, or killed) the node does not limp on with an empty tree;
`wait_root_exit()` resolves, `root_exit` says why, and `hedgehog run` exits non-zero so that
the service manager starts a fresh node.

The exchange side (the paper engine or Binance, and the process feeding its fills) is built by
`hedgehog.live.exchange_side`; this module assembles the tree around it and runs the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hedgehog.config import Settings
from hedgehog.core.errors import (
    ConfigError,
    HedgehogError,
    OrderRejected,
    UnknownOrder,
    UnknownSymbol,
)
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.symbols import normalize_symbol
from hedgehog.core.types import trade_topic
from hedgehog.exchange.base import Exchange
from hedgehog.exchange.binance.rest import BinanceExchange
from hedgehog.live.exchange_side import FEED as FEED
from hedgehog.live.exchange_side import exchange_side
from hedgehog.live.messages import WatchSymbol
from hedgehog.live.supervision import NodeCrashed as NodeCrashed
from hedgehog.live.supervision import crash_only as crash_only
from hedgehog.live.supervision import health, symbol_state
from hedgehog.live.unknown_orders import unknown_orders
from hedgehog.live.watches import Watches, rewatching
from hedgehog.naive.api import Naive
from hedgehog.naive.context import NaiveContext
from hedgehog.naive.messages import Watch
from hedgehog.naive.observer import Observer
from hedgehog.naive.store import MemoryTraderStore, TraderStore
from hedgehog.runtime import ChildSpec, Runtime
from hedgehog.runtime.node import Node
from hedgehog.runtime.pubsub import PubSub
from hedgehog.store import Database, SettingsRepo, SqlTraderStore, StreamingRepo
from hedgehog.store.lock import StoreLock
from hedgehog.store.serde import strategy_spec
from hedgehog.strategy.registry import load_strategy
from hedgehog.streamer.api import Streamer
from hedgehog.streamer.options import ConnectionOptions
from hedgehog.warehouse import Warehouse

if TYPE_CHECKING:
    from hedgehog.live.nats_bridge import NatsBridge

log = logging.getLogger("hedgehog.live")
TRADES_FROM = ("exchange", "nats")  # where the traders' trades come from (see `create`)


def run_prefix() -> str:
    """A short prefix that keeps trader ids (so client order ids) unique across runs."""
    stamp = int(time.time()) % 36**5
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(5):
        stamp, r = divmod(stamp, 36)
        out = digits[r] + out
    return out + secrets.choice(digits) + "_"


@dataclass
class LiveNode:
    """Build with `await LiveNode.create(settings)`, then `start_trading(...)`, `run()`."""

    settings: Settings
    rt: Runtime
    pubsub: PubSub
    exchange: Exchange
    node: Node
    naive: Naive
    streamer: Streamer
    closers: list[Any] = field(default_factory=list)
    db: Database | None = None
    warehouse: Warehouse | None = None
    boot_errors: dict[str, str] = field(default_factory=dict)
    unknown_orders: list[dict[str, Any]] = field(default_factory=list)
    store_lock: StoreLock | None = None
    root_exit: str | None = None  # why the root supervisor died, once it has (None: alive)
    stopping: bool = False
    watches: Watches = field(default_factory=Watches)  # what the feeds follow (live/watches.py)
    nats: NatsBridge | None = None  # pub/sub over NATS (`pubsub_url`), else in-process only
    trades_from: str = "exchange"
    clustered: bool = False  # a cluster's node: symbols start under leases (hedgehog.cluster)

    @classmethod
    async def create(
        cls,
        settings: Settings,
        *,
        store: TraderStore | None = None,
        filters: Mapping[str, SymbolFilters] | None = None,
        trader_prefix: str | None = None,
        stream_options: ConnectionOptions | None = None,
        rest_timeout: float = 10.0,
        retry_seconds: float = 5.0,
        poll_interval: float = 10.0,
        db: Database | None = None,
        root_intensity: tuple[int, float] = (3, 5.0),
        pubsub_url: str | None = None,
        trades_from: str = "exchange",
        clustered: bool = False,
    ) -> LiveNode:
        """Assemble (not start) a node. `filters` (from a saved exchangeInfo) spares the paper
        exchange a request for them; otherwise they are read from the REST API (no keys). With
        `db`, the store's lock is taken first: `StoreLocked` (one line naming the running node)
        if another node holds it. `pubsub_url` (nats://HOST:PORT[/PREFIX]) shares the trades
        this node streams over NATS; `trades_from="nats"` takes its symbols' trades from there
        instead of opening its own streams (`hedgehog.live.nats_bridge`). `clustered`: a node
        of a cluster, sharing its store with the others: no store lock (symbol leases instead,
        `hedgehog.cluster`), and `boot` starts no symbol (the leases do)."""
        if trades_from not in TRADES_FROM:
            raise ConfigError(f"trades_from must be exchange or nats, not {trades_from!r}")
        if trades_from == "nats" and pubsub_url is None:
            raise ConfigError("trades from nats need --pubsub nats://HOST:PORT")
        lock = None
        if db is not None and not clustered:
            lock = StoreLock(db, settings.data_dir)
            lock.acquire()
        try:
            node = await cls._assemble(
                settings,
                store=store,
                filters=filters,
                trader_prefix=trader_prefix,
                stream_options=stream_options,
                rest_timeout=rest_timeout,
                retry_seconds=retry_seconds,
                poll_interval=poll_interval,
                db=db,
                root_intensity=root_intensity,
            )
            if pubsub_url is not None:
                await node._connect_nats(pubsub_url, trades_from)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        node.store_lock = lock
        node.clustered = clustered
        return node

    @classmethod
    async def _assemble(
        cls,
        settings: Settings,
        *,
        store: TraderStore | None,
        filters: Mapping[str, SymbolFilters] | None,
        trader_prefix: str | None,
        stream_options: ConnectionOptions | None,
        rest_timeout: float,
        retry_seconds: float,
        poll_interval: float,
        db: Database | None,
        root_intensity: tuple[int, float],
    ) -> LiveNode:
        rt = Runtime()
        pubsub = PubSub(rt)
        watches = Watches()
        urls = settings.urls()
        rest = BinanceExchange(None, None, urls["rest_url"])
        closers: list[Any] = [rest]
        exchange, feed = await exchange_side(
            settings,
            rt,
            pubsub,
            watches,
            urls,
            rest,
            closers,
            filters=filters,
            rest_timeout=rest_timeout,
            poll_interval=poll_interval,
        )
        on_stream = on_status = None
        if db is not None:
            # Paper orders live in this process only: after a restart the paper exchange is
            # new, so its traders start fresh too (settings and statuses still persist).
            if settings.exchange != "paper":
                store = store or SqlTraderStore(db)
            streaming_repo, settings_repo = StreamingRepo(db), SettingsRepo(db)

            async def on_stream(symbol: str, streaming: bool) -> None:
                await streaming_repo.set_status(symbol, "on" if streaming else "off")

            on_status = settings_repo.set_status
        streamer = Streamer(
            rt, pubsub, urls["stream_url"], options=stream_options, on_change=on_stream
        )
        ctx = NaiveContext(
            rt,
            pubsub,
            exchange,
            store or MemoryTraderStore(),
            trader_prefix=run_prefix() if trader_prefix is None else trader_prefix,
            retry_seconds=retry_seconds,
            on_status=on_status,
        )
        if isinstance(ctx.store, SqlTraderStore):
            if ctx.store.strategy_for is None:
                ctx.store.strategy_for = ctx.strategy_for  # each state stored with its strategy
            ctx.store.keep_risk(ctx.risk)  # realised PnL and halts survive a restart
        naive = Naive(ctx)
        children = [
            streamer.child_spec(),
            feed,
            ChildSpec(
                "observer", rewatching(Observer, "observer"), (watches, pubsub), name="observer"
            ),
            naive.child_spec(),
        ]
        warehouse = None
        if db is not None:
            warehouse = Warehouse(rt, pubsub, db)
            children.insert(-1, warehouse.child_spec())  # stopped after naive, before streams
        restarts, seconds = root_intensity  # beyond it the root exits, and so the node
        node = Node(children, runtime=rt, max_restarts=restarts, max_seconds=seconds)
        live = cls(settings, rt, pubsub, exchange, node, naive, streamer, closers, db, warehouse)
        live.watches = watches
        return live

    async def _connect_nats(self, url: str, trades_from: str) -> None:
        """Connect the NATS bridge (closing the node's clients if it cannot) and make the
        streamer forward its trades to it. Imported here: in-process nodes never load nats."""
        from hedgehog.live.nats_bridge import NatsBridge

        bridge = NatsBridge(url, self.pubsub, name=f"hedgehog-{self.settings.exchange}")
        try:
            await bridge.connect()
        except BaseException:
            for closer in self.closers:
                await closer.close()
            raise
        self.streamer.ctx.pubsub = bridge.publishing(self.pubsub)
        self.closers.append(bridge)  # closed after the tree, so the last trades go out
        self.nats, self.trades_from = bridge, trades_from

    async def follow_trades(self, symbol: str) -> None:
        """Get the symbol's trades: from NATS (a streamer node publishes them) or its own
        exchange stream."""
        if self.nats is not None and self.trades_from == "nats":
            await self.nats.follow(trade_topic(normalize_symbol(symbol)))
        else:
            await self.streamer.start_streaming(symbol)

    async def start(self) -> None:
        await self.node.start()
        root = self.node.root
        assert root is not None
        self._root_exit = self.rt.wait_exit(root)
        self._root_exit.add_done_callback(self._root_died)

    def _root_died(self, fut: asyncio.Future[Any]) -> None:
        if fut.cancelled() or self.stopping:
            return
        self.root_exit = str(fut.result())
        self.rt.errors.append(
            {
                "time": self.rt.clock.time(),
                "process": "root",
                "what": "exited",
                "error": self.root_exit,
            }
        )
        log.critical(
            "the root supervisor exited (%s): the node stops, to be restarted whole "
            "by its service manager",
            self.root_exit,
        )

    async def wait_root_exit(self) -> str:
        """Resolves when the root supervisor dies while the node is meant to run (its
        restart intensity exceeded, or killed); never during `stop()`. Returns the reason."""
        await asyncio.shield(self._root_exit)
        while self.root_exit is None:  # the done callback runs on the next loop turn
            await asyncio.sleep(0)
        return self.root_exit

    async def start_trading(
        self, symbol: str, settings: Any | None = None, strategy: str | None = None
    ) -> None:
        """Stream the symbol, feed its fills, observe it, and start its traders.

        `strategy` (a name `load_strategy` takes) trades it with `settings` (that strategy's,
        e.g. from `parse_settings`; None: its defaults); `settings` given alone are naive's
        (or those of the strategy their class names in `STRATEGY`). With a database, the
        symbol's stored strategy and settings are used (given ones are validated and stored
        first, replacing them) and its status is stored as on; a symbol whose stored traders
        belong to another strategy is refused (they must finish first: shut it down with the
        strategy they run)."""
        symbol = normalize_symbol(symbol)
        try:
            filters = await self.exchange.symbol_filters(symbol)
        except UnknownSymbol:
            raise ConfigError(f"{symbol} is not traded on the exchange") from None
        if strategy is None and settings is not None:
            strategy = getattr(settings, "STRATEGY", None)  # e.g. GridSettings says "grid"
        if strategy is not None or settings is not None:
            chosen = load_strategy(strategy)
            if settings is None:
                settings = chosen.parse_settings(symbol, {})
        else:
            chosen = self.naive.ctx.strategy_for(symbol)
        if self.db is not None:
            repo = SettingsRepo(self.db)
            await repo.seed_from_exchange_info({symbol: filters})
            if settings is not None:
                spec = strategy_spec(chosen)
                await self._check_stored_traders(symbol, spec)  # before anything is stored
                params = settings.as_dict()
                params.pop("symbol", None)
                await repo.set(symbol, spec, params, filters)
            row = await repo.get(symbol)
            chosen, settings = load_strategy(row.strategy), row.settings
            await self._check_stored_traders(symbol, row.strategy)
        trading = settings
        if trading is None:
            trading = (
                self.naive.ctx.settings_for(symbol)
                if chosen is self.naive.ctx.strategy_for(symbol)
                else chosen.parse_settings(symbol, {})
            )
        trading.check_against(filters)
        feed = FEED[self.settings.exchange]
        for name, message in (
            ("observer", Watch(symbol, trading.fee)),
            (feed, WatchSymbol(symbol)),
        ):
            self.watches.note(name, ("watch", symbol), message)  # told again after a restart
            self.rt.cast(name, message)
        await self.follow_trades(symbol)
        await self.naive.start_trading(symbol, trading, chosen)

    async def _check_stored_traders(self, symbol: str, spec: str) -> None:
        """Refuse to trade `symbol` with `spec` while traders of another strategy are stored
        (they hold orders and coins only their own strategy knows how to finish)."""
        store = self.naive.ctx.store
        if not isinstance(store, SqlTraderStore):
            return
        others = sorted((await store.strategies(symbol)) - {spec})
        if others:
            raise ConfigError(
                f"{symbol} still has traders of strategy {', '.join(others)} stored: trade it "
                f"with {others[0]} and shut it down (hedgehog trade shutdown {symbol}) until "
                f"they finish, then switch to {spec}"
            )

    async def stop_trading(self, symbol: str, cancel_orders: bool = False) -> bool:
        """Stop the symbol's tree now; its orders stay unless `cancel_orders`."""
        symbol = normalize_symbol(symbol)
        stopped = await self.naive.stop_trading(symbol)
        if cancel_orders:
            for state in await self.naive.ctx.store.load(symbol):
                for ref in state.in_flight():
                    with contextlib.suppress(UnknownOrder, OrderRejected):
                        await self.exchange.cancel_order(
                            symbol, client_order_id=ref.client_order_id
                        )
        return stopped

    async def boot(self) -> None:
        """Start what the database says: symbols whose status is on (or shutting down) trade,
        symbols whose streaming is on stream. A symbol that fails (a corrupt settings row, an
        unknown symbol) is reported in `boot_errors` and the others go on."""
        if self.db is None:
            return
        settings_repo, streaming_repo = SettingsRepo(self.db), StreamingRepo(self.db)
        for symbol in await streaming_repo.symbols_with_status("on"):
            await self.follow_trades(symbol)
        if self.warehouse is not None:
            await self.warehouse.boot()
        if self.clustered:
            return  # its symbols start as their leases are taken (hedgehog.cluster)
        for status in ("on", "shutdown"):
            for symbol in await settings_repo.symbols_with_status(status):
                try:
                    await self.start_trading(symbol)
                    if status == "shutdown":
                        await self.shutdown_trading(symbol)
                except HedgehogError as exc:
                    self.boot_errors[symbol] = str(exc)
                    log.error("%s cannot start: %s", symbol, exc)
        await self.report_unknown_orders()

    async def report_unknown_orders(self) -> None:
        """Open orders on the exchange that the store does not know: reported, never
        cancelled silently (someone placed them by hand, or another bot did)."""
        if self.db is not None:
            trading = [s for s, status in self.naive.ctx.status.items() if status != "off"]
            self.unknown_orders = await unknown_orders(self.exchange, self.db, trading)

    async def shutdown_trading(self, symbol: str) -> bool:
        return await self.naive.shutdown_trading(symbol)

    def symbol_state(self, symbol: str) -> tuple[str, str | None]:
        """What the tree really does for `symbol` (see `live.supervision.symbol_state`)."""
        return symbol_state(self, symbol)

    def health(self) -> tuple[bool, str | None]:
        """(True, None) while the root supervisor runs; (False, why) once it has died;
        (True, "degraded: NATS disconnected") while its NATS connection is being restored."""
        alive, why = health(self)
        if alive and self.nats is not None and not self.nats.connected:
            return True, "degraded: NATS disconnected"
        return alive, why

    def observer(self) -> Observer | None:
        proc = self.rt.whereis("observer")
        return proc if isinstance(proc, Observer) else None

    async def stop(self) -> None:
        """Stop the tree (streams closed, traders stopped), then close HTTP sessions and the
        database (after the tree, so nothing is half-written); the store's lock last."""
        self.stopping = True
        await self.node.stop()
        for closer in self.closers:
            await closer.close()
        if isinstance(self.naive.ctx.store, SqlTraderStore):
            await self.naive.ctx.store.drain()  # the risk books' last writes
        if self.db is not None:
            await self.db.close()
        if self.store_lock is not None:
            self.store_lock.release()
