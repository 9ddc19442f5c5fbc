"""`hedgehog run` (a live node) and `hedgehog demo` (the simulator plus a node trading it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live

from hedgehog.cli.console import err, fail, out
from hedgehog.cli.dashboard import announce
from hedgehog.cli.options import (
    Budget,
    BuyDown,
    Chunks,
    ClusterName,
    Fee,
    LeaseTtl,
    NodeName,
    Params,
    Profit,
    PubSubUrl,
    Rebuy,
    StrategyName,
    StreamSymbols,
    TradesFrom,
    strategy_settings,
    trading_values,
)
from hedgehog.cli.run_cluster import ClusterOptions, cluster_options, coordinating, declare
from hedgehog.config import Settings
from hedgehog.control.host import running_node
from hedgehog.core.errors import ConfigError, HedgehogError
from hedgehog.core.filters import load_exchange_info
from hedgehog.core.symbols import normalize_symbol
from hedgehog.live.node import LiveNode, NodeCrashed
from hedgehog.live.view import render, snapshot
from hedgehog.naive.settings import TradingSettings
from hedgehog.runtime import interrupt
from hedgehog.store import Database

DEMO_SYMBOLS = ("XRPUSDT", "ETHUSDT", "BNBUSDT")


async def _wait_for_stop(duration: float | None) -> None:
    """`duration` seconds, or for ever: Ctrl-C / SIGTERM cancels the command's task
    (`hedgehog.runtime.interrupt`), which stops the node on its way out."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.Event().wait(), duration)


async def _drive(
    node: LiveNode, duration: float | None, view: bool, title: str, exchange: str | None = None
) -> None:
    """Show the live view (or nothing) until stopped; then print a JSON summary when there
    was no view. The caller stops the node. `exchange` names where the node trades in the
    view (the demo's local simulator speaks Binance's API but is not Binance)."""
    if view and out.is_terminal:

        def screen() -> Any:
            return render(node, title, exchange=exchange, height=out.height)

        with Live(screen(), console=out, refresh_per_second=4) as live:
            task = asyncio.ensure_future(_wait_for_stop(duration))
            while not task.done():
                live.update(screen())
                await asyncio.wait({task}, timeout=0.25)
    else:
        await _wait_for_stop(duration)
    data = snapshot(node)
    if not view or not out.is_terminal:
        summary = {
            s: {k: v for k, v in d.items() if k != "traders"} for s, d in data["symbols"].items()
        }
        out.print_json(json.dumps(summary))


@dataclass(frozen=True)
class Trading:
    """What `run` was asked to trade: the symbols, and when the command line chose them, the
    strategy (its name as given) and each symbol's settings (else: what is stored)."""

    symbols: list[str]
    strategy: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def _trading(
    symbols: str | None,
    strategy: str | None,
    params: list[str] | None,
    values: dict[str, Any],
) -> Trading:
    """`--symbols` with `--strategy`/`--param` or naive's own options: explicit settings for
    each symbol (validated now); without any of those, each symbol's stored ones."""
    names = [normalize_symbol(s) for s in (symbols or "").split(",") if s.strip()]
    given = {k: v for k, v in values.items() if v is not None}
    if not (given or params or strategy is not None):
        return Trading(names)
    if not names:
        raise ConfigError(
            "--strategy, --param and settings options need --symbols "
            "(or use `hedgehog settings set`)"
        )
    name = strategy or "naive"
    _, settings = strategy_settings(name, params, values, names)
    return Trading(names, name, settings)


def _settings(**overrides: Any) -> Settings:
    exchange = overrides.get("exchange")
    if exchange not in (None, "paper", "binance"):
        raise ConfigError(f"--exchange must be paper or binance, not {exchange!r}")
    return Settings(**{k: v for k, v in overrides.items() if v is not None and v is not False})


