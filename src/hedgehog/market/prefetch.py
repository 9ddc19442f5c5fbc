"""Start reading trade files while the command line is still starting up.

A first `hedgehog backtest DAY.zip` spends about 0.4 s importing (typer, polars, the engine),
holding the GIL, before it opens the file. Inflating (ISA-L) and parsing (polars) release
the GIL, so the command line names its files here as soon as it sees them and one background
thread inflates, recognises and fast-parses them meanwhile; `load_trades` then takes the
result instead of starting over. Nothing here decides anything: a file that changed since
(size or mtime), one not reached yet, or one that failed in any way is simply loaded again by
the loader, which reports errors as usual. Bounded by `BUDGET` compressed bytes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hedgehog.market.inflate import SUFFIXES, read_csv_bytes

if TYPE_CHECKING:
    import polars as pl

    from hedgehog.market.csv_parse import Format

    Ready = tuple[bytes, tuple[Format, bool] | None, pl.DataFrame | None]

BUDGET = 256 * 2**20  # compressed bytes read ahead at most (a busy day's zip is ~20 MB)

_lock = threading.Lock()
_pending: dict[Path, tuple[tuple[int, int], Future[Any]]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def start(args: Iterable[str], budget: int = BUDGET) -> int:
    """Read ahead those of `args` that are trade files, in one daemon thread; how many."""
    jobs: list[tuple[Path, Future[Any]]] = []
    total = 0
    with _lock:
        for arg in args:
            path = Path(arg)
            if not arg.endswith(SUFFIXES) or not path.is_file():
                continue
            path, stamp = path.resolve(), _stamp(path)
            total += stamp[0]
            if total > budget or path in _pending:
                break
            future: Future[Any] = Future()
            _pending[path] = (stamp, future)
            jobs.append((path, future))
    if jobs:
        threading.Thread(target=_work, args=(jobs,), name="prefetch", daemon=True).start()
    return len(jobs)


def _work(jobs: list[tuple[Path, Future[Any]]]) -> None:
    for path, future in jobs:
        if not future.set_running_or_notify_cancel():
            continue  # the loader got there first
        try:
            future.set_result(_prepare(path))
        except BaseException:  # the loader redoes the file and reports what is wrong
            future.set_result(None)


def _prepare(path: Path) -> Ready:
    data = read_csv_bytes(path)  # inflating releases the GIL: overlaps the imports
    from hedgehog.market.csv_parse import detect, fast_parse

    found = detect(data)
    return data, found, fast_parse(data, *found) if found else None


def take(path: Path) -> Ready | None:
    """The read-ahead of `path` if it is done or under way and the file is unchanged."""
    key = Path(os.path.abspath(path)).resolve()
    with _lock:
        entry = _pending.pop(key, None)
    if entry is None:
        return None
    stamp, future = entry
    if future.cancel():  # not started yet: the loader's own threads are as quick
        return None
    ready: Ready | None = future.result()
    try:
        return ready if ready is not None and _stamp(key) == stamp else None
    except OSError:
        return None


def clear() -> None:
    """Forget every read-ahead not taken (files the loader skipped)."""
    with _lock:
        entries = list(_pending.values())
        _pending.clear()
    for _, future in entries:
        future.cancel()
