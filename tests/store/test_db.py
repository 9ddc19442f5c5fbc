"""The database: default SQLite file and its pragmas, PostgreSQL by URL, migrations (every
table, idempotent, matching the models), clear errors for unreachable databases, masked
passwords."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from hedgehog.core.errors import ConfigError
from hedgehog.store import Database, DatabaseUnavailable, mask_url, upgrade
from hedgehog.store.models import metadata

TABLES = {
    "trading_settings",
    "streaming_settings",
    "warehouse_subscriptions",
    "trader_states",
    "trader_counters",
    "orders",
    "trade_events",
}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens there once the socket is closed


async def test_migrations_create_every_table_and_are_idempotent(db: Database) -> None:
    def tables(session: Session) -> set[str]:
        return set(inspect(session.connection()).get_table_names())

    assert await db.revision() == "0005"
    assert await db.run(tables) >= TABLES | {"alembic_version"}
    await db.migrate()  # a second run changes nothing
    await db.migrate()
    assert await db.revision() == "0005"
    assert await db.run(tables) >= TABLES


async def test_migrations_match_the_models(db: Database) -> None:
    def diff(session: Session) -> list[object]:
        context = MigrationContext.configure(session.connection())
        return list(compare_metadata(context, metadata))

    assert await db.run(diff) == []


async def test_default_is_a_sqlite_file_in_the_data_dir_with_wal(tmp_path: Path) -> None:
    data_dir = tmp_path / "deep" / "data"
    async with Database(None, data_dir) as db:
        await db.migrate()
        assert db.dialect == "sqlite"
        assert (data_dir / "hedgehog.sqlite3").is_file()

        def pragmas(session: Session) -> tuple[object, ...]:
            return tuple(
                session.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys")
            )

        assert await db.run(pragmas) == ("wal", 1, 1)  # synchronous 1 is NORMAL


async def test_fresh_database_has_no_revision(tmp_path: Path) -> None:
    async with Database(None, tmp_path) as db:
        assert await db.revision() is None
        await db.check()


def test_upgrade_from_synchronous_code(tmp_path: Path) -> None:
    upgrade(None, tmp_path)
    upgrade(f"sqlite:///{tmp_path / 'hedgehog.sqlite3'}")  # the same file, by URL: a no-op
    db = Database(None, tmp_path)
    try:
        assert db.run_sync(lambda s: s.execute(text("SELECT count(*) FROM orders")).scalar()) == 0
    finally:
        db.close_sync()


async def test_postgresql_by_url(pg_schema_url: str) -> None:
    async with Database(pg_schema_url, None) as db:
        assert db.dialect == "postgresql"
        await db.migrate()
        assert await db.revision() == "0005"


async def test_unreachable_postgresql_is_a_clear_error_without_the_password() -> None:
    pytest.importorskip("psycopg", reason="the PostgreSQL driver psycopg is not installed")
    port = _closed_port()
    db = Database(f"postgresql://bot:s3cret-pw@127.0.0.1:{port}/hedgehog", None)
    try:
        with pytest.raises(DatabaseUnavailable) as info:
            await db.migrate()
        with pytest.raises(ConfigError):
            await db.check()
    finally:
        await db.close()
    message = str(info.value)
    assert message == (
        f"cannot reach the database at postgresql+psycopg://bot:***@127.0.0.1:{port}/hedgehog: "
        "connection refused"
    )
    assert "s3cret" not in message and "s3cret" not in repr(db)
    assert info.value.__cause__ is None and info.value.__suppress_context__


async def test_unknown_postgresql_database_names_it(pg_schema_url: str) -> None:
    from sqlalchemy import make_url

    url = make_url(pg_schema_url).set(database="no_such_db_hh", password="pw")
    async with Database(url.render_as_string(hide_password=False), None) as db:
        with pytest.raises(DatabaseUnavailable, match='database "no_such_db_hh" does not exist'):
            await db.migrate()


async def test_unopenable_sqlite_file_is_a_clear_error(tmp_path: Path) -> None:
    async with Database(f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}", None) as db:
        with pytest.raises(
            DatabaseUnavailable,
            match=r"cannot open the database at sqlite:///.*: unable to open database file",
        ):
            await db.migrate()


def test_data_dir_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DatabaseUnavailable, match="cannot create the data directory"):
        Database(None, blocker / "data")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url at all", "is not a database URL"),
        (
            "nosuchdb://user:pw@host/db",
            "unsupported database URL nosuchdb://user:\\*\\*\\*@host/db",
        ),
        ("mysql+nosuchdriver://u:pw@host/db", "unsupported database URL"),
    ],
)
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        Database(url, None)
    assert "pw@" not in str(info.value)


def test_postgres_urls_use_psycopg(tmp_path: Path) -> None:
    pytest.importorskip("psycopg", reason="the PostgreSQL driver psycopg is not installed")
    for url in ("postgresql://u@h/db", "postgres://u@h/db"):
        db = Database(url, None)
        assert db.url.drivername == "postgresql+psycopg"
        db.close_sync()
    with pytest.raises(ConfigError, match="no database"):
        Database(None, None)


def test_a_missing_driver_is_named() -> None:
    if importlib.util.find_spec("MySQLdb") is not None:
        pytest.skip("mysqlclient is installed here")
    with pytest.raises(ConfigError, match=r"driver for mysql://u:\*\*\*@h/db is not installed"):
        Database("mysql://u:pw@h/db", None)


def test_mask_url() -> None:
    assert mask_url("postgresql://user:pw@host/db") == "postgresql://user:***@host/db"
    assert mask_url("postgresql://user@host/db") == "postgresql://user@host/db"
    assert mask_url("weird://user:pa:ss@host") == "weird://user:***@host"
    assert mask_url("::not a url, user:pw@x") == "::not a url, user:***@x"


async def test_closed_database_refuses_work(tmp_path: Path) -> None:
    db = Database(None, tmp_path)
    await db.close()
    await db.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        await db.check()
    with pytest.raises(RuntimeError, match="closed"):
        db.run_sync(lambda s: None)
