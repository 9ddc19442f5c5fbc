"""`hedgehog backtest`: load trades, run the naive system over them, print a summary."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hedgehog.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from hedgehog.backtest.source import TradeSource
from hedgehog.cli.console import err, fail, out, warn
from hedgehog.cli.options import (
    Budget,
    BuyDown,
    CatalogDir,
    Chunks,
    EveryTick,
    ExchangeInfo,
    Fee,
    FromTime,
    MinNotional,
    Params,
    Profit,
    Rebuy,
    Seed,
    SkipBadRows,
    StepSize,
    StrategyName,
    Synthetic,
    TickSize,
    ToTime,
    Trades,
    TradeSymbol,
    strategy_settings,
    trading_values,
)
from hedgehog.cli.report_dir import write_report_dir as _write_report
from hedgehog.core.decimals import to_decimal
from hedgehog.core.errors import ConfigError, HedgehogError
from hedgehog.core.filters import (
    SymbolFilters,
    load_exchange_info,
    parse_exchange_info,
    split_symbol,
)
from hedgehog.core.symbols import normalize_symbol
from hedgehog.core.time_range import time_range
from hedgehog.market.loaders import load_trades
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades
from hedgehog.market.tables import TradeTable
from hedgehog.runtime import interrupt

if TYPE_CHECKING:
    from rich.table import Table

    from hedgehog.config import Settings


def backtest(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Trade files (Binance public-data .zip/.csv, the book's .csv.gz) "
            "or directories of them",
            show_default=False,
        ),
    ] = None,
    symbol: TradeSymbol = None,
    catalog: CatalogDir = None,
    synthetic: Synthetic = None,
    from_db: Annotated[
        str | None,
        typer.Option(
            "--from-db",
            help="Instead of files: this symbol's trades recorded in the database (the "
            "warehouse; HEDGEHOG_DATABASE_URL or HEDGEHOG_DATA_DIR)",
            show_default=False,
        ),
    ] = None,
    first_day: FromTime = None,
    last_day: ToTime = None,
    trades: Trades = 100_000,
    seed: Seed = 1,
    strategy: StrategyName = "naive",
    param: Params = None,
    chunks: Chunks = None,
    budget: Budget = None,
    buy_down_interval: BuyDown = None,
    profit_interval: Profit = None,
    rebuy_interval: Rebuy = None,
    fee: Fee = None,
    exchange_info: ExchangeInfo = None,
    tick_size: TickSize = None,
    step_size: StepSize = None,
    min_notional: MinNotional = None,
    skip_bad_rows: SkipBadRows = False,
    chaos_kills: Annotated[
        int, typer.Option(help="Kill this many random traders while running")
    ] = 0,
    chaos_seed: Annotated[int, typer.Option(help="Seed of the chaos kills")] = 0,
    chaos_targets: Annotated[
        str, typer.Option(help="What chaos kills: any of trader,leader,symbol")
    ] = "trader,leader,symbol",
    every_tick: EveryTick = False,
    commission: Annotated[
        str,
        typer.Option(
            help="Who pays the commission: quote (every fill in the quote asset: exact, "
            "comparable results), received (Binance's rule: a buy pays in the coins bought, "
            "so it sells fewer) or bnb (in BNB when a BNB<quote> market is replayed, else as "
            "received)"
        ),
    ] = "quote",
    report: Annotated[
        Path | None,
        typer.Option(help="Write an HTML report with charts (self-contained) into this directory"),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(
            help="Write the orders, fills, cycles and per-minute equity as Parquet and CSV "
            "into this directory (created)",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Backtest a strategy (naive by default) on historical (or synthetic) trades, exactly and
    fast."""
    skipped: dict[str, int] = {}
    try:
        start_ms, end_ms = time_range(first_day, last_day)  # bad ranges fail before loading
        if export is not None:
            _writable(export, "--export")
        data: Mapping[str, TradeTable] | TradeSource
        if catalog is not None or (symbol and not files and not synthetic and from_db is None):
            if files or synthetic or from_db is not None:
                raise ConfigError(
                    "give trade files, --synthetic, --from-db or --catalog: only one of them"
                )
            if not symbol:
                raise ConfigError("--catalog reads the symbols named by --symbol S[,S2]")
            from hedgehog.cli.backtest_catalog import catalog_source

            source, stored = catalog_source(catalog, symbol, start_ms, end_ms)
            if exchange_info is None and not (tick_size or step_size or min_notional):
                filters = stored.filters(source.symbols)
            else:
                filters = _filters(
                    source.symbols, exchange_info, tick_size, step_size, min_notional
                )
            data = source
        elif from_db is not None:
            if files or synthetic:
                raise ConfigError("give trade files, --synthetic or --from-db: only one of them")
            if symbol is not None:
                raise ConfigError("--symbol picks from trade files; --from-db names its symbol")
            data = _recorded(from_db, first_day, last_day, start_ms, end_ms)
            filters = _filters(list(data), exchange_info, tick_size, step_size, min_notional)
        elif synthetic and (first_day is not None or last_day is not None):
            raise ConfigError(
                "--from and --to choose the time range of trade files or of --from-db SYMBOL; "
                "--synthetic trades have none"
            )
        else:
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
                skipped,
            )
            data = _windowed(tables, start_ms, end_ms)
        values = trading_values(
            chunks, budget, buy_down_interval, profit_interval, rebuy_interval, fee
        )
        symbols = list(data) if isinstance(data, Mapping) else data.symbols
        chosen, settings = strategy_settings(strategy, param, values, symbols)
        for s, st in settings.items():
            st.check_against(filters[s])
        targets = tuple(t.strip() for t in chaos_targets.split(",") if t.strip())
        if chaos_kills < 0 or any(t not in ("trader", "leader", "symbol") for t in targets):
            raise ConfigError(
                "--chaos-kills must be >= 0 and --chaos-targets a list of trader, leader, symbol"
            )
        if commission not in ("quote", "received", "bnb"):
            raise ConfigError(f"--commission must be quote, received or bnb, not {commission!r}")
        config = BacktestConfig(
            settings,
            filters,
            strategy=chosen,
            commission=commission,
            chaos_kills=chaos_kills,
            chaos_seed=chaos_seed,
            chaos_targets=targets or ("trader",),
            every_tick=every_tick,
            chart_bars=report is not None,  # the report's price bars, recorded as it runs
        )
        result = _run(data, config, show_progress=not as_json and err.is_terminal)
        figures = _figures(result, config, chosen, settings, skipped)
        if report is not None:
            page = _write_report(result, None, config, report)
            err.print(f"report: {page}", soft_wrap=True)
        exports = _export(result, config, export) if export is not None else []
    except HedgehogError as exc:
        fail(exc)
    with interrupt.deferred():  # the summary whole, or not at all
        if as_json:
            extra = {"exports": [str(p) for p in exports]} if export is not None else {}
            sys.stdout.write(json.dumps({**result.as_json(), **figures, **extra}) + "\n")
        else:
            _print_summary(result, settings, figures)


