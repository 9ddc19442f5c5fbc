"""`hedgehog run` (a live node) and `hedgehog demo` (the simulator plus a node trading it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live

from hedgehog.config import Settings
from hedgehog.console import err, fail, out
from hedgehog.core.filters import load_exchange_info
from hedgehog.errors import ConfigError, HedgehogError
from hedgehog.live.node import LiveNode
from hedgehog.live.view import render, snapshot
from hedgehog.naive.settings import TradingSettings, normalize_symbol

DEMO_SYMBOLS = ("XRPUSDT", "ETHUSDT", "BNBUSDT")


async def _wait_for_stop(duration: float | None) -> None:
    """Until Ctrl-C / SIGTERM, or `duration` seconds."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _drive(node: LiveNode, duration: float | None, view: bool, title: str) -> None:
    if view and out.is_terminal:
        with Live(render(node, title), console=out, refresh_per_second=4) as live:
            task = asyncio.ensure_future(_wait_for_stop(duration))
            while not task.done():
                live.update(render(node, title))
                await asyncio.wait({task}, timeout=0.25)
    else:
        await _wait_for_stop(duration)
    data = snapshot(node)
    await node.stop()
    if not view or not out.is_terminal:
        summary = {
            s: {k: v for k, v in d.items() if k != "traders"} for s, d in data["symbols"].items()
        }
        out.print_json(json.dumps(summary))


def _trading(symbols: str, values: dict[str, Any]) -> list[TradingSettings]:
    names = [normalize_symbol(s) for s in symbols.split(",") if s.strip()]
    if not names:
        raise ConfigError("give at least one symbol with --symbols (e.g. XRPUSDT,ETHUSDT)")
    return [TradingSettings.parse(s, **values) for s in names]


def run(
    symbols: Annotated[str, typer.Option(help="Symbols to trade, e.g. XRPUSDT,ETHUSDT")],
    exchange: Annotated[
        str, typer.Option(help="paper (live data, simulated orders) or binance")
    ] = "paper",
    testnet: Annotated[bool, typer.Option(help="Use Binance's spot testnet")] = False,
    rest_url: Annotated[str | None, typer.Option(help="REST base URL")] = None,
    stream_url: Annotated[str | None, typer.Option(help="Market stream base URL")] = None,
    ws_api_url: Annotated[str | None, typer.Option(help="WebSocket API URL (user data)")] = None,
    exchange_info: Annotated[Path | None, typer.Option(help="Saved exchangeInfo (paper)")] = None,
    chunks: Annotated[int | None, typer.Option(help="Traders per symbol [5]")] = None,
    budget: Annotated[str | None, typer.Option(help="Quote budget per symbol [1000]")] = None,
    buy_down_interval: Annotated[str | None, typer.Option(help="[0.0001]")] = None,
    profit_interval: Annotated[str | None, typer.Option(help="[0.001]")] = None,
    rebuy_interval: Annotated[str | None, typer.Option(help="[0.001]")] = None,
    fee: Annotated[str | None, typer.Option(help="[0.001]")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
    view: Annotated[bool, typer.Option(help="Live view in the terminal")] = True,
) -> None:
    """Run a trading node on live market data (paper by default: no keys, no real orders)."""
    try:
        if exchange not in ("paper", "binance"):
            raise ConfigError(f"--exchange must be paper or binance, not {exchange!r}")
        overrides: dict[str, Any] = {
            k: v
            for k, v in {
                "exchange": exchange,
                "testnet": testnet,
                "rest_url": rest_url,
                "stream_url": stream_url,
                "ws_api_url": ws_api_url,
            }.items()
            if v is not None and v is not False
        }
        settings = Settings(**overrides)
        values = dict(
            chunks=chunks,
            budget=budget,
            buy_down_interval=buy_down_interval,
            profit_interval=profit_interval,
            rebuy_interval=rebuy_interval,
            fee=fee,
        )
        trading = _trading(symbols, values)
        filters = load_exchange_info(exchange_info) if exchange_info else None
        asyncio.run(_run(settings, trading, filters, duration, view))
    except (HedgehogError, ValueError) as exc:
        fail(exc)


async def _run(
    settings: Settings,
    trading: list[TradingSettings],
    filters: Any,
    duration: float | None,
    view: bool,
) -> None:
    node = await LiveNode.create(settings, filters=filters)
    await node.start()
    try:
        for t in trading:
            await node.start_trading(t.symbol, t)
    except BaseException:
        await node.stop()
        raise
    where = settings.urls()
    err.print(
        f"hedgehog: trading {', '.join(t.symbol for t in trading)} on "
        f"{settings.exchange} ({where['stream_url']})",
        soft_wrap=True,
    )
    await _drive(node, duration, view, f"hedgehog — {settings.exchange}")


def demo(
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
    speed: Annotated[float, typer.Option(help="Market pace (x 10 trades/s per symbol)")] = 5.0,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic market")] = 1,
    view: Annotated[bool, typer.Option(help="Live view in the terminal")] = True,
) -> None:
    """Start the local exchange simulator with a synthetic market of three symbols and a node
    trading them through it (real sockets, the real Binance client). No network needed."""
    try:
        asyncio.run(_demo(duration, speed, seed, view))
    except HedgehogError as exc:
        fail(exc)


async def _demo(duration: float | None, speed: float, seed: int, view: bool) -> None:
    from hedgehog.exchange.simulator import start_simulator

    sim = await start_simulator(synthetic=list(DEMO_SYMBOLS), speed=speed, seed=seed)
    try:
        settings = Settings(
            exchange="binance",
            rest_url=sim.url,
            stream_url=sim.ws_url,
            ws_api_url=sim.ws_api_url,
            binance_api_key=sim.api_key,  # type: ignore[arg-type]
            binance_api_secret=sim.api_secret,  # type: ignore[arg-type]
        )
        node = await LiveNode.create(settings)
        await node.start()
        for symbol in DEMO_SYMBOLS:
            await node.start_trading(symbol, TradingSettings.parse(symbol, budget="100"))
        err.print(
            f"hedgehog demo: simulator at {sim.url}, trading {', '.join(DEMO_SYMBOLS)}",
            soft_wrap=True,
        )
        await _drive(node, duration, view, "hedgehog demo — local simulator")
    finally:
        await sim.close()
