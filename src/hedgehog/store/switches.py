"""On/off switches kept across restarts: which symbols stream (`StreamingRepo`) and which
pub/sub topics the warehouse records (`WarehouseRepo`). Switching a new key on or off
creates its row."""

from __future__ import annotations

from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hedgehog.core.errors import ConfigError
from hedgehog.core.symbols import normalize_symbol
from hedgehog.store.db import Database
from hedgehog.store.models import (
    SWITCH_STATUSES,
    StreamingSettingsRow,
    WarehouseSubscriptionRow,
    utcnow,
)

Row = TypeVar("Row", StreamingSettingsRow, WarehouseSubscriptionRow)


class _Switches(Generic[Row]):
    def __init__(self, db: Database, model: type[Row], what: str) -> None:
        self.db = db
        self.model: type[Row] = model
        self.what = what

    def _key(self) -> InstrumentedAttribute[str]:
        raise NotImplementedError

    def _clean(self, key: str) -> str:
        return key

    async def set_status(self, key: str, status: str) -> None:
        """Switch `key` on or off (creating its row)."""
        key = self._clean(key)
        if status not in SWITCH_STATUSES:
            raise ConfigError(f"{self.what} status must be on or off (got {status!r})")

        def change(session: Session) -> None:
            row = session.scalar(select(self.model).where(self._key() == key).with_for_update())
            if row is None:
                session.add(self.model(**{self._key().key: key, "status": status}))
            elif row.status != status:
                row.status = status
                row.updated_at = utcnow()

        await self.db.run(change)

    async def status(self, key: str) -> str | None:
        """on, off, or None when `key` was never switched."""
        key = self._clean(key)
        return await self.db.run(
            lambda session: session.scalar(select(self.model.status).where(self._key() == key))
        )

    async def all(self) -> dict[str, str]:
        """Every key and its status, sorted by key."""

        def read(session: Session) -> dict[str, str]:
            query = select(self._key(), self.model.status).order_by(self._key())
            return {key: status for key, status in session.execute(query)}

        return await self.db.run(read)

    async def with_status(self, status: str) -> list[str]:
        """The keys with this status, sorted (e.g. the ones to start at boot)."""

        def read(session: Session) -> list[str]:
            query = select(self._key()).where(self.model.status == status).order_by(self._key())
            return list(session.scalars(query))

        return await self.db.run(read)


class StreamingRepo(_Switches[StreamingSettingsRow]):
    """Which symbols' trade streams run; `on` symbols restart at boot."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, StreamingSettingsRow, "streaming")

    def _key(self) -> InstrumentedAttribute[str]:
        return StreamingSettingsRow.symbol

    def _clean(self, key: str) -> str:
        return normalize_symbol(key)

    async def symbols_with_status(self, status: str) -> list[str]:
        return await self.with_status(status)


class WarehouseRepo(_Switches[WarehouseSubscriptionRow]):
    """Which pub/sub topics the warehouse records (e.g. TRADE_EVENTS:XRPUSDT)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, WarehouseSubscriptionRow, "warehouse subscription")

    def _key(self) -> InstrumentedAttribute[str]:
        return WarehouseSubscriptionRow.topic

    def _clean(self, key: str) -> str:
        topic = key.strip()
        if not topic or len(topic) > 64:
            raise ConfigError(f"{key!r} is not a topic (1 to 64 characters, e.g. ORDERS:XRPUSDT)")
        return topic

    async def topics_with_status(self, status: str) -> list[str]:
        return await self.with_status(status)
