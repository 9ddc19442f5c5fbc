"""Fixtures of the warehouse tests.

- `db`: a migrated database, once SQLite and once PostgreSQL (the store tests' fixture: the
  PostgreSQL case is skipped with its reason when no server is reachable).
- `flaky`: a real SQLite database that a test can make unreachable (`down`) or slow (`gate`):
  the fake of a database server that goes away, without patching anything.
- `clock`, `rt`, `pubsub`: a runtime on a virtual clock; at the end every process still alive
  is stopped (recorders write their buffers) and no process may have crashed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from hedgehog.core.types import TradeEvent
from hedgehog.runtime import Runtime, VirtualClock
from hedgehog.runtime.pubsub import PubSub
from hedgehog.store import Database, DatabaseUnavailable
from tests.store.conftest import data_dir, db, db_url, pg_schema_url

__all__ = ["data_dir", "db", "db_url", "pg_schema_url"]  # the store tests' fixtures, reused

T = TypeVar("T")
T0 = 1_700_000_000_000  # ms, 2023-11-14 22:13:20 UTC


def make_trades(first: int, last: int, symbol: str = "XRPUSDT") -> list[TradeEvent]:
    """Trades with ids first..last (inclusive), 7 ms apart, as stored ones read back."""
    return [
        TradeEvent(
            symbol,
            i,
            Decimal("0.43") + Decimal(i % 97) / 10_000,
            Decimal("12.5"),
            T0 + 7 * i,
            i % 3 == 0,
        )
        for i in range(first, last + 1)
    ]


class FlakyDatabase(Database):
    """A database whose server can go away (`down`) or stall (`gate` cleared) on demand."""

    def __init__(self, url: str | None, data_dir: Path) -> None:
        super().__init__(url, data_dir)
        self.down = False
        self.gate: asyncio.Event | None = None
        self.attempts = 0

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        self.attempts += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise DatabaseUnavailable(
                f"cannot reach the database at {self.display_url}: connection refused"
            )
        return await super().call(fn, *args)


@pytest.fixture
async def flaky(tmp_path: Path) -> AsyncIterator[FlakyDatabase]:
    database = FlakyDatabase(None, tmp_path / "flaky")
    await database.migrate()
    try:
        yield database
    finally:
        database.down, database.gate = False, None
        await database.close()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0 / 1000)


@pytest.fixture
async def rt(clock: VirtualClock) -> AsyncIterator[Runtime]:
    runtime = Runtime(clock)
    yield runtime
    errors = list(runtime.errors)
    await runtime.shutdown()
    await runtime.quiesce()
    assert errors == [], f"a process crashed during the test: {errors}"


@pytest.fixture
def pubsub(rt: Runtime) -> PubSub:
    return PubSub(rt)
