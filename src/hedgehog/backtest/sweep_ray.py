"""Sweeps on Ray: `ray_pool(address)` is an executor factory for `run_sweep` that runs each
combination as a Ray task (the optional extra `hedgehog-bot[ray]`).

The data is sent once, not once per task: for trade files and synthetic markets the driver
builds the tables once (`load_data`) and `ray.put`s them; every task gets the same object
reference, and Ray hands the numpy columns of each `TradeTable` to the task zero-copy from
its object store (one copy per node). A catalog is shared on disk, so its tasks stream it
themselves, as in the local pool. Each task runs `run_one` (the same function as the local
pool, so the same rows: the backtest is exact). `import ray` happens only here, inside
functions: nothing imports Ray unless `--ray` is given.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from concurrent.futures import BrokenExecutor, Executor, Future
from typing import Any

from hedgehog.backtest.sweep_data import DataSpec, LoadedData, SweepError, load_data, preload
from hedgehog.backtest.sweep_pool import ExecutorFactory
from hedgehog.core.errors import ConfigError

INSTALL_HINT = "pip install 'hedgehog-bot[ray]'"


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


class _RemoteTraceback(Exception):
    """The traceback of a run that failed in a Ray worker (the text of the failure)."""

    def __str__(self) -> str:
        return str(self.args[0])


def _task(spec: DataSpec, loaded: LoadedData | None, params: dict[str, str]) -> dict[str, Any]:
    """One combination in a Ray worker: the driver's tables (if any) seed this process's
    cache, then `run_one` as in the local pool."""
    from hedgehog.backtest.sweep import run_one

    if loaded is not None:
        preload(spec, loaded)
    return run_one(spec, params)


def connect(address: str) -> None:
    """Join the Ray cluster at `address` (`auto`: the one running here, `local`: start one
    in this process, else `HOST:PORT` or `ray://...`), unless already connected."""
    ray = _ray()
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    kwargs: dict[str, Any] = {
        "log_to_driver": False,
        "include_dashboard": False,
        "_node_ip_address": "127.0.0.1",
    }
    if address != "local":
        kwargs = {"address": address, "log_to_driver": False}
    try:
        ray.init(**kwargs)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise SweepError(f"--ray {address}: cannot connect to the Ray cluster: {exc}") from None


class RayExecutor(Executor):
    """A `concurrent.futures.Executor` over Ray tasks (only `run_one` is submitted to it)."""

    def __init__(self, spec: DataSpec, num_cpus: float = 1) -> None:
        ray = _ray()
        self._ray = ray
        self._remote = ray.remote(num_cpus=num_cpus, max_retries=0)(_task)
        self._spec_ref = ray.put(spec)
        loaded = None if spec.catalog is not None else load_data(spec)  # SweepDataError here
        self._data_ref = ray.put(loaded)
        self._refs: dict[Future[Any], Any] = {}

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        _spec, params = args
        ref = self._remote.remote(self._spec_ref, self._data_ref, dict(params))
        future: Future[Any] = Future()
        self._refs[future] = ref
        future.add_done_callback(self._forget)
        ref.future().add_done_callback(lambda done: self._settle(future, done))
        return future

    def _settle(self, future: Future[Any], done: Future[Any]) -> None:
        """Resolve `future` as a local pool would: the task's own exception (its traceback
        text as the cause), a lost worker or node as `BrokenExecutor`."""
        if future.cancelled() or not future.set_running_or_notify_cancel():
            return
        try:
            self._resolve(future, done)
        except BaseException as exc:  # never leave the sweep waiting on it
            if not future.done():
                future.set_exception(exc)

    def _resolve(self, future: Future[Any], done: Future[Any]) -> None:
        exc = None if done.cancelled() else done.exception()
        if exc is None and not done.cancelled():
            future.set_result(done.result())
            return
        errors = self._ray.exceptions
        if isinstance(exc, errors.RayTaskError) and isinstance(exc.cause, BaseException):
            cause = exc.cause
            text = f"Traceback (most recent call last, in a Ray worker):\n{exc}"
            cause.__cause__ = _RemoteTraceback(text)
            future.set_exception(cause)
        elif isinstance(exc, (errors.WorkerCrashedError, errors.NodeDiedError)):
            future.set_exception(BrokenExecutor(str(exc)))
        else:
            future.set_exception(exc or SweepError("a Ray task was cancelled"))

    def _forget(self, future: Future[Any]) -> None:
        if not future.cancelled():  # a cancelled run's ref stays, for ray.cancel
            self._refs.pop(future, None)

    def cancel(self, futures: Iterable[Future[Any]]) -> None:
        """Cancel these runs on the cluster (force: a running backtest is killed)."""
        for future in list(futures):
            ref = self._refs.pop(future, None)
            if ref is not None:
                with contextlib.suppress(Exception):  # it finished meanwhile
                    self._ray.cancel(ref, force=True)
            future.cancel()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if cancel_futures:
            self.cancel(list(self._refs))


def ray_pool(address: str = "auto") -> ExecutorFactory:
    """The Ray executor factory: connect to `address`, put the data once, run tasks."""

    def factory(spec: DataSpec) -> Executor:
        connect(address)
        return RayExecutor(spec)

    return factory


def cluster_cpus() -> int:
    """The CPUs of the connected cluster (the tasks that run at once)."""
    return int(_ray().cluster_resources().get("CPU", 1))


__all__ = ["INSTALL_HINT", "RayExecutor", "cluster_cpus", "connect", "ray_pool"]
