"""`SettingsRepo`: the book's settings table (`trading_settings`), one row per symbol.

Seeding from the exchange's info inserts every symbol with the default settings and status
`off` and leaves existing rows alone. Updates go through `TradingSettings.parse` (and
`check_against` the symbol's filters when given): an invalid value raises `ConfigError` and
nothing is stored. A row edited by hand into nonsense (a budget of "abc") fails only when that
symbol is read, with a `CorruptRow` naming the symbol and the column; an update of that column
repairs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hedgehog.core.errors import ConfigError
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.symbols import normalize_symbol
from hedgehog.naive.settings import DECIMAL_FIELDS, TradingSettings
from hedgehog.store.db import Database, insert_or_ignore
from hedgehog.store.errors import CorruptRow
from hedgehog.store.models import (
    TRADING_STATUSES,
    TradingSettingsRow,
    dec_text,
    parse_dec,
    utcnow,
)

COLUMNS = ("chunks", *DECIMAL_FIELDS)


@dataclass(frozen=True, slots=True)
class SymbolSettings:
    """A symbol's stored trading settings and status (on, off or shutdown)."""

    settings: TradingSettings
    status: str
    created_at: datetime
    updated_at: datetime

    @property
    def symbol(self) -> str:
        return self.settings.symbol


class SettingsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def seed_from_exchange_info(
        self, symbols: Mapping[str, SymbolFilters], defaults: Mapping[str, Any] | None = None
    ) -> int:
        """Insert every symbol not stored yet (defaults, status off); return how many."""
        template = TradingSettings.parse("SEED", **dict(defaults or {}))
        names = sorted({normalize_symbol(s) for s in symbols})

        def seed(session: Session) -> int:
            stored = set(session.scalars(select(TradingSettingsRow.symbol)))
            now = utcnow()
            rows = [
                {**_columns(replace(template, symbol=name)), "symbol": name, "status": "off"}
                | {"created_at": now, "updated_at": now}
                for name in names
                if name not in stored
            ]
            if rows:
                session.execute(insert_or_ignore(session, TradingSettingsRow, "symbol"), rows)
            return len(rows)

        return await self.db.run(seed)

    async def get(self, symbol: str) -> SymbolSettings:
        """The symbol's settings; `ConfigError` if unknown, `CorruptRow` if unreadable."""
        name = normalize_symbol(symbol)
        return await self.db.run(lambda session: _read(_row(session, name)))

    async def all(self) -> list[SymbolSettings]:
        """Every symbol's settings, by symbol (`CorruptRow` if any row is unreadable)."""

        def read(session: Session) -> list[SymbolSettings]:
            query = select(TradingSettingsRow).order_by(TradingSettingsRow.symbol)
            return [_read(row) for row in session.scalars(query)]

        return await self.db.run(read)

    async def update(
        self, symbol: str, filters: SymbolFilters | None = None, /, **values: Any
    ) -> SymbolSettings:
        """Change some settings of a stored symbol; validated first, nothing stored if invalid.
        `values` may come straight from a client: only the known settings are accepted (any
        other key, even "filters" or "self", is a `ConfigError`), each bounded by `parse`."""
        name = normalize_symbol(symbol)
        given = {k: v for k, v in values.items() if v is not None}
        if "symbol" in given or "status" in given:
            raise ConfigError("update changes settings only: use set_status for the status")
        unknown = sorted(k for k in given if k not in COLUMNS)
        if unknown:
            raise ConfigError(f"unknown setting {unknown[0][:40]!r} (known: {', '.join(COLUMNS)})")
        TradingSettings.parse(name, **given)  # refuse bad input before touching the store

        def change(session: Session) -> SymbolSettings:
            row = _row(session, name, lock=True)
            kept = {c: _column(row, c) for c in COLUMNS if c not in given}
            settings = TradingSettings.parse(name, **kept, **given)
            if filters is not None:
                settings.check_against(filters)
            for column, value in _columns(settings).items():
                setattr(row, column, value)
            row.updated_at = utcnow()
            session.flush()
            return _read(row)

        return await self.db.run(change)

    async def set_status(self, symbol: str, status: str) -> None:
        """Set a symbol's status: on (trading), off (stopped) or shutdown (winding down)."""
        name = normalize_symbol(symbol)
        if status not in TRADING_STATUSES:
            raise ConfigError(
                f"status must be one of {', '.join(TRADING_STATUSES)} (got {status!r})"
            )

        def change(session: Session) -> None:
            result = session.execute(
                update(TradingSettingsRow)
                .where(TradingSettingsRow.symbol == name)
                .values(status=status, updated_at=utcnow())
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise _unknown(name)

        await self.db.run(change)

    async def symbols_with_status(self, status: str) -> list[str]:
        """The symbols with this status, sorted (e.g. the ones to start at boot)."""

        def read(session: Session) -> list[str]:
            query = (
                select(TradingSettingsRow.symbol)
                .where(TradingSettingsRow.status == status)
                .order_by(TradingSettingsRow.symbol)
            )
            return list(session.scalars(query))

        return await self.db.run(read)


def _row(session: Session, symbol: str, lock: bool = False) -> TradingSettingsRow:
    query = select(TradingSettingsRow).where(TradingSettingsRow.symbol == symbol)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise _unknown(symbol)
    return row


def _unknown(symbol: str) -> ConfigError:
    return ConfigError(
        f"{symbol} has no trading settings: it is not among the stored symbols "
        "(seed them from the exchange info first)"
    )


def _columns(settings: TradingSettings) -> dict[str, Any]:
    return {"chunks": settings.chunks} | {c: dec_text(getattr(settings, c)) for c in DECIMAL_FIELDS}


def _column(row: TradingSettingsRow, column: str) -> Any:
    """One stored setting, parsed; `CorruptRow` naming the symbol and the column."""
    raw = getattr(row, column)
    where = f"trading_settings row {row.symbol}: column {column}"
    if column == "chunks":
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            return int(raw)
        raise CorruptRow(f"{where} holds {raw!r}, which is not a whole number")
    return parse_dec(raw, where)


def _read(row: TradingSettingsRow) -> SymbolSettings:
    values = {c: _column(row, c) for c in COLUMNS}
    settings = TradingSettings(symbol=row.symbol, **values)
    try:
        settings.check()
    except ConfigError as exc:
        raise CorruptRow(f"trading_settings row {row.symbol}: {exc}") from None
    return SymbolSettings(settings, row.status, row.created_at, row.updated_at)
