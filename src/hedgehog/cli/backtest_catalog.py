"""`hedgehog backtest --symbol S [--catalog DIR]`: the trades come from the Parquet catalog,
streamed a day at a time (`hedgehog.backtest.source_catalog`), the filters from the catalog's
exchangeInfo.json unless --exchange-info or --tick-size/--step-size say otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hedgehog.core.errors import ConfigError
from hedgehog.core.symbols import normalize_symbol

if TYPE_CHECKING:
    from hedgehog.backtest.source_catalog import CatalogSource
    from hedgehog.market.catalog import Catalog


def default_catalog_dir() -> Path:
    """The data directory's catalog (HEDGEHOG_DATA_DIR), where `data download` and `data
    import` write."""
    from pydantic import ValidationError

    from hedgehog.config import Settings

    try:
        return Path(Settings().data_dir) / "catalog"
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise ConfigError(f"bad setting HEDGEHOG_{where.upper()}: {problem['msg']}") from None


def catalog_source(
    catalog_dir: Path | None, symbols: str, start_ms: int | None, end_ms: int | None
) -> tuple[CatalogSource, Catalog]:
    """The catalog's trades of `symbols` (comma separated) in [start_ms, end_ms)."""
    from hedgehog.backtest.source_catalog import CatalogSource
    from hedgehog.market.catalog import Catalog

    if catalog_dir is not None and str(catalog_dir).startswith("-"):
        raise ConfigError(
            f"--catalog takes a directory, not {str(catalog_dir)!r}; leave --catalog out to "
            f"use the data directory's catalog ({default_catalog_dir()})"
        )
    root = default_catalog_dir() if catalog_dir is None else catalog_dir
    if not (root / "manifest.json").is_file():
        raise ConfigError(
            f"no catalog at {root} (no manifest.json): fill it with `hedgehog data download` "
            "or `hedgehog data import FILES`, or name another with --catalog DIR"
        )
    names = [normalize_symbol(s) for s in symbols.split(",") if s.strip()]
    if not names:
        raise ConfigError("--symbol names the catalog's symbols to backtest, e.g. XRPUSDT")
    catalog = Catalog(root)
    source = CatalogSource(catalog, names, start_ms, end_ms)
    if not source.days:
        raise ConfigError(f"no trades of {', '.join(names)} in {root} {_when(start_ms, end_ms)}")
    return source, catalog


def _when(start_ms: int | None, end_ms: int | None) -> str:
    from datetime import UTC, datetime

    def iso(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")

    parts = ([f"from {iso(start_ms)}"] if start_ms is not None else []) + (
        [f"before {iso(end_ms)}"] if end_ms is not None else []
    )
    return " ".join(parts) or "at all"


__all__ = ["catalog_source", "default_catalog_dir"]
