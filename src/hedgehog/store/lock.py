"""One node per store: an exclusive lock a node holds on its database for its whole life.

Two nodes trading from one store would both believe they own its traders and orders. So a node
takes the store's lock before it does anything else and keeps it until it has stopped:

- SQLite: an OS lock (`flock`, non-blocking) on `<database file>.lock`, a file beside the
  database that also holds the owner's pid. The OS drops it when the process dies, even on
  `kill -9`, so a crash never leaves a stale lock behind.
- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a key derived from the
  database name and the schema the node's tables live in (`current_schema()`: nodes on two
  schemas of one database are two stores), taken on a connection of its own held open for the
  node's life; the server
  drops it when that connection closes (the process died, or the network did). The
  connection's `application_name` carries the owner's pid so that a refused node can name it.

A second node is refused at once with `StoreLocked`, one line naming the running node. (On
PostgreSQL, a holder whose pid is no longer alive on this machine is waited for a few seconds:
its server session is about to end.)
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from hedgehog.core.errors import ConfigError
from hedgehog.store.db import Database
from hedgehog.store.errors import DatabaseUnavailable

LOCK_SUFFIX = ".lock"
APP_PREFIX = "hedgehog-node:"
DEAD_HOLDER_WAIT = 5.0  # seconds a PostgreSQL lock of a process found dead may take to go


class StoreLocked(ConfigError):
    """Another node holds the store's lock."""


def advisory_key(database: str) -> int:
    """A stable signed 64-bit key for `pg_try_advisory_lock`, from the store's name
    (`database/schema`)."""
    digest = hashlib.sha256(f"hedgehog node:{database}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class StoreLock:
    """`acquire()` once at start (raises `StoreLocked`), `release()` once stopped."""

    def __init__(self, db: Database, data_dir: Path | None = None) -> None:
        self.db = db
        self.data_dir = data_dir  # where the running node's control.json is, to name it
        self.path: Path | None = None
        self._fd: int | None = None
        self._conn: Connection | None = None
        if db.dialect == "sqlite" and db.url.database not in (None, "", ":memory:"):
            self.path = Path(str(db.url.database) + LOCK_SUFFIX)

    @property
    def held(self) -> bool:
        return self._fd is not None or self._conn is not None

    def acquire(self) -> None:
        """Take the lock or raise `StoreLocked` at once (never waits)."""
        if self.db.dialect == "sqlite":
            if self.path is not None:
                self._flock(self.path)
        elif self.db.dialect == "postgresql":
            self._advisory()

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(DBAPIError):
                conn.close()  # the session ends: the server drops its advisory lock
            conn.engine.dispose()

    # -- SQLite ----------------------------------------------------------------------------
    def _flock(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # no O_TRUNC: the owner's pid stays
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            pid = int(holder) if holder.isdigit() else None
            raise StoreLocked(_refusal(self.db, self.data_dir, pid)) from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    # -- PostgreSQL ------------------------------------------------------------------------
    def _advisory(self) -> None:
        args: dict[str, Any] = {"application_name": f"{APP_PREFIX}{os.getpid()}"}
        if "connect_timeout" not in self.db.url.query:
            args["connect_timeout"] = 10
        engine = create_engine(self.db.url, poolclass=NullPool, connect_args=args)
        try:
            conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except DBAPIError as exc:
            engine.dispose()
            raise DatabaseUnavailable(
                f"cannot reach the database at {self.db.display_url}: {exc.orig}"
            ) from None
        where = conn.execute(text("SELECT current_database(), current_schema()")).one()
        key = advisory_key(f"{where[0]}/{where[1]}")
        deadline = time.monotonic() + DEAD_HOLDER_WAIT
        while True:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            if got:
                self._conn = conn
                return
            pid = _holder_pid(conn, key)
            # A holder on this machine that has just died (SIGKILL, then a restart at once):
            # the server drops its lock as soon as it sees the closed connection; wait for it.
            if pid is None or _alive(pid) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        conn.close()
        engine.dispose()
        raise StoreLocked(_refusal(self.db, self.data_dir, pid))


def _holder_pid(conn: Connection, key: int) -> int | None:
    """The pid of the node holding the advisory lock, from its connection's application_name."""
    holder = conn.execute(
        text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
            "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = :hi AND l.objid = :lo AND l.objsubid = 1"
        ),
        {"hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF},
    ).scalar()
    pid = str(holder or "").removeprefix(APP_PREFIX)
    return int(pid) if pid.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _refusal(db: Database, data_dir: Path | None, pid: int | None) -> str:
    """One line naming the node that holds the lock: its pid and control URL when known."""
    from hedgehog.config.token import read_address

    where = "pid unknown"
    address = read_address(data_dir) if data_dir is not None else None
    if address is not None and (pid is None or address.get("pid") == pid):
        pid = address.get("pid", pid)
        where = f"pid {pid}, control API {address.get('url')}"
    elif pid is not None:
        where = f"pid {pid}, control API not published yet"
    return (
        f"another hedgehog node is running on the database {db.display_url} ({where}); "
        "stop it first (`hedgehog status` talks to it), or give this node another "
        "HEDGEHOG_DATA_DIR or HEDGEHOG_DATABASE_URL"
    )
