"""Parameter sweeps: the naive strategy's backtest over every combination of a grid of
settings, run in parallel, ranked.

The sweep is cut into pieces that know nothing of each other's machinery, so the same sweep
can run in a process pool on one machine (what `hedgehog sweep` does) or on a cluster:

- `parse_grid(["profit_interval=0.001,0.002", ...]) -> Grid` and `parse_fixed(...)` read and
  validate the user's values (each through `TradingSettings.parse`), `plan(grid, fixed) ->
  list[Params]` is the cartesian product (pure: same input, same list, same order) and
  `check_plan(plan, filters)` checks every combination against every symbol's exchange
  filters. All of it runs before any work starts.
- `run_one(data_spec, params) -> dict` runs one backtest. It is a pure function of picklable
  inputs: `DataSpec` says how to *rebuild* the data (trade files to load, or the seeded
  synthetic market to generate) and carries the exchange filters; `Params` are the settings as
  text. Any process anywhere can run it. The data is built once per process and kept in a
  per-process cache (`load_data`), so a worker that runs many combinations loads the trades
  once; a worker initializer (`warm_worker`) loads them before the first task arrives.
- `run_sweep(plan, data_spec, executor_factory)` submits `run_one(data_spec, params)` for each
  combination to any `concurrent.futures.Executor` made by `executor_factory(data_spec)`,
  collects an `Outcome` per combination (a result, or the error of a combination that failed:
  the others still complete), and cancels everything cleanly on Ctrl-C. `process_pool(n)` is
  the local factory: a `ProcessPoolExecutor` of `n` spawned workers, each warmed by
  `warm_worker`. A combination's result is exactly that of `hedgehog backtest` with the same
  settings (same `ledger_sha256`): the backtest is deterministic and each run gets its own
  runtime, exchange and ledger.

Running on Ray later (Ray is not a dependency) needs only another executor factory; the plan,
`run_one` and the ranking stay as they are. Two ways:

1. A `concurrent.futures`-compatible wrapper: Ray's `ObjectRef.future()` is a
   `concurrent.futures.Future`, so::

       class RayExecutor(concurrent.futures.Executor):
           def __init__(self, data_spec: DataSpec) -> None:
               self._run = ray.remote(num_cpus=1)(run_one)
               self._spec = ray.put(data_spec)  # shipped to the cluster once

           def submit(self, fn, /, *args, **kwargs):
               assert fn is run_one
               return self._run.remote(self._spec, *args[1:]).future()

           def shutdown(self, wait=True, *, cancel_futures=False):
               ...  # ray.cancel() the refs still running when cancel_futures

       run_sweep(combos, spec, RayExecutor)

   Ray reuses its worker processes, so `load_data`'s per-process cache makes each worker
   load the trades once, like the local pool (`ray.remote(...).options(...)` or an actor
   per node could pin that further).
2. `ray.util.multiprocessing.Pool(initializer=warm_worker, initargs=(spec,))`: a
   multiprocessing-style pool; wrap its `apply_async(run_one, (spec, params))` in an Executor
   whose `submit` resolves a `Future` from the async result's callbacks.

Either way the data must be reachable from every node: `DataSpec.files` are absolute paths
(a shared filesystem, or copy them), while a synthetic market is regenerated anywhere from its
seed. Results are plain dicts of str/int, cheap to send back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    wait,
)
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

from hedgehog.backtest.runner import BacktestConfig, run_backtest
from hedgehog.core.errors import ConfigError, DataError, HedgehogError
from hedgehog.core.filters import SymbolFilters
from hedgehog.market.synthetic import synthetic_trades
from hedgehog.market.tables import TradeTable
from hedgehog.naive.settings import TradingSettings

SETTINGS = ("chunks", "budget", "buy_down_interval", "profit_interval", "rebuy_interval", "fee")
"""The settings a sweep can vary (or fix), in their canonical order."""
SORT_KEYS = ("realised_pnl", "total_pnl", "cycles_completed")
MAX_COMBINATIONS = 10_000
"""More combinations than this need an explicit yes (`hedgehog sweep --yes`)."""

Params = dict[str, str]
"""One combination: setting name -> its text (e.g. {"chunks": "5", "fee": "0.001"})."""
Grid = dict[str, tuple[str, ...]]
"""Setting name -> the values to try, in the order given."""
ExecutorFactory = Callable[["DataSpec"], Executor]

_PLACEHOLDER = "SWEEP"


class SweepError(HedgehogError):
    """The sweep as a whole cannot go on (not one combination's failure)."""


class SweepDataError(SweepError, DataError):
    """The data of the sweep cannot be loaded or generated (in a worker)."""


# ----------------------------------------------------------------------------- the plan


def parse_grid(entries: Sequence[str]) -> Grid:
    """Read `--grid` entries `name=v1,v2,...` (`-` or `_` in names) into a grid, each value
    validated through `TradingSettings.parse` and kept as given. Raises `ConfigError` naming
    the entry at fault: a bad name or value, a name given twice, a value given twice."""
    grid: Grid = {}
    for entry in entries:
        name, sep, values = entry.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not sep or not name:
            raise ConfigError(f"--grid {entry!r}: expected NAME=V1,V2,... (e.g. chunks=3,5)")
        if name not in SETTINGS:
            raise ConfigError(
                f"--grid {entry!r}: unknown setting {name!r}; choose from {', '.join(SETTINGS)}"
            )
        if name in grid:
            raise ConfigError(f"--grid {entry!r}: {name} is already given by another --grid")
        texts = [v.strip() for v in values.split(",")]
        if not values.strip() or any(not t for t in texts):
            raise ConfigError(f"--grid {entry!r}: empty value; give NAME=V1,V2,...")
        seen: dict[str, str] = {}
        for text in texts:
            _, canonical = _checked(name, text, f"--grid {entry!r}")
            if canonical in seen:
                raise ConfigError(
                    f"--grid {entry!r}: {text} is the same value as {seen[canonical]}; "
                    "give each value once"
                )
            seen[canonical] = text
        grid[name] = tuple(seen.values())
    return grid


def parse_fixed(values: Mapping[str, object | None]) -> Params:
    """The settings every combination shares (None: the default), validated."""
    fixed: Params = {}
    for name, value in values.items():
        if value is None:
            continue
        if name not in SETTINGS:
            raise ConfigError(f"unknown setting {name!r}; choose from {', '.join(SETTINGS)}")
        fixed[name] = _checked(name, value, f"--{name.replace('_', '-')}")[0]
    return fixed


def _checked(name: str, value: object, where: str) -> tuple[str, str]:
    """`value` of setting `name` validated through `TradingSettings.parse`: (its text, as
    given but stripped, which is what the runs parse; its canonical text, which tells equal
    values apart, e.g. 0.0010 and 0.001)."""
    text = str(value).strip()
    try:
        settings = TradingSettings.parse(_PLACEHOLDER, **{name: text})
    except ConfigError as exc:
        raise ConfigError(f"{where}: {str(exc).removeprefix(f'{_PLACEHOLDER}: ')}") from None
    return text, str(settings.as_dict()[name])


def combinations(grid: Mapping[str, Sequence[str]]) -> int:
    """How many combinations the grid makes (1 for an empty grid)."""
    n = 1
    for values in grid.values():
        n *= len(values)
    return n


def plan(grid: Mapping[str, Sequence[str]], fixed: Mapping[str, str] | None = None) -> list[Params]:
    """Every combination of the grid's values, each with the fixed settings, as `Params` in
    canonical setting order. The first grid entry varies slowest. Pure."""
    fixed = dict(fixed or {})
    both = [name for name in grid if name in fixed]
    if both:
        raise ConfigError(
            f"{', '.join(both)} given both as a fixed setting and in --grid; give it once"
        )
    names = list(grid)
    combos: list[Params] = []
    for values in itertools.product(*(grid[n] for n in names)):
        merged = {**fixed, **dict(zip(names, values, strict=True))}
        combos.append({n: merged[n] for n in SETTINGS if n in merged})
    return combos


def check_plan(
    combos: Sequence[Params], filters: Mapping[str, SymbolFilters], shown: Sequence[str] = ()
) -> None:
    """Check every combination against every symbol's exchange filters (each chunk must reach
    min notional); raise `ConfigError` naming the first bad combination (by its `shown`
    settings, all of them when empty) and how many more are bad."""
    checked: dict[tuple[str, ...], str | None] = {}
    first: tuple[Params, str] | None = None
    bad = 0
    for params in combos:
        key = tuple(params.get(n, "") for n in SETTINGS)
        if key not in checked:
            checked[key] = _problem(params, filters)
        problem = checked[key]
        if problem is not None:
            bad += 1
            first = first or (params, problem)
    if first is not None:
        params, problem = first
        names = list(shown) or list(params)
        what = ", ".join(f"{n}={params[n]}" for n in names if n in params) or "default settings"
        more = f" (and {bad - 1} more bad combinations)" if bad > 1 else ""
        raise ConfigError(f"combination {what}: {problem}{more}")


def _problem(params: Params, filters: Mapping[str, SymbolFilters]) -> str | None:
    try:
        for symbol, flt in filters.items():
            TradingSettings.parse(symbol, **params).check_against(flt)
    except ConfigError as exc:
        return str(exc)
    return None


# ----------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class DataSpec:
    """How to rebuild a sweep's data in any process, and the exchange filters to trade on.

    Either `files` (absolute paths of trade files or directories; `symbol` keeps one symbol)
    or `synthetic` (symbols of a seeded synthetic market of `trades` trades each, the i-th
    symbol with seed `seed + i`, as `hedgehog backtest --synthetic`). `filters` must cover
    every symbol of the data; `every_tick` replays without skip-ahead (same results)."""

    filters: tuple[SymbolFilters, ...]
    files: tuple[str, ...] = ()
    symbol: str | None = None
    skip_bad_rows: bool = False
    synthetic: tuple[str, ...] = ()
    trades: int = 100_000
    seed: int = 1
    every_tick: bool = False

    @property
    def source(self) -> tuple[Any, ...]:
        """What determines the data (the cache key)."""
        if self.synthetic:
            return ("synthetic", self.synthetic, self.trades, self.seed)
        return ("files", self.files, self.symbol, self.skip_bad_rows)

    @property
    def filter_map(self) -> dict[str, SymbolFilters]:
        return {f.symbol: f for f in self.filters}


@dataclass(frozen=True)
class LoadedData:
    tables: dict[str, TradeTable]
    skipped_rows: int = 0


_cache: dict[tuple[Any, ...], LoadedData | SweepDataError] = {}
_cache_lock = threading.Lock()


def load_data(spec: DataSpec) -> LoadedData:
    """The spec's data, built once per process (the last spec's data is kept; a failure is
    kept too, so a worker does not retry a load that failed). Raises `SweepDataError`."""
    key = spec.source
    with _cache_lock:
        found = _cache.get(key)
        if found is None:
            try:
                found = _build(spec)
            except SweepDataError as exc:
                found = exc
            except Exception as exc:
                found = SweepDataError(f"cannot load the data of the sweep: {exc}")
            _cache.clear()
            _cache[key] = found
    if isinstance(found, SweepDataError):
        raise found
    return found


def _build(spec: DataSpec) -> LoadedData:
    if spec.synthetic:
        tables = {
            s: synthetic_trades(s, spec.trades, spec.seed + i) for i, s in enumerate(spec.synthetic)
        }
        loaded = LoadedData(tables)
    else:
        from hedgehog.market.loaders import load_trades

        try:
            result = load_trades(
                list(spec.files), symbol=spec.symbol, skip_bad_rows=spec.skip_bad_rows
            )
        except HedgehogError as exc:
            raise SweepDataError(str(exc)) from None
        loaded = LoadedData(result.tables, result.skipped_rows)
    missing = sorted(set(loaded.tables) - set(spec.filter_map))
    if missing:
        raise SweepDataError(
            f"the data holds trades of {', '.join(missing)}, which the sweep has no exchange "
            "filters for; pass --symbol"
        )
    return loaded


def warm_worker(spec: DataSpec) -> None:
    """Worker initializer: leave Ctrl-C to the parent (it cancels the sweep and ends the
    workers) and build the data before the first task. A load failure is kept and raised by
    the first `run_one`, so the parent reports it."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(SweepDataError):
        load_data(spec)


# ----------------------------------------------------------------------------- the runs


def run_one(data_spec: DataSpec, params: Mapping[str, str]) -> dict[str, Any]:
    """Backtest one combination: `{"params": ..., "result": BacktestResult.as_json(),
    "skipped_rows": n}`. Raises what the backtest raises (`SweepDataError`: the data)."""
    data = load_data(data_spec)
    filters = data_spec.filter_map
    settings = {s: TradingSettings.parse(s, **params) for s in data.tables}
    for symbol, st in settings.items():
        st.check_against(filters[symbol])
    config = BacktestConfig(settings, filters, every_tick=data_spec.every_tick)
    result = asyncio.run(run_backtest(data.tables, config))
    return {"params": dict(params), "result": result.as_json(), "skipped_rows": data.skipped_rows}


@dataclass(frozen=True)
class Outcome:
    """One combination's outcome: its `result` (`BacktestResult.as_json()`), or its `error`."""

    index: int
    params: Params
    result: dict[str, Any] | None = None
    error: str | None = None
    detail: str | None = field(default=None, repr=False)  # the worker's traceback
    skipped_rows: int = 0

    @property
    def ok(self) -> bool:
        return self.result is not None


def cpu_count() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _WorkerProcess(SpawnProcess):
    """A spawned process born with Ctrl-C ignored: the terminal sends SIGINT to the whole
    process group, and the parent alone handles it (it cancels the sweep and ends the
    workers), so a worker still starting up prints no KeyboardInterrupt traceback."""

    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            super().start()
            return
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited through exec
        try:
            super().start()
        finally:
            signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


class _WorkerContext(SpawnContext):
    Process = _WorkerProcess


def process_pool(workers: int | None = None) -> ExecutorFactory:
    """The local executor factory: `workers` (default: every core) spawned processes, each
    warmed with the sweep's data by `warm_worker`. Spawned, not forked: a fork of a process
    running polars' or numpy's threads may deadlock."""

    def factory(spec: DataSpec) -> Executor:
        return ProcessPoolExecutor(
            max_workers=workers or cpu_count(),
            mp_context=_WorkerContext(),
            initializer=warm_worker,
            initargs=(spec,),
        )

    return factory


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
                outcome = _outcome(index, combos[index], future)
                outcomes[index] = outcome
                if progress is not None:
                    progress(outcome)
            submit()
    except BaseException:
        _abort(executor, pending)
        raise
    executor.shutdown(wait=True)
    return [o for o in outcomes if o is not None]


def _outcome(index: int, params: Params, future: Future[dict[str, Any]]) -> Outcome:
    exc = future.exception()
    if exc is None:
        value = future.result()
        return Outcome(index, params, value["result"], skipped_rows=value.get("skipped_rows", 0))
    if isinstance(exc, SweepError):
        raise exc
    if isinstance(exc, BrokenExecutor):
        raise SweepError(
            f"a worker process died while running {describe(params)} ({exc}); out of memory?"
        ) from None
    message = str(exc) if isinstance(exc, HedgehogError) else f"{type(exc).__name__}: {exc}"
    cause = exc.__cause__  # concurrent.futures keeps the worker's traceback text here
    detail = str(cause) if cause is not None else "".join(traceback.format_exception(exc))
    return Outcome(index, params, error=message, detail=detail)


def _abort(executor: Executor, pending: Iterable[Future[Any]]) -> None:
    """Cancel what has not started and end the workers now (their runs are thrown away)."""
    terminate = getattr(executor, "terminate_workers", None)  # Python 3.14
    if callable(terminate):  # pragma: no cover - newer Python
        for future in pending:
            future.cancel()
        terminate()
        executor.shutdown(wait=True, cancel_futures=True)
        return
    processes = list((getattr(executor, "_processes", None) or {}).values())
    if not processes:
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)
        return
    # A ProcessPoolExecutor: its manager thread cancels the queued work itself (and forgets
    # it). Cancelling those futures here instead races with the pool noticing its terminated
    # workers: on Python 3.11 it then sets an exception on a cancelled future and its thread
    # dies with InvalidStateError. It forgets its processes on shutdown: take them first.
    manager = getattr(executor, "_executor_manager_thread", None)
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)
    if manager is not None:
        manager.join(timeout=5)


