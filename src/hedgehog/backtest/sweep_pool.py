"""Where a sweep's runs execute: the local process pool and the handling of what comes back.

`process_pool(n)` is the local executor factory (spawned workers, born with Ctrl-C ignored and
warmed with the data by `warm_worker`); any other `concurrent.futures.Executor` works too (see
`hedgehog.backtest.sweep`). `outcome_of` turns a finished future into an `Outcome` (a result,
or one combination's error) and `abort` ends a pool at once when the sweep is stopped. None of
it knows what a run does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

from hedgehog.backtest.sweep_data import DataSpec, SweepDataError, SweepError, load_data
from hedgehog.backtest.sweep_plan import Params, describe
from hedgehog.core.errors import HedgehogError

ExecutorFactory = Callable[[DataSpec], Executor]


@dataclass(frozen=True)
class Outcome:
    """One combination's outcome: its `result` (`BacktestResult.as_json()`) with its
    `metrics` (the run's, `Metrics.as_json()`) and each symbol's (`symbols`), or its `error`."""

    index: int
    params: Params
    result: dict[str, Any] | None = None
    error: str | None = None
    detail: str | None = field(default=None, repr=False)  # the worker's traceback
    skipped_rows: int = 0
    metrics: dict[str, Any] | None = None
    symbols: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None


def cpu_count() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def warm_worker(spec: DataSpec) -> None:
    """Worker initializer: leave Ctrl-C to the parent (it cancels the sweep and ends the
    workers) and build the data before the first task. A load failure is kept and raised by
    the first `run_one`, so the parent reports it."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(SweepDataError):
        load_data(spec)


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


def outcome_of(index: int, params: Params, future: Future[dict[str, Any]]) -> Outcome:
    """The outcome of a finished run. Raises `SweepError` when the sweep cannot go on: the
    data failed to load, or a worker process died."""
    exc = future.exception()
    if exc is None:
        value = future.result()
        return Outcome(
            index,
            params,
            value["result"],
            skipped_rows=value.get("skipped_rows", 0),
            metrics=value.get("metrics"),
            symbols=value.get("symbols"),
        )
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


def abort(executor: Executor, pending: Iterable[Future[Any]]) -> None:
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


__all__ = [
    "ExecutorFactory",
    "Outcome",
    "abort",
    "cpu_count",
    "outcome_of",
    "process_pool",
    "warm_worker",
]
