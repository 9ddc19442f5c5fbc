"""The catalog's `manifest.json`: what each partition file holds and where it came from.

One JSON document at the catalog's root, rewritten whole and atomically (temp file, fsync,
`os.replace`) after every change, so a reader sees either the old or the new one. It records the
format version and the scale of prices and quantities, then per symbol and UTC day: rows, first
and last time, lowest and highest trade id, the file's size and sha256, and the sources (file
name and sha256) its rows came from. Totals (`Catalog.rows`, `days`, `symbols`) are answered
from it alone. `imported` maps each source's sha256 to the symbols taken from it (`*`: all),
which is how a re-import of the same file is recognised.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hedgehog.core.errors import DataError
from hedgehog.market.tables import SCALE

FORMAT = "hedgehog-trades-catalog"
VERSION = 1
DAY_MS = 86_400_000
ALL_SYMBOLS = "*"


def day_of(ms: int) -> date:
    """The UTC day of a time in milliseconds."""
    return datetime.fromtimestamp(ms // DAY_MS * 86_400, UTC).date()


def day_start_ms(day: date) -> int:
    """Midnight UTC starting `day`, in milliseconds."""
    return (day - date(1970, 1, 1)).days * DAY_MS


@dataclass(frozen=True, slots=True)
class Source:
    """A file (or a description, `sha256` None) that rows of a partition came from."""

    name: str
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Partition:
    """One symbol's trades of one UTC day: the manifest's entry for its Parquet file."""

    symbol: str
    day: date
    rows: int
    first_time: int
    last_time: int
    first_id: int  # the lowest trade id of the day
    last_id: int  # the highest
    bytes: int
    sha256: str
    sources: tuple[Source, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "first_time": self.first_time,
            "last_time": self.last_time,
            "first_id": self.first_id,
            "last_id": self.last_id,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "sources": [{"name": s.name, "sha256": s.sha256} for s in self.sources],
        }

    @classmethod
    def from_json(cls, symbol: str, day: str, data: dict[str, Any]) -> Partition:
        if not (symbol.isascii() and symbol.isalnum() and symbol.isupper()):
            raise ValueError(f"{symbol!r} is not a symbol")
        ints = ("rows", "first_time", "last_time", "first_id", "last_id", "bytes")
        values = {k: data[k] for k in ints}
        if not all(type(v) is int and v >= 0 for v in values.values()):
            raise ValueError(f"{symbol} {day}: {', '.join(ints)} must be whole numbers >= 0")
        if not isinstance(data["sha256"], str) or len(data["sha256"]) != 64:
            raise ValueError(f"{symbol} {day}: sha256 must be 64 hex digits")
        sources = tuple(Source(str(s["name"]), s.get("sha256")) for s in data["sources"])
        return cls(
            symbol, date.fromisoformat(day), sha256=data["sha256"], sources=sources, **values
        )


@dataclass(slots=True)
class Manifest:
    """Partitions by symbol and day, and the sources imported (sha256 -> symbols taken)."""

    partitions: dict[str, dict[date, Partition]] = field(default_factory=dict)
    imported: dict[str, list[str]] = field(default_factory=dict)

    def get(self, symbol: str, day: date) -> Partition | None:
        return self.partitions.get(symbol, {}).get(day)

    def put(self, part: Partition) -> None:
        """Add or replace a day's entry, keeping each symbol's days in order."""
        days = self.partitions.setdefault(part.symbol, {})
        in_order = part.day in days or not days or part.day > next(reversed(days))
        days[part.day] = part
        if not in_order:
            self.partitions[part.symbol] = dict(sorted(days.items()))

    def has_source(self, sha256: str, symbol: str | None) -> bool:
        """True when the source was imported before for `symbol` (None: for every symbol)."""
        taken = self.imported.get(sha256, [])
        return ALL_SYMBOLS in taken or (symbol is not None and symbol in taken)

    def add_source(self, sha256: str, symbol: str | None) -> None:
        taken = self.imported.setdefault(sha256, [])
        want = symbol or ALL_SYMBOLS
        if want not in taken:
            taken.append(want)
            taken.sort()

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "scale": SCALE,
            "partitions": {
                symbol: {d.isoformat(): p.to_json() for d, p in days.items()}
                for symbol, days in sorted(self.partitions.items())
            },
            "imported": dict(sorted(self.imported.items())),
        }

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f'not a hedgehog catalog manifest (no "format": "{FORMAT}")')
        if data.get("version") != VERSION:
            raise ValueError(
                f"manifest version {data.get('version')!r}; this hedgehog reads version {VERSION}"
            )
        if data.get("scale") != SCALE:
            raise ValueError(f"scale {data.get('scale')!r}, expected {SCALE} (8 decimals)")
        manifest = cls()
        for symbol, days in data["partitions"].items():
            for day, entry in days.items():
                manifest.put(Partition.from_json(symbol, day, entry))
        manifest.imported = {str(k): [str(s) for s in v] for k, v in data["imported"].items()}
        return manifest

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """The manifest at `path`; an empty one when the file does not exist yet."""
        try:
            text = path.read_text()
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            raise DataError(f"cannot read the catalog manifest {path}: {exc.strerror}") from None
        try:
            return cls.from_json(json.loads(text))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise DataError(
                f"corrupt catalog manifest {path}: {what}; restore it or re-import the data "
                "into a new catalog"
            ) from None

    def save(self, path: Path) -> None:
        text = json.dumps(self.to_json(), separators=(",", ":")) + "\n"  # C encoder: fast
        write_atomically(path, text.encode())


def write_atomically(path: Path, data: bytes) -> None:
    """Write `path` through a temporary file beside it, fsynced, then `os.replace`d."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
