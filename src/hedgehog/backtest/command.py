"""`hedgehog backtest`: load trades, run the naive system over them, print a summary."""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from hedgehog.backtest.loaders import load_trades
from hedgehog.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from hedgehog.backtest.synthetic import synthetic_exchange_info, synthetic_trades
from hedgehog.backtest.tables import TradeTable
from hedgehog.console import err, fail, out, warn
from hedgehog.core.decimals import to_decimal
from hedgehog.core.filters import (
    SymbolFilters,
    load_exchange_info,
    parse_exchange_info,
    split_symbol,
)
from hedgehog.errors import ConfigError, HedgehogError
from hedgehog.naive.settings import TradingSettings, normalize_symbol


def backtest(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Trade files (Binance public-data .zip/.csv, the book's .csv.gz) "
            "or directories of them",
            show_default=False,
        ),
    ] = None,
    symbol: Annotated[
        str | None,
        typer.Option(
            help="Symbol of the trades (default: from the file names); keeps only that symbol"
        ),
    ] = None,
    synthetic: Annotated[
        str | None,
        typer.Option(
            help="Instead of files: a seeded synthetic market of these symbols (XRPUSDT,ETHUSDT)"
        ),
    ] = None,
    trades: Annotated[int, typer.Option(help="Trades per synthetic symbol")] = 100_000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic market")] = 1,
    chunks: Annotated[int | None, typer.Option(help="Traders per symbol [5]")] = None,
    budget: Annotated[str | None, typer.Option(help="Quote budget per symbol [1000]")] = None,
    buy_down_interval: Annotated[str | None, typer.Option(help="[0.0001]")] = None,
    profit_interval: Annotated[str | None, typer.Option(help="[0.001]")] = None,
    rebuy_interval: Annotated[str | None, typer.Option(help="[0.001]")] = None,
    fee: Annotated[str | None, typer.Option(help="Fee rate [0.001]")] = None,
    exchange_info: Annotated[
        Path | None,
        typer.Option(help="A saved GET /api/v3/exchangeInfo answer giving each symbol's filters"),
    ] = None,
    tick_size: Annotated[
        str | None, typer.Option(help="Tick size (without --exchange-info)")
    ] = None,
    step_size: Annotated[
        str | None, typer.Option(help="Step size (without --exchange-info)")
    ] = None,
    min_notional: Annotated[
        str | None, typer.Option(help="Min notional (without --exchange-info)")
    ] = None,
    skip_bad_rows: Annotated[bool, typer.Option(help="Count and skip unreadable rows")] = False,
    chaos_kills: Annotated[
        int, typer.Option(help="Kill this many random traders while running")
    ] = 0,
    chaos_seed: Annotated[int, typer.Option(help="Seed of the chaos kills")] = 0,
    chaos_targets: Annotated[
        str, typer.Option(help="What chaos kills: any of trader,leader,symbol")
    ] = "trader",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Backtest the naive strategy on historical (or synthetic) trades, exactly and fast."""
    try:
        tables, filters = _inputs(
            files or [],
            symbol,
            synthetic,
            trades,
            seed,
            exchange_info,
            tick_size,
            step_size,
            min_notional,
            skip_bad_rows,
            as_json,
        )
        values = dict(
            chunks=chunks,
            budget=budget,
            buy_down_interval=buy_down_interval,
            profit_interval=profit_interval,
            rebuy_interval=rebuy_interval,
            fee=fee,
        )
        settings = {s: TradingSettings.parse(s, **values) for s in tables}
        for s, st in settings.items():
            st.check_against(filters[s])
        targets = tuple(t.strip() for t in chaos_targets.split(",") if t.strip())
        if chaos_kills < 0 or any(t not in ("trader", "leader", "symbol") for t in targets):
            raise ConfigError(
                "--chaos-kills must be >= 0 and --chaos-targets a list of trader, leader, symbol"
            )
        config = BacktestConfig(
            settings,
            filters,
            chaos_kills=chaos_kills,
            chaos_seed=chaos_seed,
            chaos_targets=targets or ("trader",),
        )
        result = _run(tables, config, show_progress=not as_json and err.is_terminal)
    except HedgehogError as exc:
        fail(exc)
    if as_json:
        sys.stdout.write(json.dumps(result.as_json()) + "\n")
    else:
        _print_summary(result, settings)


def _inputs(
    files: list[Path],
    symbol: str | None,
    synthetic: str | None,
    trades: int,
    seed: int,
    exchange_info: Path | None,
    tick: str | None,
    step: str | None,
    min_notional: str | None,
    skip_bad_rows: bool,
    quiet: bool,
) -> tuple[dict[str, TradeTable], dict[str, SymbolFilters]]:
    if synthetic and files:
        raise ConfigError("give trade files or --synthetic, not both")
    if synthetic:
        if trades < 1:
            raise ConfigError("--trades must be at least 1")
        symbols = [normalize_symbol(s) for s in synthetic.split(",") if s.strip()]
        tables = {s: synthetic_trades(s, trades, seed + i) for i, s in enumerate(symbols)}
        if exchange_info is None and tick is None:
            return tables, parse_exchange_info(synthetic_exchange_info(symbols, "0.0001", "0.1"))
    elif not files:
        raise ConfigError("give trade files (or --synthetic SYMBOLS); see --help")
    else:
        loaded = load_trades(files, symbol=symbol, skip_bad_rows=skip_bad_rows)
        if loaded.skipped_rows and not quiet:
            warn(f"skipped {loaded.skipped_rows} bad rows: " + "; ".join(loaded.bad_rows[:3]))
        tables = loaded.tables
    return tables, _filters(list(tables), exchange_info, tick, step, min_notional)


def _filters(
    symbols: list[str],
    exchange_info: Path | None,
    tick: str | None,
    step: str | None,
    min_notional: str | None,
) -> dict[str, SymbolFilters]:
    if exchange_info is not None:
        if tick or step or min_notional:
            raise ConfigError("give --exchange-info or --tick-size/--step-size/--min-notional")
        try:
            known = load_exchange_info(exchange_info)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        missing = [s for s in symbols if s not in known]
        if missing:
            raise ConfigError(f"{', '.join(missing)} not found in {exchange_info}")
        return {s: known[s] for s in symbols}
    if not (tick and step):
        raise ConfigError(
            "give --exchange-info PATH, or --tick-size and --step-size (and --min-notional)"
        )
    try:
        t, st = to_decimal(tick, "--tick-size"), to_decimal(step, "--step-size")
        mn = to_decimal(min_notional or "0", "--min-notional")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if t <= 0 or st <= 0 or mn < 0:
        raise ConfigError("tick and step sizes must be positive, min notional >= 0")
    out = {}
    for s in symbols:
        base, quote = split_symbol(s)
        out[s] = SymbolFilters(s, base, quote, t, st, min_qty=st, min_notional=mn)
    return out


def _run(
    tables: dict[str, TradeTable], config: BacktestConfig, show_progress: bool
) -> BacktestResult:
    if not show_progress:
        return asyncio.run(run_backtest(tables, config))
    with Progress(
        TextColumn("backtest"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("run", total=sum(len(t) for t in tables.values()))
        return asyncio.run(
            run_backtest(
                tables, config, progress=lambda done, total: bar.update(task, completed=done)
            )
        )


def _print_summary(result: BacktestResult, settings: dict[str, TradingSettings]) -> None:
    data: dict[str, Any] = result.as_json()
    table = Table(title="hedgehog backtest", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    for s, st in settings.items():
        table.add_row(
            f"{s} settings", ", ".join(f"{k}={v}" for k, v in st.as_dict().items() if k != "symbol")
        )
    for key, value in data.items():
        table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value))
    out.print(table)
    pnl = Decimal(data["realised_pnl"]) + Decimal(data["unrealised_pnl"])
    out.print(f"total PnL (realised + unrealised): [bold]{pnl:f}[/bold]")
