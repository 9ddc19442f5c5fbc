"""Parameter sweeps: a strategy's backtest (naive by default, or any `--strategy`) over every
combination of a grid of its settings, run in parallel, ranked.

The sweep is cut into pieces that know nothing of each other's machinery, so the same sweep
can run in a process pool on one machine (what `hedgehog sweep` does) or on a cluster. Each
piece is a module, and every public name stays importable from here:

- the plan (`sweep_plan`): `parse_grid(["profit_interval=0.001,0.002", ...]) -> Grid` and
  `parse_fixed(...)` read and validate the user's values (each through
  `TradingSettings.parse`: naive's own options), `sweep_params.parse_param_entries` reads
  any strategy's `--param key=v1,v2,...` (ranges `3..9`, `0.36:0.40:0.01`, exact),
  `plan(grid, fixed) -> list[Params]` is the cartesian product (pure: same input, same list,
  same order) and `check_plan(plan, filters, strategy=...)` parses every combination with the
  strategy and checks it against every symbol's exchange filters. All of it runs before any
  work starts.
- the data (`sweep_data`): `DataSpec` says how to *rebuild* the data (trade files to load, or
  the seeded synthetic market to generate) and carries the exchange filters and the name of
  the strategy (loaded by name in each process: `hedgehog.strategy.registry`). The data is
  built once per process and kept in a per-process cache (`load_data`), so a worker that runs
  many combinations loads the trades once.
- one run (here): `run_one(data_spec, params) -> dict` runs one backtest, as `hedgehog
  backtest --strategy S --param k=v ...` does (`prepare` builds its trades and config), and
  computes its metrics (`hedgehog.backtest.metrics`) there, so only a small row comes back.
  It is a pure function of picklable inputs (`Params` are the settings as text): any process
  anywhere can run it.
- the sweep (here, on `sweep_pool`): `run_sweep(plan, data_spec, executor_factory)` submits
  `run_one(data_spec, params)` for each combination to any `concurrent.futures.Executor` made
  by `executor_factory(data_spec)`, collects an `Outcome` per combination (a result, or the
  error of a combination that failed: the others still complete), and cancels everything
  cleanly on Ctrl-C. `process_pool(n)` is the local factory: a `ProcessPoolExecutor` of `n`
  spawned workers, each warmed by the worker initializer `warm_worker`, which loads the data
  before the first task arrives. A combination's result is exactly that of `hedgehog
  backtest` with the same settings (same `ledger_sha256`): the backtest is deterministic and
  each run gets its own runtime, exchange and ledger.
- the ranking (`sweep_rank`): `rank(outcomes, by)`, best first by one metric (net PnL by
  default; each metric with its direction, undefined values last, ties in plan order).

Ray (`sweep_ray`, the optional extra `hedgehog-bot[ray]`, `hedgehog sweep --ray ADDRESS`) is
another executor factory: `ray_pool(address)` makes a `concurrent.futures.Executor` whose
`submit` runs `run_one` as a Ray task. The plan, `run_one` and the ranking stay as they are.
The driver loads the trades once and `ray.put`s them (each task reads the numpy columns
zero-copy from the object store and seeds its process's cache with them: `preload`); a catalog
is streamed by each task (same path on every node). Results are plain dicts of str/int/float,
cheap to send back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

from hedgehog.backtest.runner import BacktestConfig, run_backtest
from hedgehog.backtest.source import TradeSource
from hedgehog.backtest.sweep_data import (
    DataSpec,
    SweepDataError,
    SweepError,
    load_data,
    sweep_input,
)
from hedgehog.backtest.sweep_data import LoadedData as LoadedData
from hedgehog.backtest.sweep_params import MAX_VALUES, parse_param_entries, settings_grid
from hedgehog.backtest.sweep_plan import (
    MAX_COMBINATIONS,
    SETTINGS,
    Grid,
    Params,
    check_plan,
    combinations,
    parse_fixed,
    parse_grid,
    plan,
)
from hedgehog.backtest.sweep_plan import describe as describe
from hedgehog.backtest.sweep_pool import (
    ExecutorFactory,
    Outcome,
    abort,
    cpu_count,
    outcome_of,
    process_pool,
    warm_worker,
)
from hedgehog.backtest.sweep_rank import (
    DEFAULT_RANK,
    LOWER_IS_BETTER,
    RANK_METRICS,
    SORT_KEYS,
    RankMetric,
    rank,
    rank_metric,
    total_pnl,
    value,
)
from hedgehog.backtest.sweep_rank import score as score
from hedgehog.market.tables import TradeTable
from hedgehog.strategy.registry import load_strategy


def prepare(
    data_spec: DataSpec, params: Mapping[str, str]
) -> tuple[Mapping[str, TradeTable] | TradeSource, BacktestConfig]:
    """The trades and the config of one combination's backtest, as `hedgehog backtest
    --strategy S --param k=v ...` builds them (files and synthetic data from this process's
    cache; a catalog streamed)."""
    data, _ = sweep_input(data_spec)
    filters = data_spec.filter_map
    strategy = load_strategy(data_spec.strategy)
    symbols = list(data) if isinstance(data, Mapping) else data.symbols
    settings = {s: strategy.parse_settings(s, params) for s in symbols}
    for symbol, st in settings.items():
        st.check_against(filters[symbol])
    config = BacktestConfig(settings, filters, strategy=strategy, every_tick=data_spec.every_tick)
    return data, config


def run_one(data_spec: DataSpec, params: Mapping[str, str]) -> dict[str, Any]:
    """Backtest one combination: `{"params": ..., "result": BacktestResult.as_json(),
    "metrics": the run's metrics, "symbols": each symbol's, "skipped_rows": n}` (the metrics
    of `hedgehog.backtest.metrics`, computed here so that only this small row goes back).
    Raises what the backtest raises (`SweepDataError`: the data)."""
    from hedgehog.backtest.metrics import compute  # matplotlib's import: workers only

    data, config = prepare(data_spec, params)
    result = asyncio.run(run_backtest(data, config))
    figures = compute(result, None, config).as_json()
    return {
        "params": dict(params),
        "result": result.as_json(),
        "metrics": figures["metrics"],
        "symbols": figures["symbols"],
        "skipped_rows": sweep_input(data_spec)[1] if data_spec.catalog is None else 0,
    }


def run_sweep(
    combos: Sequence[Params],
    data_spec: DataSpec,
    executor_factory: ExecutorFactory,
    progress: Callable[[Outcome], None] | None = None,
    max_in_flight: int = 1024,
) -> list[Outcome]:
    """Run every combination on an executor from `executor_factory(data_spec)`; the outcomes
    in plan order. A combination that raises is an `Outcome` with its error (the others still
    run); the data failing to load, or a worker dying, ends the sweep with `SweepError`; any
    exception (Ctrl-C's KeyboardInterrupt, or one raised by `progress`) cancels what is left,
    ends the workers and propagates. `progress` is called with each outcome as it comes."""
    outcomes: list[Outcome | None] = [None] * len(combos)
    if not combos:
        return []
    executor = executor_factory(data_spec)
    pending: dict[Future[dict[str, Any]], int] = {}
    todo: Iterator[tuple[int, Params]] = iter(enumerate(combos))

    def submit() -> None:
        while len(pending) < max(1, max_in_flight):
            nxt = next(todo, None)
            if nxt is None:
                return
            index, params = nxt
            pending[executor.submit(run_one, data_spec, params)] = index

    try:
        submit()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: pending[f]):
                index = pending.pop(future)
                outcome = outcome_of(index, combos[index], future)
                outcomes[index] = outcome
                if progress is not None:
                    progress(outcome)
            submit()
    except BaseException:
        abort(executor, pending)
        raise
    executor.shutdown(wait=True)
    return [o for o in outcomes if o is not None]


__all__ = [
    "DEFAULT_RANK",
    "LOWER_IS_BETTER",
    "MAX_COMBINATIONS",
    "MAX_VALUES",
    "RANK_METRICS",
    "SETTINGS",
    "SORT_KEYS",
    "DataSpec",
    "ExecutorFactory",
    "Grid",
    "Outcome",
    "Params",
    "RankMetric",
    "SweepDataError",
    "SweepError",
    "check_plan",
    "combinations",
    "cpu_count",
    "load_data",
    "parse_fixed",
    "parse_grid",
    "parse_param_entries",
    "plan",
    "prepare",
    "process_pool",
    "rank",
    "rank_metric",
    "run_one",
    "run_sweep",
    "settings_grid",
    "total_pnl",
    "value",
    "warm_worker",
]
