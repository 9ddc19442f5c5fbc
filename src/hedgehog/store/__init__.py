"""Durable state on SQLAlchemy 2 + Alembic: SQLite by default, PostgreSQL by URL.

    db = Database(settings.database_url, settings.data_dir)   # or Database.from_settings(...)
    await db.migrate()                      # Alembic upgrade to head (idempotent)
    store = SqlTraderStore(db, strategy_for)  # the traders' `TraderStore` (any strategy)
    settings = SettingsRepo(db)             # each symbol's strategy, settings and status
    ...
    await db.close()

`upgrade(url, data_dir)` migrates from synchronous code. Modules: `db` (engine, worker thread,
migrations), `models` (tables), `serde` (trader states <-> JSON through their strategies;
naive's format kept as `state_to_json`/`state_from_json`), `traders`, `orders`,
`settings`, `switches`, `trades` (repositories), `errors`.
"""

from hedgehog.store.db import Database, mask_url, upgrade
from hedgehog.store.errors import CorruptRow, DatabaseUnavailable, StaleVersion, StoreError
from hedgehog.store.orders import LedgerOrder, OrderRepo
from hedgehog.store.serde import state_from_json, state_to_json
from hedgehog.store.settings import SettingsRepo, SymbolSettings
from hedgehog.store.switches import StreamingRepo, WarehouseRepo
from hedgehog.store.traders import SqlTraderStore
from hedgehog.store.trades import TradeEventRepo

__all__ = [
    "CorruptRow",
    "Database",
    "DatabaseUnavailable",
    "LedgerOrder",
    "OrderRepo",
    "SettingsRepo",
    "SqlTraderStore",
    "StaleVersion",
    "StoreError",
    "StreamingRepo",
    "SymbolSettings",
    "TradeEventRepo",
    "WarehouseRepo",
    "mask_url",
    "state_from_json",
    "state_to_json",
    "upgrade",
]
