"""`hedgehog exchange serve`: run the local Binance-compatible exchange until Ctrl-C / SIGTERM."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from hedgehog.cli.console import fail, warn
from hedgehog.core.decimals import to_decimal
from hedgehog.core.errors import ConfigError, HedgehogError
from hedgehog.core.symbols import normalize_symbol
from hedgehog.exchange.paper.rules import Commission, FillMode, Rules
from hedgehog.market.loaders import load_trades
from hedgehog.market.tables import TradeTable
from hedgehog.runtime import interrupt
from hedgehog.simulator.app import DEFAULT_BALANCES, SimulatorHandle, start_simulator
from hedgehog.simulator.auth import DEMO_API_KEY, DEMO_API_SECRET


def serve(
    data: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Recorded trade files (Binance public-data .zip/.csv, the book's .csv.gz) "
            "or directories of them",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default)")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one (printed)")
    ] = 0,
    synthetic: Annotated[
        str | None,
        typer.Option(
            help="Instead of files: a seeded synthetic market of these symbols (XRPUSDT,ETHUSDT)"
        ),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            help="Replay pace: x the recorded pace (synthetic: 10 trades/s/symbol x); "
            "0 = as fast as possible"
        ),
    ] = 1.0,
    symbol: Annotated[
        str | None, typer.Option(help="Keep only this symbol of the files (names Binance files)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic market")] = 1,
    exchange_info: Annotated[
        Path | None,
        typer.Option(help="A saved GET /api/v3/exchangeInfo answer (filtered to the symbols)"),
    ] = None,
    balance: Annotated[
        list[str] | None,
        typer.Option(help="Starting balance ASSET=AMOUNT, repeatable [USDT=10000]"),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(help="API key accepted [a demo key]", envvar="HEDGEHOG_SIM_API_KEY"),
    ] = None,
    api_secret: Annotated[
        str | None,
        typer.Option(help="Its secret (never printed)", envvar="HEDGEHOG_SIM_API_SECRET"),
    ] = None,
    paused: Annotated[bool, typer.Option(help="Start with the replay paused")] = False,
    ping_interval: Annotated[float, typer.Option(help="Seconds between server pings")] = 20.0,
    weight_limit: Annotated[
        int, typer.Option(help="Request weight per minute before 429 (0: no limit)")
    ] = 6000,
    wait_for_clients: Annotated[
        bool,
        typer.Option(
            help="At speed 0, replay at the pace of the slowest stream client "
            "(dropping one only when stuck for 5 s) instead of dropping it"
        ),
    ] = False,
    skip_bad_rows: Annotated[bool, typer.Option(help="Count and skip unreadable rows")] = False,
    trace_latency: Annotated[
        bool,
        typer.Option(
            help="Note when trade frames are written and orders arrive (GET/POST /_sim/latency)"
        ),
    ] = False,
    commission: Annotated[
        str,
        typer.Option(
            help="Who pays the commission: received (Binance: a BUY in the base asset, a SELL "
            "in the quote asset), bnb (in BNB when the account holds enough, else received) "
            "or quote (always the quote asset)"
        ),
    ] = "received",
    fills: Annotated[
        str,
        typer.Option(
            help="volume (a resting order fills up to each crossing trade's quantity, in parts, "
            "as on Binance) or full (a crossing trade fills it whole)"
        ),
    ] = "volume",
    maker_fee: Annotated[str, typer.Option(help="Maker commission rate")] = "0.001",
    taker_fee: Annotated[str, typer.Option(help="Taker commission rate")] = "0.001",
) -> None:
    """Serve a local Binance-compatible exchange (REST, trade streams, WebSocket API)."""
    try:
        if (api_key is None) != (api_secret is None):
            raise ConfigError("give both --api-key and --api-secret, or neither")
        if speed < 0 or ping_interval < 0:
            raise ConfigError("--speed and --ping-interval must be >= 0")
        if weight_limit < 0:
            raise ConfigError("--weight-limit must be >= 0 (0: no limit)")
        tables = _tables(data or [], symbol, synthetic, skip_bad_rows)
        names = [normalize_symbol(s) for s in (synthetic or "").split(",") if s.strip()]
        balances = parse_balances(balance or [])
        rules = parse_rules(commission, fills, maker_fee, taker_fee)

        def start() -> Awaitable[SimulatorHandle]:
            return start_simulator(
                host=host, port=port, tables=tables, synthetic=names or None, seed=seed,
                speed=speed, api_key=api_key or DEMO_API_KEY,
                api_secret=api_secret or DEMO_API_SECRET, exchange_info=exchange_info,
                balances=balances, paused=paused, ping_interval=ping_interval,
                weight_limit=weight_limit, wait_for_clients=5.0 if wait_for_clients else None,
                trace_latency=trace_latency, rules=rules,
            )  # fmt: skip

        code = interrupt.run(_serve(start, demo=api_secret is None))
    except HedgehogError as exc:
        fail(exc)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    raise typer.Exit(code)


def _tables(
    files: list[Path], symbol: str | None, synthetic: str | None, skip: bool
) -> list[TradeTable] | None:
    if synthetic and files:
        raise ConfigError("give trade files or --synthetic, not both")
    if not synthetic and not files:
        raise ConfigError("give trade files (or --synthetic SYMBOLS); see --help")
    if not files:
        return None
    loaded = load_trades(files, symbol=symbol, skip_bad_rows=skip)
    if loaded.skipped_rows:
        warn(f"skipped {loaded.skipped_rows} bad rows: " + "; ".join(loaded.bad_rows[:3]))
    return list(loaded.tables.values())


def parse_rules(commission: str, fills: str, maker_fee: str, taker_fee: str) -> Rules:
    """The simulator's money rules from the command line; `ConfigError` on bad input."""
    if commission not in {c.value for c in Commission}:
        raise ConfigError(f"--commission must be received, bnb or quote, not {commission!r}")
    if fills not in {f.value for f in FillMode}:
        raise ConfigError(f"--fills must be volume or full, not {fills!r}")
    maker = to_decimal(maker_fee, "--maker-fee")
    taker = to_decimal(taker_fee, "--taker-fee")
    try:
        return Rules.binance(commission, fills, maker, taker)
    except ValueError as exc:
        raise ConfigError("--" + str(exc).replace("_", "-", 1)) from None


