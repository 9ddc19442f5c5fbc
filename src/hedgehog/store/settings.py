"""`SettingsRepo`: the book's settings table (`trading_settings`), one row per symbol: which
strategy trades it (`strategy`, what `load_strategy` takes), its parameters (`params`, JSON:
the settings' `as_dict()` without the symbol) and its status.

Seeding from the exchange's info inserts every symbol with naive's default settings and status
`off` and leaves existing rows alone. `set` chooses a symbol's strategy and parameters (missing
ones take the strategy's defaults); `update` changes some parameters of the strategy stored.
Both go through the strategy's `parse_settings` (and `check_against` the symbol's filters when
given): an invalid value raises `ConfigError` and nothing is stored. A row edited by hand into
nonsense (a budget of "abc", an unknown strategy) fails only when that symbol is read, with a
`CorruptRow` naming the symbol and the column; an update of that parameter repairs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hedgehog.core.errors import ConfigError
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.symbols import normalize_symbol
from hedgehog.naive.settings import TradingSettings
from hedgehog.store.db import Database, insert_or_ignore
from hedgehog.store.errors import CorruptRow
from hedgehog.store.models import STRATEGY, TRADING_STATUSES, TradingSettingsRow, utcnow
from hedgehog.store.serde import strategy_spec
from hedgehog.strategy.protocol import Strategy
from hedgehog.strategy.registry import DEFAULT, load_strategy


@dataclass(frozen=True, slots=True)
class SymbolSettings:
    """A symbol's stored strategy, its settings (that strategy's settings object) and its
    status (on, off or shutdown)."""

    settings: Any
    status: str
    created_at: datetime
    updated_at: datetime
    strategy: str = DEFAULT

    @property
    def symbol(self) -> str:
        symbol: str = self.settings.symbol
        return symbol

    @property
    def params(self) -> dict[str, Any]:
        """The parameters as stored (the settings' `as_dict()` without the symbol)."""
        return _params(self.settings)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the settings' fields (as before strategies were plug-ins), the strategy
        and the status."""
        return {**self.settings.as_dict(), "strategy": self.strategy, "status": self.status}


class SettingsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def seed_from_exchange_info(
        self, symbols: Mapping[str, SymbolFilters], defaults: Mapping[str, Any] | None = None
    ) -> int:
        """Insert every symbol not stored yet (naive, its defaults or `defaults`, status off);
        return how many."""
        params = _params(TradingSettings.parse("SEED", **dict(defaults or {})))
        names = sorted({normalize_symbol(s) for s in symbols})

        def seed(session: Session) -> int:
            stored = set(session.scalars(select(TradingSettingsRow.symbol)))
            now = utcnow()
            rows = [
                {"symbol": name, "strategy": DEFAULT, "params": params, "status": "off"}
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

    async def set(
        self,
        symbol: str,
        strategy: str,
        params: Mapping[str, Any] | None = None,
        filters: SymbolFilters | None = None,
    ) -> SymbolSettings:
        """Trade `symbol` with `strategy` (a name `load_strategy` takes) and these parameters
        (the others at the strategy's defaults); validated first, nothing stored if invalid.
        A symbol not stored yet is added (status off) when its `filters` are given."""
        name = normalize_symbol(symbol)
        chosen = load_strategy(strategy)
        settings = chosen.parse_settings(name, dict(params or {}))
        if filters is not None:
            settings.check_against(filters)
        spec = strategy_spec(chosen)
        if len(spec) > STRATEGY:
            raise ConfigError(f"strategy name {spec[:40]!r}... is too long to store")
        stored = _params(settings)

        def change(session: Session) -> SymbolSettings:
            query = select(TradingSettingsRow).where(TradingSettingsRow.symbol == name)
            row = session.scalar(query.with_for_update())
            if row is None:
                if filters is None:
                    raise _unknown(name)
                row = TradingSettingsRow(symbol=name, status="off")
                session.add(row)
            row.strategy, row.params, row.updated_at = spec, stored, utcnow()
            session.flush()
            return _read(row)

        return await self.db.run(change)

    async def update(
        self, symbol: str, filters: SymbolFilters | None = None, /, **values: Any
    ) -> SymbolSettings:
        """Change some settings of a stored symbol, for the strategy it has; validated first,
        nothing stored if invalid. `values` may come straight from a client: only the
        strategy's known settings are accepted (any other key, even "filters" or "self", is a
        `ConfigError`), each bounded by its `parse_settings`."""
        name = normalize_symbol(symbol)
        given = {k: v for k, v in values.items() if v is not None}
        if "symbol" in given or "status" in given or "strategy" in given:
            raise ConfigError(
                "update changes settings only: use set_status for the status, set for the strategy"
            )

        def change(session: Session) -> SymbolSettings:
            row = _row(session, name, lock=True)
            strategy = _strategy(row)
            kept = _stored_params(row)
            try:
                settings = strategy.parse_settings(name, {**kept, **given})
            except ConfigError as exc:
                raise _blame(row, strategy, kept, exc) from None
            if filters is not None:
                settings.check_against(filters)
            row.params, row.updated_at = _params(settings), utcnow()
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


def _params(settings: Any) -> dict[str, Any]:
    params: dict[str, Any] = dict(settings.as_dict())
    params.pop("symbol", None)
    return params


def _strategy(row: TradingSettingsRow) -> Strategy:
    """The row's strategy; `CorruptRow` naming the column if it cannot be loaded."""
    try:
        return load_strategy(row.strategy if isinstance(row.strategy, str) else "")
    except ConfigError as exc:
        raise CorruptRow(f"trading_settings row {row.symbol}: column strategy: {exc}") from None


def _stored_params(row: TradingSettingsRow) -> dict[str, Any]:
    if not isinstance(row.params, dict):
        raise CorruptRow(
            f"trading_settings row {row.symbol}: column params holds {str(row.params)[:40]!r}, "
            "which is not a JSON object"
        )
    return dict(row.params)


def _blame(
    row: TradingSettingsRow, strategy: Strategy, kept: dict[str, Any], exc: ConfigError
) -> ConfigError:
    """`exc` as a `CorruptRow` when the stored parameters alone fail the same way (the row is
    damaged, not the input), else `exc` itself."""
    try:
        strategy.parse_settings(row.symbol, kept)
    except ConfigError as stored:
        if str(stored) == str(exc):
            return CorruptRow(f"trading_settings row {row.symbol}: column params: {exc}")
    return exc


def _read(row: TradingSettingsRow) -> SymbolSettings:
    strategy = _strategy(row)
    params = _stored_params(row)
    try:
        settings = strategy.parse_settings(row.symbol, params)
    except ConfigError as exc:
        raise CorruptRow(f"trading_settings row {row.symbol}: column params: {exc}") from None
    return SymbolSettings(settings, row.status, row.created_at, row.updated_at, row.strategy)
