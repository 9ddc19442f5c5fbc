"""The data of a sweep: `DataSpec`, how to rebuild it in any process (with the filters and the
strategy the runs trade it with), and `load_data`, which builds it once per process and keeps it.

A worker of the pool (or of a cluster) gets only the picklable spec: trade files to load, or
the seeded synthetic market to generate, and the exchange filters. It builds the trades on its
first task and reuses them for every later one; a failed load is kept too, so a worker does not
retry it. Also the sweep's own errors, `SweepError` and `SweepDataError`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hedgehog.backtest.source import TradeSource, window
from hedgehog.core.errors import DataError, HedgehogError
from hedgehog.core.filters import SymbolFilters
from hedgehog.market.synthetic import synthetic_trades
from hedgehog.market.tables import TradeTable


class SweepError(HedgehogError):
    """The sweep as a whole cannot go on (not one combination's failure)."""


class SweepDataError(SweepError, DataError):
    """The data of the sweep cannot be loaded or generated (in a worker)."""


@dataclass(frozen=True)
class DataSpec:
    """How to rebuild a sweep's data in any process, and the exchange filters to trade on.

    Either `files` (absolute paths of trade files or directories; `symbol` keeps one symbol),
    `synthetic` (symbols of a seeded synthetic market of `trades` trades each, the i-th
    symbol with seed `seed + i`, as `hedgehog backtest --synthetic`) or `catalog` (the
    absolute path of a Parquet catalog: `catalog_symbols` in [start_ms, end_ms), streamed by
    every run, so memory does not grow with the span). `files` and `synthetic` may also be
    cut to [start_ms, end_ms). `filters` must cover
    every symbol of the data; `every_tick` replays without skip-ahead (same results).
    `strategy` is what runs on the data, as `--strategy` names it (None: naive): a name, not
    the object, so that any process can load it (`hedgehog.strategy.registry`)."""

    filters: tuple[SymbolFilters, ...]
    files: tuple[str, ...] = ()
    symbol: str | None = None
    skip_bad_rows: bool = False
    synthetic: tuple[str, ...] = ()
    trades: int = 100_000
    seed: int = 1
    every_tick: bool = False
    strategy: str | None = None
    catalog: str | None = None
    catalog_symbols: tuple[str, ...] = ()
    start_ms: int | None = None
    end_ms: int | None = None

    @property
    def source(self) -> tuple[Any, ...]:
        """What determines the data (the cache key)."""
        span = (self.start_ms, self.end_ms)
        if self.synthetic:
            return ("synthetic", self.synthetic, self.trades, self.seed, span)
        return ("files", self.files, self.symbol, self.skip_bad_rows, span)

    @property
    def filter_map(self) -> dict[str, SymbolFilters]:
        return {f.symbol: f for f in self.filters}


@dataclass(frozen=True)
class LoadedData:
    tables: dict[str, TradeTable]
    skipped_rows: int = 0


_cache: dict[tuple[Any, ...], LoadedData | SweepDataError] = {}
_cache_lock = threading.Lock()


def sweep_input(spec: DataSpec) -> tuple[Mapping[str, TradeTable] | TradeSource, int]:
    """What one run replays and the rows skipped loading it: the catalog streamed (a
    `CatalogSource`, read again by each run), else the tables of `load_data`."""
    if spec.catalog is None:
        loaded = load_data(spec)
        return loaded.tables, loaded.skipped_rows
    from hedgehog.backtest.source_catalog import CatalogSource
    from hedgehog.market.catalog import Catalog

    try:
        source = CatalogSource(
            Catalog(Path(spec.catalog)), spec.catalog_symbols, spec.start_ms, spec.end_ms
        )
    except HedgehogError as exc:
        raise SweepDataError(str(exc)) from None
    missing = sorted(set(source.symbols) - set(spec.filter_map))
    if missing:
        raise SweepDataError(f"no exchange filters for {', '.join(missing)} of the catalog")
    return source, 0


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


def preload(spec: DataSpec, loaded: LoadedData) -> None:
    """Keep `loaded` as this process's data of `spec` (built elsewhere: a Ray worker gets
    the driver's tables from the object store instead of loading the files again)."""
    with _cache_lock:
        if _cache.get(spec.source) is not loaded:
            _cache.clear()
            _cache[spec.source] = loaded


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
    if spec.start_ms is not None or spec.end_ms is not None:
        cut = {s: window(t, spec.start_ms, spec.end_ms) for s, t in loaded.tables.items()}
        if not any(len(t) for t in cut.values()):
            raise SweepDataError("no trades in the time range given (--from/--to)")
        loaded = LoadedData(cut, loaded.skipped_rows)
    missing = sorted(set(loaded.tables) - set(spec.filter_map))
    if missing:
        raise SweepDataError(
            f"the data holds trades of {', '.join(missing)}, which the sweep has no exchange "
            "filters for; pass --symbol"
        )
    return loaded


__all__ = [
    "DataSpec",
    "LoadedData",
    "SweepDataError",
    "SweepError",
    "load_data",
    "preload",
    "sweep_input",
]