def _figures(
    result: BacktestResult,
    config: BacktestConfig,
    chosen: Any,
    settings: dict[str, Any],
    skipped_rows: dict[str, int],
) -> dict[str, Any]:
    """The keys `--json` adds to `BacktestResult.as_json`: metrics (the run's and per
    symbol), what ran, and the rows `--skip-bad-rows` skipped per file given (none:
    synthetic or recorded trades)."""
    from hedgehog.backtest.metrics import compute

    figures = compute(result, None, config).as_json()  # the run's price histories
    return {
        "symbols": figures["symbols"],
        "settings": {
            "strategy": getattr(chosen, "name", str(chosen)),
            "symbols": {s: _plain(st.as_dict()) for s, st in settings.items()},
        },
        "metrics": figures["metrics"],
        "skipped_rows": skipped_rows,
    }


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if v is None or isinstance(v, bool | int | float | str) else str(v)
        for k, v in values.items()
    }


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
    skipped: dict[str, int],
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
        raise ConfigError(
            "give trade files (or --synthetic SYMBOLS, or --from-db SYMBOL); see --help"
        )
    else:
        loaded = load_trades(files, symbol=symbol, skip_bad_rows=skip_bad_rows)
        skipped.update(_skipped_per_file(files, symbol, loaded.skipped_rows))
        if loaded.skipped_rows and not quiet:
            warn(f"skipped {loaded.skipped_rows} bad rows: " + "; ".join(loaded.bad_rows[:3]))
        tables = loaded.tables
    return tables, _filters(list(tables), exchange_info, tick, step, min_notional)


def _skipped_per_file(files: list[Path], symbol: str | None, total: int) -> dict[str, int]:
    """Rows skipped in each path given (a file or a directory). The loader counts them over
    all files; only when some were skipped in several paths are the paths counted one by one
    again (bad data: the rare case)."""
    if total == 0 or len(files) == 1:
        return {str(f): total for f in files}
    out = {}
    for f in files:
        try:
            out[str(f)] = load_trades([f], symbol=symbol, skip_bad_rows=True).skipped_rows
        except HedgehogError:  # no good trades of the symbol in this path
            out[str(f)] = 0
    return out


def _export(result: BacktestResult, config: BacktestConfig, directory: Path) -> list[Path]:
    """The exports' files (`backtest.export`), written whole into `directory`."""
    from hedgehog.backtest.export import write_exports

    written = write_exports(result, config, directory)
    err.print(f"exports: {directory} ({', '.join(p.name for p in written)})", soft_wrap=True)
    return written


