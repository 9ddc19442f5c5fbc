"""Fixtures of the store tests: `db` is a migrated database, once SQLite (a file in tmp_path)
and once PostgreSQL (a fresh schema on the local server, dropped afterwards; skipped with the
reason when the server or the psycopg driver is absent). `HEDGEHOG_TEST_POSTGRES_URL` points
the PostgreSQL case at another server (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import make_url

from hedgehog.core.filters import SymbolFilters
from hedgehog.naive import strategy
from hedgehog.naive.settings import TradingSettings
from hedgehog.store import Database

PG_URL = os.environ.get(
    "HEDGEHOG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _libpq_conninfo(url: str) -> str:
    u = make_url(url)
    parts = {
        "host": u.host,
        "port": u.port,
        "user": u.username,
        "password": u.password,
        "dbname": u.database,
    }
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


@functools.cache
def postgres_missing() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None when they can."""
    try:
        import psycopg
    except ImportError:
        return "the PostgreSQL driver psycopg is not installed (pip install 'psycopg[binary]')"
    try:
        psycopg.connect(_libpq_conninfo(PG_URL), connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"no PostgreSQL server at {make_url(PG_URL).render_as_string()}: {first}"
    return None


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_libpq_conninfo(PG_URL), autocommit=True) as conn:
        conn.execute(sql.encode())


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A URL to a fresh, empty PostgreSQL schema (dropped at the end); skip if no server."""
    reason = postgres_missing()
    if reason is not None:
        pytest.skip(reason)
    schema = f"hh_test_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE SCHEMA "{schema}"')
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        _admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """None (the default SQLite file in tmp_path/data) or a fresh PostgreSQL schema's URL."""
    if request.param == "sqlite":
        yield None
    else:
        yield request.getfixturevalue("pg_schema_url")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def db(db_url: str | None, data_dir: Path) -> AsyncIterator[Database]:
    """A migrated database (SQLite and PostgreSQL), closed at the end."""
    database = Database(db_url, data_dir)
    await database.migrate()
    try:
        yield database
    finally:
        await database.close()


# -- values --------------------------------------------------------------------------------
FILTERS = SymbolFilters(
    symbol="XRPUSDT",
    base_asset="XRP",
    quote_asset="USDT",
    tick_size=Decimal("0.00001"),
    step_size=Decimal("0.1"),
    min_qty=Decimal("0.1"),
    min_notional=Decimal("10"),
)


def trader(number: int, symbol: str = "XRPUSDT", prefix: str = "") -> strategy.TraderState:
    """A fresh trader of `symbol` with the default settings."""
    filters = replace(FILTERS, symbol=symbol)
    return strategy.new_trader(symbol, number, TradingSettings(symbol=symbol), filters, prefix)
