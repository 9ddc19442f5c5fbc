"""The database: a SQLAlchemy engine, driven from asyncio through one worker thread.

By default it is a SQLite file, `<data_dir>/hedgehog.sqlite3` (WAL journal, synchronous=NORMAL,
foreign keys on); `HEDGEHOG_DATABASE_URL` selects another, e.g.
`postgresql+psycopg://user:password@host/db` (a plain `postgresql://` URL means psycopg 3 too).

Why a worker thread and not SQLAlchemy's asyncio extension: every piece of database work is a
plain synchronous function `fn(session) -> value` that `Database.run` sends to a dedicated
executor with exactly one thread, each call in its own transaction. One thread serialises all
writes, which SQLite requires (one writer at a time) and which keeps a trader's save strictly
ordered before the exchange call it precedes; the loop never blocks; Alembic (synchronous)
runs on the same path; and no extra async drivers (aiosqlite, asyncpg) or greenlet are needed.
The price is that a node's database calls do not overlap, which is fine for the handful of
small writes per order that the bot makes (bulk trade inserts go in large batches).

Failures to reach the database become `DatabaseUnavailable` (a `ConfigError`) whose message
names the database with its password masked: "cannot reach the database at
postgresql+psycopg://bot:***@db.local/hedgehog: connection refused".
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from hedgehog.core.errors import ConfigError
from hedgehog.store.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from hedgehog.config import Settings

T = TypeVar("T")
DEFAULT_FILE = "hedgehog.sqlite3"
MIGRATIONS = Path(__file__).with_name("migrations")
CONNECT_TIMEOUT = 10  # seconds, for PostgreSQL (libpq waits forever by default)


def mask_url(url: str | URL) -> str:
    """The URL for messages and logs: any password replaced by ***."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"([^\s:/@]+:)[^\s/@]+@", r"\1***@", url)  # anything like user:pw@


def resolve_url(url: str | None, data_dir: Path | None) -> URL:
    """The URL to use: `url`, or the SQLite file in `data_dir` (created if missing)."""
    if url is None or not url.strip():
        if data_dir is None:
            raise ConfigError("no database: give a database URL or a data directory")
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailable(
                f"cannot create the data directory {data_dir}: {exc.strerror}"
            ) from None
        return URL.create("sqlite+pysqlite", database=str(data_dir / DEFAULT_FILE))
    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise ConfigError(
            f"{mask_url(url)!r} is not a database URL "
            "(expected e.g. postgresql+psycopg://user@host/db or sqlite:////path/file.sqlite3)"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class Database:
    """One database of a node. Use `await db.migrate()` at start, `await db.close()` at exit."""

    def __init__(self, url: str | None = None, data_dir: Path | None = None) -> None:
        self.url = resolve_url(url, data_dir)
        self.display_url = mask_url(self.url)
        self.dialect = self.url.get_backend_name()
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False}  # one worker thread anyway
            if self.url.database in (None, "", ":memory:"):
                kwargs["poolclass"] = StaticPool  # one in-memory database, not one per connection
        elif self.dialect == "postgresql" and "connect_timeout" not in self.url.query:
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
        try:
            self.engine: Engine = create_engine(self.url, **kwargs)
        except NoSuchModuleError:
            raise ConfigError(
                f"unsupported database URL {self.display_url}: use sqlite:///... or "
                "postgresql+psycopg://..."
            ) from None
        except ImportError as exc:
            raise ConfigError(
                f"the database driver for {self.display_url} is not installed ({exc.name}); "
                "for PostgreSQL: pip install 'psycopg[binary]'"
            ) from None
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hedgehog-db")
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.database_url, settings.data_dir)

    def __repr__(self) -> str:
        return f"Database({self.display_url!r})"

    # -- running work ----------------------------------------------------------------------
    async def run(self, fn: Callable[[Session], T]) -> T:
        """Run `fn(session)` in the worker thread, in one transaction (committed if it returns)."""
        return await self.call(self._in_session, fn)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in the worker thread; `fn` opens its own `transaction()`s."""
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def run_sync(self, fn: Callable[[Session], T]) -> T:
        """`run` for synchronous callers (scripts, the CLI): same thread, same serialisation."""
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        return self._executor.submit(self._in_session, fn).result()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction, committed when the block ends without an exception.

        For code already in the worker thread (a function given to `call`): it can act after
        the commit, e.g. remember the version it wrote only once that version is durable.
        """
        try:
            with Session(self.engine) as session, session.begin():
                self._connect(session.connection)
                yield session
        except DBAPIError as exc:
            if exc.connection_invalidated or isinstance(exc, OperationalError):
                raise self._unavailable(exc, "lost the connection to") from None
            raise

    async def check(self) -> None:
        """Connect once; `DatabaseUnavailable` with a clear message if that fails."""
        await self.call(self._in_connection, lambda conn: conn.execute(text("SELECT 1")))

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to `revision` (Alembic upgrade; a no-op when already there)."""
        await self.call(self._in_connection, lambda conn: upgrade_connection(conn, revision))

    async def downgrade(self, revision: str) -> None:
        """Take the schema back down to `revision` (Alembic downgrade: an operator's step
        before running an older hedgehog on this database)."""
        await self.call(self._in_connection, lambda conn: downgrade_connection(conn, revision))

    async def revision(self) -> str | None:
        """The schema's current Alembic revision (None before the first migration)."""
        return await self.call(self._in_connection, current_revision)

    async def close(self) -> None:
        """Close every connection and stop the worker thread (after the work queued before)."""
        if self._closed:
            return
        await self.call(self.engine.dispose)
        self._closed = True
        self._executor.shutdown(wait=True)

    def close_sync(self) -> None:
        """`close` for synchronous callers."""
        if self._closed:
            return
        self._executor.submit(self.engine.dispose).result()
        self._closed = True
        self._executor.shutdown(wait=True)

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- in the worker thread --------------------------------------------------------------
    def _in_session(self, fn: Callable[[Session], T]) -> T:
        with self.transaction() as session:
            return fn(session)

    def _in_connection(self, fn: Callable[[Connection], T]) -> T:
        conn = self._connect(self.engine.connect)
        with conn, conn.begin():
            return fn(conn)

    def _connect(self, connect: Callable[[], Connection]) -> Connection:
        try:
            return connect()
        except DBAPIError as exc:
            verb = "cannot open" if self.dialect == "sqlite" else "cannot reach"
            raise self._unavailable(exc, verb) from None

    def _unavailable(self, exc: DBAPIError, what: str) -> DatabaseUnavailable:
        return DatabaseUnavailable(f"{what} the database at {self.display_url}: {_reason(exc)}")


