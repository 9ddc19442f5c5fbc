"""`hedgehog sweep`: backtest every combination of a grid of a strategy's settings on all
cores, ranked.

Any strategy (`--strategy`, naive by default) and any of its settings: `--param key=v1,v2,...`
(ranges `3..9`, `0.36:0.40:0.01`; one value is fixed, several are an axis of the grid). Naive's
own options (`--grid`, `--chunks` ...) still work, for naive only, as in `hedgehog backtest`.
The work is done by `hedgehog.backtest.sweep`; this module reads the command line, checks
everything before any work starts, shows progress, ranks (`--rank-by METRIC`, net PnL by
default), prints the best (`--top N`; `sweep_output`) and writes the best combination's report
(`--report DIR`).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from hedgehog.backtest.sweep import (
    DEFAULT_RANK,
    LOWER_IS_BETTER,
    MAX_COMBINATIONS,
    SORT_KEYS,
    DataSpec,
    ExecutorFactory,
    Outcome,
    Params,
    SweepError,
    check_plan,
    combinations,
    cpu_count,
    describe,
    plan,
    prepare,
    process_pool,
    rank,
    rank_metric,
    run_sweep,
    settings_grid,
)
from hedgehog.cli import sweep_output
from hedgehog.cli.backtest import _filters
from hedgehog.cli.console import err, fail, warn
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
    trading_values,
)
from hedgehog.core.errors import ConfigError, DataError, HedgehogError
from hedgehog.core.filters import parse_exchange_info
from hedgehog.core.symbols import normalize_symbol
from hedgehog.core.time_range import time_range
from hedgehog.market.loaders import _NAME_SYMBOL, _expand
from hedgehog.market.synthetic import synthetic_exchange_info
from hedgehog.runtime import interrupt
from hedgehog.runtime.interrupt import Interrupted
from hedgehog.strategy.registry import load_strategy

SweepParams = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        help="A setting of the strategy, key=V1,V2,... (repeat it): one value is fixed, several "
        "are an axis of the grid; a value may be a range A..B (whole numbers) or "
        "START:STOP:STEP (exact decimals), e.g. --param levels=3..9 --param lower=0.36:0.40:0.01",
        show_default=False,
    ),
]


def sweep(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Trade files (Binance public-data .zip/.csv, the book's .csv.gz) "
            "or directories of them",
            show_default=False,
        ),
    ] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            help="Naive's: a setting to vary, NAME=V1,V2,... (repeat for more; every "
            "combination runs). NAME: chunks, budget, buy_down_interval, profit_interval, "
            "rebuy_interval, fee (any strategy: --param)",
            show_default=False,
        ),
    ] = None,
    symbol: TradeSymbol = None,
    catalog: CatalogDir = None,
    first: FromTime = None,
    last: ToTime = None,
    synthetic: Synthetic = None,
    trades: Trades = 100_000,
    seed: Seed = 1,
    strategy: StrategyName = "naive",
    param: SweepParams = None,
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
    every_tick: EveryTick = False,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes (default: all cores; not with --ray)", show_default=False
        ),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Run the combinations as Ray tasks (pip install 'hedgehog-bot[ray]'): auto "
            "(the cluster running here), local (start one in this process) or HOST:PORT. The "
            "trades are put once in Ray's object store (a --catalog is read by each task: it "
            "must be at the same path on every node); the cluster's CPUs set how many run at "
            "once, so --workers is refused. Same results as the local pool",
            show_default=False,
        ),
    ] = None,
    rank_by: Annotated[
        str,
        typer.Option(
            "--rank-by",
            "--sort",
            metavar="METRIC",
            help=f"Rank by one of {', '.join(SORT_KEYS)} (realised = realised_pnl; "
            f"total_pnl = net_pnl). Lower is better for {', '.join(LOWER_IS_BETTER)}; higher "
            "for the others. Combinations where it is undefined (e.g. sharpe with under two "
            "hours of data) rank last; ties keep the grid's order",
        ),
    ] = DEFAULT_RANK,
    top: Annotated[
        int | None,
        typer.Option(
            metavar="N", help="Show only the best N combinations (default: all)", show_default=False
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Re-run the best combination and write its HTML report into DIR (the report "
            "of hedgehog backtest --report)",
            show_default=False,
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", help=f"Run more than {MAX_COMBINATIONS:,} combinations"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Backtest every combination of a strategy's settings (--param key=V1,V2,..., or naive's
    --grid) in parallel and rank the results.

    Exits 1 (after printing the rest) when some combinations failed, 2 on bad input.
    """
    started = time.perf_counter()
    try:
        try:
            metric = rank_metric(rank_by)
        except ConfigError as exc:
            raise ConfigError(f"--rank-by: {exc}") from None
        if top is not None and top < 1:
            raise ConfigError("--top must be at least 1")
        if workers is not None and workers < 1:
            raise ConfigError("--workers must be at least 1")
        if ray is not None and workers is not None:
            raise ConfigError("--workers is the local pool's; with --ray the cluster's CPUs decide")
        chosen = load_strategy(strategy)
        the_grid, fixed, order = settings_grid(
            chosen.name,
            grid or [],
            trading_values(chunks, budget, buy_down_interval, profit_interval, rebuy_interval, fee),
            param or [],
        )
        count = combinations(the_grid)
        if count > MAX_COMBINATIONS and not yes:
            raise ConfigError(
                f"the grid makes {count:,} combinations (more than {MAX_COMBINATIONS:,}); "
                "pass --yes to run them all"
            )
        start_ms, end_ms = time_range(first, last)
        if synthetic and (first is not None or last is not None):
            raise ConfigError("--from and --to cut trade files or the catalog, not --synthetic")
        if catalog is not None or (symbol and not files and not synthetic):
            if files or synthetic:
                raise ConfigError("give trade files, --synthetic or --catalog: only one of them")
            spec = _catalog_spec(
                catalog, symbol, start_ms, end_ms, exchange_info, tick_size, step_size,
                min_notional, every_tick, strategy,
            )  # fmt: skip
        else:
            spec = _data_spec(
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
                every_tick,
                strategy,
            )
            spec = replace(spec, start_ms=start_ms, end_ms=end_ms)
        combos = plan(the_grid, fixed, order)
        check_plan(combos, spec.filter_map, shown=list(the_grid), strategy=chosen)
        if report is not None:
            _writable(report)
        factory = process_pool(min(workers or cpu_count(), len(combos)))
        if ray is not None:
            from hedgehog.backtest.sweep_ray import cluster_cpus, connect, ray_pool

            connect(ray)
            factory, n_workers = ray_pool(ray), cluster_cpus()
        else:
            n_workers = min(workers or cpu_count(), len(combos))
        outcomes = _run(combos, spec, factory, show_progress=not as_json and err.is_terminal)
        ranked = rank(outcomes, metric.name)
        page = None
        if report is not None and ranked:
            page = _report_best(ranked[0], spec, report)
    except HedgehogError as exc:
        fail(exc)
    except Interrupted as exc:
        fail(f"stopped by {exc.name}: the sweep was cancelled", code=exc.exit_code)
    failed = [o for o in outcomes if not o.ok]
    skipped = max((o.skipped_rows for o in outcomes), default=0)
    if skipped and not as_json:
        warn(f"skipped {skipped} bad rows of the trade files")
    shown = ranked[:top] if top is not None else ranked
    elapsed = time.perf_counter() - started
    with interrupt.deferred():  # the ranking whole, or not at all
        if as_json:
            document = sweep_output.document(
                strategy=chosen.name,
                shown=shown,
                metric=metric,
                top=top,
                outcomes=outcomes,
                ranked=len(ranked),
                failed=failed,
                workers=n_workers,
                elapsed=elapsed,
                report=str(page) if page is not None else None,
            )
            sys.stdout.write(json.dumps(document) + "\n")
        else:
            names = list(the_grid)
            sweep_output.print_table(
                shown, names, metric, chosen.name, len(outcomes), n_workers, elapsed
            )
            for o in failed:
                warn(f"combination {describe(o.params, names)} failed: {o.error}")
    if page is not None:
        err.print(f"report: {page} (the best by {metric.name})", soft_wrap=True)
    elif report is not None:
        warn("no combination succeeded: no report written")
    if failed:
        raise typer.Exit(1)


