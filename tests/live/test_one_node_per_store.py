"""One node per store: a second `hedgehog run` on the same database is refused at once with one
line naming the running node, and leaves the first node's control files alone, so the first
stays reachable. The lock itself, on SQLite and on PostgreSQL (skipped with the reason when no
server answers); control files written atomically and removed only by their owner."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from hedgehog.config.token import (
    ADDRESS_FILE,
    TOKEN_FILE,
    clear_address,
    write_address,
    write_token,
)
from hedgehog.simulator import SimulatorHandle, start_simulator
from hedgehog.store import Database
from hedgehog.store import lock as lock_module
from hedgehog.store.errors import DatabaseUnavailable
from hedgehog.store.lock import StoreLock, StoreLocked, advisory_key
from tests.helpers import eventually

PG_URL = os.environ.get("HEDGEHOG_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def node_env(sim: SimulatorHandle, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEHOG_")}
    env.update(
        HEDGEHOG_DATA_DIR=str(data_dir),
        HEDGEHOG_BINANCE_API_KEY=sim.api_key,
        HEDGEHOG_BINANCE_API_SECRET=sim.api_secret,
    )
    return env


def run_args(sim: SimulatorHandle) -> list[str]:
    return [
        *("-m", "hedgehog", "run", "--exchange", "binance", "--no-view"),
        *("--rest-url", sim.url, "--stream-url", sim.ws_url, "--ws-api-url", sim.ws_api_url),
    ]


async def hedgehog(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, env=env, stdout=-1, stderr=-1
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, stdout.decode(), stderr.decode()


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    handle = await start_simulator(symbols=["XRPUSDT"])
    try:
        yield handle
    finally:
        await handle.close()


async def test_a_second_node_is_refused_and_the_first_stays_reachable(
    sim: SimulatorHandle, tmp_path: Path
) -> None:
    env = node_env(sim, tmp_path)
    first = await asyncio.create_subprocess_exec(
        sys.executable, *run_args(sim), env=env, stdout=-1, stderr=-1
    )
    try:
        await eventually(lambda: (tmp_path / ADDRESS_FILE).exists() or first.returncode, 60)
        assert first.returncode is None, "the first node did not start"
        address = json.loads((tmp_path / ADDRESS_FILE).read_text())
        token = (tmp_path / TOKEN_FILE).read_text()
        assert address["pid"] == first.pid

        # (with --duration, so that a second node wrongly let in ends by itself)
        code, _, stderr = await hedgehog(env, *run_args(sim), "--duration", "20")
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert code != 0
        assert len(lines) == 1, stderr
        assert "Traceback" not in stderr
        assert f"pid {first.pid}" in lines[0] and address["url"] in lines[0], lines[0]

        assert json.loads((tmp_path / ADDRESS_FILE).read_text()) == address  # untouched
        assert (tmp_path / TOKEN_FILE).read_text() == token
        code, stdout, stderr = await hedgehog(env, "-m", "hedgehog", "status", "--json")
        assert code == 0, stderr
        assert "tree" in json.loads(stdout)
    finally:
        if first.returncode is None:
            first.terminate()
        await asyncio.wait_for(first.communicate(), 30)
    assert not (tmp_path / ADDRESS_FILE).exists()  # its owner removed it on the way out


def test_the_sqlite_lock_is_exclusive_and_names_its_holder(tmp_path: Path) -> None:
    db = Database(None, tmp_path)
    first, second = StoreLock(db, tmp_path), StoreLock(Database(None, tmp_path), tmp_path)
    first.acquire()
    write_address(tmp_path, "http://127.0.0.1:1234", os.getpid())
    with pytest.raises(StoreLocked, match=rf"pid {os.getpid()}, control API http://127.0.0.1:1234"):
        second.acquire()
    assert not second.held
    first.release()
    second.acquire()  # free again once released
    second.release()
    db.close_sync()


def test_control_files_are_removed_only_by_their_owner(tmp_path: Path) -> None:
    write_token(tmp_path)
    write_address(tmp_path, "http://127.0.0.1:1", os.getpid() + 1)  # another node's
    assert not clear_address(tmp_path)
    assert (tmp_path / ADDRESS_FILE).exists() and (tmp_path / TOKEN_FILE).exists()
    assert (tmp_path / TOKEN_FILE).stat().st_mode & 0o777 == 0o600
    write_address(tmp_path, "http://127.0.0.1:2", os.getpid())
    assert clear_address(tmp_path)
    assert not (tmp_path / ADDRESS_FILE).exists() and not (tmp_path / TOKEN_FILE).exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temp file left behind


def pg_database() -> Database:
    db = Database(PG_URL)
    try:
        asyncio.run(db.check())
    except DatabaseUnavailable as exc:
        db.close_sync()
        pytest.skip(f"no PostgreSQL server answers at 127.0.0.1:5432 ({exc})")
    return db


def test_the_advisory_key_is_the_database_s() -> None:
    assert advisory_key("test") == advisory_key("test") != advisory_key("prod")
    assert -(2**63) <= advisory_key("test") < 2**63


def test_the_postgresql_lock_is_exclusive_and_names_its_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a key of this run's own, so that test runs sharing the server do not meet here
    key = advisory_key(f"test {os.getpid()} {tmp_path}")
    monkeypatch.setattr(lock_module, "advisory_key", lambda database: key)
    db, other = pg_database(), Database(PG_URL)
    first, second = StoreLock(db, tmp_path), StoreLock(other, tmp_path)
    first.acquire()
    try:
        with pytest.raises(StoreLocked, match=rf"pid {os.getpid()}, control API not published"):
            second.acquire()
    finally:
        first.release()
    second.acquire()  # the session ended, the lock went with it
    second.release()
    db.close_sync()
    other.close_sync()


def test_a_postgresql_lock_goes_with_its_node_s_death(tmp_path: Path) -> None:
    """SIGKILL of the holder, then a node at once (a service manager's restart): it gets the
    store, with no stale lock left behind."""
    pg_database().close_sync()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from hedgehog.store import Database\n"
            "from hedgehog.store.lock import StoreLock\n"
            f"StoreLock(Database({PG_URL!r})).acquire()\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        db = Database(PG_URL)
        with pytest.raises(StoreLocked, match=rf"pid {holder.pid}"):
            StoreLock(db, tmp_path).acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        lock = StoreLock(db, tmp_path)
        lock.acquire()
        lock.release()
        db.close_sync()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


def test_two_schemas_of_one_database_are_two_stores(tmp_path: Path) -> None:
    """Found by CI under load: two test runs' chaos nodes, each on its own schema of the
    database `test`, refused each other because the key was the database's name alone."""
    probe = pg_database()
    probe.close_sync()
    names = [f"lock_{os.getpid()}_{i}" for i in (1, 2)]
    admin = create_engine(PG_URL, poolclass=NullPool)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in names:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {name}"))
    try:
        url = PG_URL + "?options=-csearch_path%3D"
        one, two = Database(url + names[0]), Database(url + names[1])
        again = Database(url + names[0])
        first, second = StoreLock(one, tmp_path), StoreLock(two, tmp_path)
        first.acquire()
        second.acquire()  # another schema: another store
        with pytest.raises(StoreLocked):
            StoreLock(again, tmp_path).acquire()  # the same schema: refused
        first.release()
        second.release()
        for db in (one, two, again):
            db.close_sync()
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in names:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        admin.dispose()