def _reason(exc: DBAPIError) -> str:
    """The driver's own words, shortened: 'connection refused', 'database "x" does not exist'."""
    first = (str(exc.orig).strip().splitlines() or ["unknown error"])[0]
    reason = first.rsplit("failed: ", 1)[-1].strip()
    reason = re.sub(r"^(FATAL|ERROR):\s*", "", reason)
    if len(reason) > 1 and reason[0].isupper() and not reason[1].isupper():
        reason = reason[0].lower() + reason[1:]  # "Connection refused" but not "SSL ..."
    return reason


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")  # another process (the CLI) may be writing
    finally:
        cursor.close()


# -- migrations ----------------------------------------------------------------------------
def alembic_config() -> Config:
    """An Alembic `Config` for the migrations shipped in this package (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade_connection(connection: Connection, revision: str = "head") -> None:
    """Run Alembic's upgrade on an open connection (inside the caller's transaction)."""
    config = alembic_config()
    config.attributes["connection"] = connection
    try:
        command.upgrade(config, revision)
    except CommandError as exc:
        raise ConfigError(
            f"cannot migrate the database at {mask_url(connection.engine.url)}: {exc} "
            "(was it created by a newer hedgehog?)"
        ) from None


def downgrade_connection(connection: Connection, revision: str) -> None:
    """Run Alembic's downgrade on an open connection (inside the caller's transaction)."""
    config = alembic_config()
    config.attributes["connection"] = connection
    try:
        command.downgrade(config, revision)
    except CommandError as exc:
        raise ConfigError(
            f"cannot downgrade the database at {mask_url(connection.engine.url)}: {exc}"
        ) from None


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str | None = None, data_dir: Path | None = None, revision: str = "head") -> None:
    """Upgrade a database's schema from synchronous code: `hedgehog.store.upgrade(url)`."""

    async def main() -> None:
        async with Database(url, data_dir) as db:
            await db.migrate(revision)

    asyncio.run(main())


def insert_or_ignore(session: Session, table: Any, *keys: str) -> Any:
    """`INSERT ... ON CONFLICT (keys) DO NOTHING` for the session's engine (SQLite, PostgreSQL)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=list(keys))
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing(index_elements=list(keys))
    raise ConfigError(f"unsupported database {name!r}: use SQLite or PostgreSQL")