def _writable(report: Path) -> None:
    """Make the report's directory now, so that a bad --report fails before the sweep."""
    try:
        report.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--report: cannot write into {report}: {exc}") from None


def _report_best(best: Outcome, spec: DataSpec, report: Path) -> Path:
    """Re-run the best combination here and write its report into `report` (whole, or not
    at all). The run must be the one ranked: the same ledger (the backtest is exact)."""
    from hedgehog.backtest.runner import run_backtest
    from hedgehog.cli.report_dir import write_report_dir

    data, config = prepare(spec, best.params)
    config.chart_bars = True  # the report's price bars, recorded as the run goes
    result = interrupt.run(run_backtest(data, config))
    ranked_ledger = (best.result or {}).get("ledger_sha256")
    if result.as_json()["ledger_sha256"] != ranked_ledger:
        raise SweepError(
            f"the best combination ({describe(best.params)}) re-run here gave another ledger "
            "than in its worker; no report written"
        )
    return write_report_dir(result, None, config, report)


def _data_spec(
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
    every_tick: bool,
    strategy: str,
) -> DataSpec:
    """How the workers get the data, with the filters; as `hedgehog backtest` reads them.

    Trade files are only listed here (each worker loads them), so their symbols come from
    --symbol or from Binance file names (SYMBOL-trades-...)."""
    if synthetic and files:
        raise ConfigError("give trade files or --synthetic, not both")
    if synthetic:
        if trades < 1:
            raise ConfigError("--trades must be at least 1")
        symbols = [normalize_symbol(s) for s in synthetic.split(",") if s.strip()]
        if not symbols:
            raise ConfigError("--synthetic needs at least one symbol, e.g. XRPUSDT")
        if exchange_info is None and tick is None:
            info = synthetic_exchange_info(symbols, "0.0001", "0.1")
            filters = parse_exchange_info(info)
        else:
            filters = _filters(symbols, exchange_info, tick, step, min_notional)
        return DataSpec(
            tuple(filters[s] for s in dict.fromkeys(symbols)),
            synthetic=tuple(symbols),
            trades=trades,
            seed=seed,
            every_tick=every_tick,
            strategy=strategy,
        )
    if not files:
        raise ConfigError("give trade files (or --synthetic SYMBOLS); see --help")
    paths = [p.resolve() for p in _expand(list(files))]
    for path in paths:
        if not path.is_file():
            raise DataError(f"{path}: file not found")
    if symbol is not None:
        symbols = [normalize_symbol(symbol)]
    else:
        symbols = []
        for path in paths:
            match = _NAME_SYMBOL.match(path.name)
            if match is None:
                raise ConfigError(
                    f"{path}: cannot tell its symbol from the name (not SYMBOL-trades-...); "
                    "pass --symbol"
                )
            symbols.append(match.group(1).upper())
        symbols = sorted(set(symbols))
    filters = _filters(symbols, exchange_info, tick, step, min_notional)
    return DataSpec(
        tuple(filters[s] for s in symbols),
        files=tuple(str(p) for p in paths),
        symbol=symbols[0] if symbol is not None else None,
        skip_bad_rows=skip_bad_rows,
        every_tick=every_tick,
        strategy=strategy,
    )


