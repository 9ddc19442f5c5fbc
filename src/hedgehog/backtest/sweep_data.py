"""The data of a sweep: `DataSpec`, how to rebuild it in any process (with the filters and the
strategy the runs trade it with), and `load_data`, which builds it once per process and keeps it.

A worker of the pool (or of a cluster) gets only the picklable spec: trade files to load, or
the seeded synthetic market to generate, and the exchange filters. It builds the trades on its
first task and reuses them for every later one; a failed load is kept too, so a worker does not
retry it. Also the sweep's own errors, `SweepError` and `SweepDataError`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

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

    Either `files` (absolute paths of trade files or directories; `symbol` keeps one symbol)
    or `synthetic` (symbols of a seeded synthetic market of `trades` trades each, the i-th
    symbol with seed `seed + i`, as `hedgehog backtest --synthetic`). `filters` must cover
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


__all__ = ["DataSpec", "LoadedData", "SweepDataError", "SweepError", "load_data"]
