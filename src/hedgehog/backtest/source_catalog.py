"""Trades streamed from the Parquet catalog (`hedgehog.market.catalog`), a UTC day at a time.

A chunk is one day of every symbol asked for, cut to the time range: the catalog keeps a file
per symbol and day, so a backtest over a year holds one day in memory (and the next, read
ahead in a thread while the current one replays: Parquet decoding releases the GIL).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date

from hedgehog.backtest.source import Chunk
from hedgehog.core.errors import DataError
from hedgehog.market.catalog import Catalog
from hedgehog.market.catalog_manifest import DAY_MS, day_start_ms


class CatalogSource:
    """`symbols`' trades in the catalog with start_ms <= time < end_ms (None: unbounded)."""

    def __init__(
        self,
        catalog: Catalog,
        symbols: Sequence[str],
        start_ms: int | None = None,
        end_ms: int | None = None,
        read_ahead: bool = True,
    ) -> None:
        self.catalog = catalog
        self._symbols = sorted({s.upper() for s in symbols})
        if not self._symbols:
            raise DataError("name at least one symbol of the catalog (--symbol)")
        self.start_ms, self.end_ms = start_ms, end_ms
        self.read_ahead = read_ahead
        manifest = catalog.manifest()
        missing = [s for s in self._symbols if not manifest.partitions.get(s)]
        if missing:
            have = ", ".join(catalog.symbols()) or "none"
            raise DataError(
                f"no trades of {', '.join(missing)} in the catalog {catalog.root} (symbols: "
                f"{have}); import them with `hedgehog data import` or `hedgehog data download`"
            )
        self.days = sorted(
            {d for s in self._symbols for d in manifest.partitions[s] if self._overlaps(d)}
        )
        self._parts = {(s, d): p for s in self._symbols for d, p in manifest.partitions[s].items()}

    @property
    def symbols(self) -> list[str]:
        return list(self._symbols)

    def _overlaps(self, day: date) -> bool:
        start = day_start_ms(day)
        lo = self.start_ms if self.start_ms is not None else start
        hi = self.end_ms if self.end_ms is not None else start + DAY_MS
        return start < hi and start + DAY_MS > lo

    def _whole(self, day: date) -> bool:
        start = day_start_ms(day)
        return (self.start_ms is None or self.start_ms <= start) and (
            self.end_ms is None or start + DAY_MS <= self.end_ms
        )

    def count(self) -> int:
        """The trades in range: the manifest's counts, the two edge days read to cut them."""
        total = 0
        for day in self.days:
            if self._whole(day):
                total += sum(p.rows for s in self._symbols if (p := self._parts.get((s, day))))
            else:
                total += sum(len(t) for t in self._day(day).values())
        return total

    def _day(self, day: date) -> Chunk:
        start = day_start_ms(day)
        lo = start if self.start_ms is None else max(start, self.start_ms)
        hi = start + DAY_MS if self.end_ms is None else min(start + DAY_MS, self.end_ms)
        chunk: Chunk = {}
        for s in self._symbols:
            part = self._parts.get((s, day))
            if part is not None:
                chunk[s] = self.catalog.read_part(part, lo, hi)
        return chunk

    def chunks(self) -> Iterator[Chunk]:
        """A chunk per day, in day order (the next one read ahead while this one replays)."""
        if not self.read_ahead:
            for day in self.days:
                yield self._day(day)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="catalog-read") as pool:
            pending: Future[Chunk] | None = None
            for i, day in enumerate(self.days):
                current = pending.result() if pending is not None else self._day(day)
                pending = (
                    pool.submit(self._day, self.days[i + 1]) if i + 1 < len(self.days) else None
                )
                yield current


__all__ = ["CatalogSource"]