def parse_balances(items: list[str]) -> dict[str, Decimal]:
    """`ASSET=AMOUNT` items over the default balances (USDT=10000)."""
    balances = dict(DEFAULT_BALANCES)
    for item in items:
        asset, sep, value = item.partition("=")
        asset = asset.strip().upper()
        if not sep or not asset.isalnum():
            raise ConfigError(f"--balance {item!r}: expected ASSET=AMOUNT, e.g. USDT=10000")
        try:
            amount = to_decimal(value, f"--balance {asset}")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if amount < 0:
            raise ConfigError(f"--balance {asset}: the amount must be >= 0")
        balances[asset] = amount
    return balances


async def _serve(start: Callable[[], Awaitable[SimulatorHandle]], demo: bool) -> int:
    """Serve until SIGINT/SIGTERM cancels this task (`hedgehog.runtime.interrupt`); close on
    the way out."""
    handle = await start()
    try:
        _announce(handle, demo)
        await asyncio.Event().wait()
    finally:
        await handle.close()
    return 0


def _announce(handle: SimulatorHandle, demo: bool) -> None:
    symbols = handle.market.symbols
    example = symbols[0].lower()
    replay = handle.sim.replayer
    pace = (
        "no feed" if replay is None else f"speed {replay.speed:g}" + (" (paused)" * replay.paused)
    )
    lines = [
        f"hedgehog exchange simulator: {', '.join(symbols)} ({pace})",
        f"  REST       {handle.url}/api/v3/",
        f"  streams    {handle.ws_url}/ws/{example}@trade   {handle.ws_url}/stream?streams=...",
        f"  WS API     {handle.ws_api_url}",
        f"  control    {handle.url}/_sim/stats",
        f"  API key    {handle.api_key}",
        f"  API secret {handle.api_secret} (the public demo secret)" if demo
        else "  API secret as given (not shown)",
        "Ctrl-C stops it.",
    ]  # fmt: skip
    if handle.host not in ("127.0.0.1", "localhost", "::1"):
        warn(f"listening on {handle.host}: anyone who can reach it can use this account")
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


exchange_app = typer.Typer(help="Exchange tools: the local Binance-compatible simulator.")
exchange_app.command("serve")(serve)