def run(
    context: typer.Context,
    symbols: Annotated[
        str | None,
        typer.Option(
            help="Symbols to trade now, e.g. XRPUSDT,ETHUSDT (stored as on); "
            "symbols already on in the database start anyway"
        ),
    ] = None,
    exchange: Annotated[
        str | None, typer.Option(help="paper (live data, simulated orders) or binance")
    ] = None,
    testnet: Annotated[bool, typer.Option(help="Use Binance's spot testnet")] = False,
    rest_url: Annotated[str | None, typer.Option(help="REST base URL")] = None,
    stream_url: Annotated[str | None, typer.Option(help="Market stream base URL")] = None,
    ws_api_url: Annotated[str | None, typer.Option(help="WebSocket API URL (user data)")] = None,
    exchange_info: Annotated[Path | None, typer.Option(help="Saved exchangeInfo (paper)")] = None,
    strategy: StrategyName = "naive",
    param: Params = None,
    chunks: Chunks = None,
    budget: Budget = None,
    buy_down_interval: BuyDown = None,
    profit_interval: Profit = None,
    rebuy_interval: Rebuy = None,
    fee: Fee = None,
    control_port: Annotated[
        int, typer.Option(min=0, max=65535, help="Control API port (0: any free)")
    ] = 0,
    duration: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds")
    ] = None,
    view: Annotated[bool, typer.Option(help="Live view in the terminal")] = True,
    pubsub: PubSubUrl = None,
    trades_from: TradesFrom = "exchange",
    stream: StreamSymbols = None,
    cluster: ClusterName = None,
    node_name: NodeName = None,
    lease_ttl: LeaseTtl = 10.0,
) -> None:
    """Run the trading node: store, streamer, the book's tree running each symbol's strategy,
    the exchange (paper by default: live data, no keys, no real orders) and the control API.
    Symbols on in the database resume, each with its stored strategy. `--strategy` and
    `--param` (or naive's own options) choose and store the strategy of `--symbols`; without
    them those symbols trade with what is stored (naive's defaults for a new one).

    Across machines (pub/sub over NATS): a streamer node `--pubsub nats://HOST:PORT --stream
    XRPUSDT` publishes the trades; trading nodes `--pubsub nats://HOST:PORT --trades-from nats
    --symbols XRPUSDT` trade on them without a stream of their own.

    A cluster (`--cluster NAME`, PostgreSQL): each symbol on in the shared store is traded by
    one node at a time under a lease; a node that dies or loses the database has its symbols
    taken over by the others, which recover their traders and reconcile their orders."""
    chosen = strategy if _given(context, "strategy") else None
    try:
        settings = _settings(
            exchange=exchange,
            testnet=testnet,
            rest_url=rest_url,
            stream_url=stream_url,
            ws_api_url=ws_api_url,
        )
        values = trading_values(
            chunks, budget, buy_down_interval, profit_interval, rebuy_interval, fee
        )
        trading = _trading(symbols, chosen, param, values)
        filters = load_exchange_info(exchange_info) if exchange_info else None
        sharing = _sharing(pubsub, trades_from, stream)
        db = Database.from_settings(settings)
        clustered = cluster_options(cluster, node_name, lease_ttl, settings, db)
        interrupt.run(
            _run(settings, db, trading, filters, duration, view, control_port, sharing, clustered)
        )
    except NodeCrashed:
        raise typer.Exit(1) from None  # already logged, one line: the service manager restarts
    except (HedgehogError, ValueError) as exc:
        fail(exc)


@dataclass(frozen=True)
class Sharing:
    """How the node shares trades with others: `--pubsub`, `--trades-from`, `--stream`."""

    pubsub_url: str | None = None
    trades_from: str = "exchange"
    stream: list[str] = field(default_factory=list)

    def node_options(self) -> dict[str, Any]:
        if self.pubsub_url is None:
            return {}
        return {"pubsub_url": self.pubsub_url, "trades_from": self.trades_from}


def _sharing(pubsub: str | None, trades_from: str, stream: str | None) -> Sharing:
    """The options checked now (a bad URL or choice is one line, before anything starts)."""
    if pubsub in (None, "", "local"):
        pubsub = None
    else:
        from hedgehog.live.nats_wire import parse_pubsub_url  # pure: no nats import

        parse_pubsub_url(pubsub)
    if trades_from not in ("exchange", "nats"):
        raise ConfigError(f"--trades-from must be exchange or nats, not {trades_from!r}")
    if trades_from == "nats" and pubsub is None:
        raise ConfigError("--trades-from nats needs --pubsub nats://HOST:PORT")
    names = [normalize_symbol(s) for s in (stream or "").split(",") if s.strip()]
    return Sharing(pubsub, trades_from, names)


def _given(context: typer.Context, name: str) -> bool:
    """Whether the option was on the command line (not its default)."""
    source = context.get_parameter_source(name)
    return source is not None and source.name != "DEFAULT"