def _catalog_spec(
    catalog: Path | None,
    symbol: str | None,
    start_ms: int | None,
    end_ms: int | None,
    exchange_info: Path | None,
    tick: str | None,
    step: str | None,
    min_notional: str | None,
    every_tick: bool,
    strategy: str,
) -> DataSpec:
    """Every run streams the catalog's trades of --symbol in the range (checked here once)."""
    from hedgehog.cli.backtest_catalog import catalog_source

    if not symbol:
        raise ConfigError("--catalog reads the symbols named by --symbol S[,S2]")
    source, stored = catalog_source(catalog, symbol, start_ms, end_ms)
    symbols = source.symbols
    if exchange_info is None and not (tick or step or min_notional):
        filters = stored.filters(symbols)
    else:
        filters = _filters(symbols, exchange_info, tick, step, min_notional)
    return DataSpec(
        tuple(filters[s] for s in symbols),
        catalog=str(stored.root.resolve()),
        catalog_symbols=tuple(symbols),
        start_ms=start_ms,
        end_ms=end_ms,
        every_tick=every_tick,
        strategy=strategy,
    )


def _run(
    combos: list[Params], spec: DataSpec, factory: ExecutorFactory, show_progress: bool
) -> list[Outcome]:
    if not show_progress:
        return run_sweep(combos, spec, factory)
    with Progress(
        TextColumn("sweep"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TextColumn("[red]{task.fields[failed]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("run", total=len(combos), failed="")
        failures = 0

        def progress(outcome: Outcome) -> None:
            nonlocal failures
            failures += not outcome.ok
            bar.update(task, advance=1, failed=f"{failures} failed" if failures else "")

        return run_sweep(combos, spec, factory, progress=progress)