# ----------------------------------------------------------------------------- the ranking


def describe(params: Mapping[str, str], names: Sequence[str] = ()) -> str:
    """`name=value, ...` of `names` (all of them when empty)."""
    shown = list(names) or list(params)
    return ", ".join(f"{n}={params[n]}" for n in shown if n in params) or "default settings"


def total_pnl(result: Mapping[str, Any]) -> Decimal:
    return Decimal(result["realised_pnl"]) + Decimal(result["unrealised_pnl"])


def score(result: Mapping[str, Any], by: str) -> Decimal:
    """The value that ranks a result (higher is better)."""
    if by == "total_pnl":
        return total_pnl(result)
    if by == "realised_pnl":
        return Decimal(result["realised_pnl"])
    if by == "cycles_completed":
        return Decimal(int(result["cycles_completed"]))
    raise ConfigError(f"cannot sort by {by!r}; choose from {', '.join(SORT_KEYS)}")


def rank(outcomes: Sequence[Outcome], by: str = "realised_pnl") -> list[Outcome]:
    """The successful outcomes, best first by `by`; ties keep plan order."""
    if by not in SORT_KEYS:
        raise ConfigError(f"cannot sort by {by!r}; choose from {', '.join(SORT_KEYS)}")
    ok = [o for o in outcomes if o.result is not None]
    return sorted(ok, key=lambda o: (-score(o.result or {}, by), o.index))


__all__ = [
    "MAX_COMBINATIONS",
    "SETTINGS",
    "SORT_KEYS",
    "DataSpec",
    "ExecutorFactory",
    "Grid",
    "Outcome",
    "Params",
    "SweepDataError",
    "SweepError",
    "check_plan",
    "combinations",
    "cpu_count",
    "load_data",
    "parse_fixed",
    "parse_grid",
    "plan",
    "process_pool",
    "rank",
    "run_one",
    "run_sweep",
    "warm_worker",
]