def _writable(directory: Path, option: str) -> None:
    """Create `directory`; a `ConfigError` before the run when it cannot be written."""
    import os

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{option} {directory}: cannot create it ({exc.strerror})") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {directory}: the directory is not writable")


def _windowed(
    tables: dict[str, TradeTable], start: int | None, end: int | None
) -> dict[str, TradeTable]:
    """The trades of `tables` with start <= time < end (ms; None: open, see
    `core.time_range`); a range holding none of them is a `ConfigError` saying what the data
    spans."""
    from hedgehog.backtest.source import window
    from hedgehog.core.time_range import describe, utc_text

    if start is None and end is None:
        return tables
    cut = {s: window(t, start, end) for s, t in tables.items()}
    if any(len(t) for t in cut.values()):
        return cut
    full = [t for t in tables.values() if len(t)]
    span = (
        f"they span {utc_text(min(int(t.time[0]) for t in full))} to "
        f"{utc_text(max(int(t.time[-1]) for t in full))}"
        if full
        else "they hold none"
    )
    raise ConfigError(f"no trades{describe(start, end)} in the data given ({span})")


def _recorded(
    symbol: str, first: str | None, last: str | None, start_ms: int | None, end_ms: int | None
) -> dict[str, TradeTable]:
    """The symbol's trades recorded in the node's database with start_ms <= time < end_ms,
    `--from first --to last` (`core.time_range`: days or times, UTC; either may be open)."""
    from pydantic import ValidationError

    from hedgehog.config import Settings

    symbol = normalize_symbol(symbol)
    try:
        settings = Settings()
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise ConfigError(f"bad setting HEDGEHOG_{where.upper()}: {problem['msg']}") from None
    table, span, where = interrupt.run(_load_recorded(settings, symbol, start_ms, end_ms))
    if not len(table):
        when = {
            (True, True): f" between {first} and {last}",
            (True, False): f" from {first} on",
            (False, True): f" until {last}",
            (False, False): "",
        }[(first is not None, last is not None)]
        recorded = (
            f"it has trades from {_day_of(span[0])} to {_day_of(span[1])}"
            if span is not None
            else "it has none of this symbol"
        )
        raise ConfigError(
            f"no trades of {symbol} recorded{when} in the database at {where} ({recorded})"
        )
    return {symbol: table}


async def _load_recorded(
    settings: Settings, symbol: str, start_ms: int | None, end_ms: int | None
) -> tuple[TradeTable, tuple[int, int] | None, str]:
    from hedgehog.store.db import Database
    from hedgehog.warehouse.replay import load_recorded, recorded_span

    async with Database.from_settings(settings) as db:
        await db.migrate()
        table = await load_recorded(db, symbol, start_ms, end_ms)
        span = None if len(table) else await recorded_span(db, symbol)
        return table, span, db.display_url


def _day_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


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
    data: Mapping[str, TradeTable] | TradeSource, config: BacktestConfig, show_progress: bool
) -> BacktestResult:
    if not show_progress:
        return interrupt.run(run_backtest(data, config))
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("backtest"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("run", total=None)
        return interrupt.run(
            run_backtest(
                data,
                config,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        )


def _print_summary(
    result: BacktestResult, settings: dict[str, Any], figures: dict[str, Any]
) -> None:
    from rich.table import Table

    data: dict[str, Any] = result.as_json()
    table = Table(title="hedgehog backtest", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    for s, st in settings.items():
        table.add_row(
            f"{s} settings", ", ".join(f"{k}={v}" for k, v in st.as_dict().items() if k != "symbol")
        )
    halted = data.pop("halted", {})
    for key, value in data.items():
        table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value))
    for symbol, why in halted.items():
        table.add_row(f"{symbol} halted", why or "no")
    for path, rows in figures["skipped_rows"].items():
        if rows:
            table.add_row(f"skipped rows: {path}", f"{rows:,}")
    _metric_rows(table, "run", figures["metrics"])
    if len(figures["symbols"]) > 1:
        for s, m in figures["symbols"].items():
            _metric_rows(table, s, m)
    out.print(table)
    pnl = Decimal(data["realised_pnl"]) + Decimal(data["unrealised_pnl"])
    out.print(f"total PnL (realised + unrealised): [bold]{pnl:f}[/bold]")


def _metric_rows(table: Table, who: str, metrics: dict[str, Any]) -> None:
    why = metrics.get("null_reasons", {})
    for key, value in metrics.items():
        if key == "null_reasons":
            continue
        shown = f"null ({why[key]})" if value is None and key in why else str(value)
        table.add_row(
            f"{who}: {key.replace('_', ' ')}", "-" if value is None and key not in why else shown
        )