async def _run(
    settings: Settings,
    db: Database,
    trading: Trading,
    filters: Any,
    duration: float | None,
    view: bool,
    control_port: int,
    sharing: Sharing | None = None,
    clustered: ClusterOptions | None = None,
) -> None:
    sharing = sharing or Sharing()
    if clustered is not None:
        await _run_clustered(
            settings, db, trading, filters, duration, view, control_port, sharing, clustered
        )
        return
    async with running_node(
        settings,
        db=db,
        filters=filters,
        control_port=control_port,
        symbols=[*trading.symbols, *sharing.stream],
        announce=announce,
        node_options=sharing.node_options(),
    ) as node:
        for symbol in sharing.stream:
            await node.streamer.start_streaming(symbol)
        for symbol in trading.symbols:
            await node.start_trading(symbol, trading.settings.get(symbol), trading.strategy)
        on = [s for s, st in node.naive.ctx.status.items() if st != "off"]
        where = settings.urls()
        what = ", ".join(on) or "nothing yet (hedgehog trade start SYMBOL)"
        source = where["stream_url"]
        if node.nats is not None and node.trades_from == "nats":
            source = f"trades from {node.nats.server}"
        err.print(
            f"hedgehog: trading {what} on {settings.exchange} ({source}); "
            f"database {db.display_url}",
            soft_wrap=True,
        )
        if node.nats is not None:
            streamed = ", ".join(node.streamer.streaming()) or "nothing"
            followed = ", ".join(node.nats.following()) or "nothing"
            err.print(
                f"hedgehog: pub/sub over NATS at {node.nats.server} (subjects "
                f"{node.nats.prefix}.*): publishing the trades of {streamed}; following "
                f"{followed}",
                soft_wrap=True,
            )
        await _drive(node, duration, view, f"hedgehog — {settings.exchange}")


async def _run_clustered(
    settings: Settings,
    db: Database,
    trading: Trading,
    filters: Any,
    duration: float | None,
    view: bool,
    control_port: int,
    sharing: Sharing,
    clustered: ClusterOptions,
) -> None:
    """A node of a cluster: its symbols come and go with their leases."""
    async with running_node(
        settings,
        db=db,
        filters=filters,
        control_port=control_port,
        symbols=[*trading.symbols, *sharing.stream],
        announce=announce,
        node_options={**sharing.node_options(), "clustered": True},
    ) as node:
        for symbol in sharing.stream:
            await node.streamer.start_streaming(symbol)
        await declare(node, db, trading)
        async with coordinating(node, db, clustered):
            err.print(
                f"hedgehog: node {clustered.node} of cluster {clustered.name} on "
                f"{settings.exchange}; leases of {clustered.ttl:g} s; database {db.display_url}",
                soft_wrap=True,
            )
            await _drive(node, duration, view, f"hedgehog — cluster {clustered.name}")


def demo(
    duration: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds")
    ] = None,
    speed: Annotated[
        float, typer.Option(min=0, help="Market pace (x 10 trades/s per symbol)")
    ] = 5.0,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic market")] = 1,
    view: Annotated[bool, typer.Option(help="Live view in the terminal")] = True,
) -> None:
    """Start the local exchange simulator with a synthetic market of three symbols and a node
    trading them through it (real sockets, the real Binance client). No network needed."""
    try:
        interrupt.run(_demo(duration, speed, seed, view))
    except HedgehogError as exc:
        fail(exc)


async def _demo(duration: float | None, speed: float, seed: int, view: bool) -> None:
    from hedgehog.simulator import start_simulator

    sim = await start_simulator(synthetic=list(DEMO_SYMBOLS), speed=speed, seed=seed)
    scratch = tempfile.TemporaryDirectory(prefix="hedgehog-demo-")
    try:
        settings = Settings(
            exchange="binance",
            rest_url=sim.url,
            stream_url=sim.ws_url,
            ws_api_url=sim.ws_api_url,
            binance_api_key=sim.api_key,  # type: ignore[arg-type]
            binance_api_secret=sim.api_secret,  # type: ignore[arg-type]
        )
        # a fresh database each time (the simulator is fresh too); control files where
        # `hedgehog status` looks for them
        db = Database(None, Path(scratch.name))
        async with running_node(settings, db=db, announce=announce) as node:
            for symbol in DEMO_SYMBOLS:
                await node.start_trading(symbol, TradingSettings.parse(symbol, budget="100"))
            err.print(
                f"hedgehog demo: simulator at {sim.url}, trading {', '.join(DEMO_SYMBOLS)}",
                soft_wrap=True,
            )
            where = f"local simulator {sim.url}"
            await _drive(node, duration, view, "hedgehog demo — local simulator", where)
    finally:
        await sim.close()
        scratch.cleanup()
