"""Symbol leases on real PostgreSQL (`hedgehog.store.leases`): a free lease is taken at epoch
1, a held one refused, an expired one taken over at epoch + 1; renew and release only at
one's own epoch; many concurrent acquirers leave exactly one holder; a fenced write with a
stale epoch raises `FencedError` and writes nothing. Skipped (with the reason) without a
PostgreSQL server; on SQLite a cluster is refused with a clear error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import text

from hedgehog.core.errors import ConfigError
from hedgehog.store import Database
from hedgehog.store import leases as L
from hedgehog.store.errors import FencedError
from hedgehog.store.leases import Fence
from tests.store.conftest import pg_schema_url  # noqa: F401 (the fixture)

C, S = "c1", "XRPUSDT"


@pytest.fixture
async def pg(pg_schema_url: str) -> AsyncIterator[Database]:  # noqa: F811
    db = Database(pg_schema_url)
    await db.migrate()
    try:
        yield db
    finally:
        await db.close()


async def expire(db: Database, symbol: str = S) -> None:
    """Move the lease's expiry into the past (the database's clock goes on without us)."""
    await db.run(
        lambda s: s.execute(
            text(
                "UPDATE symbol_leases SET expires_at = clock_timestamp() - interval '1 second' "
                "WHERE cluster = :c AND symbol = :s"
            ),
            {"c": C, "s": symbol},
        )
    )


async def test_acquire_free_refuse_held_take_expired(pg: Database) -> None:
    assert await pg.run(partial(L.acquire, cluster=C, symbol=S, node="a", ttl=30)) == 1
    assert await pg.run(partial(L.acquire, cluster=C, symbol=S, node="b", ttl=30)) is None
    # its own holder may take it again (after a self-fence): a new epoch fences its past
    assert await pg.run(partial(L.acquire, cluster=C, symbol=S, node="a", ttl=30)) == 2
    await expire(pg)
    assert await pg.run(partial(L.acquire, cluster=C, symbol=S, node="b", ttl=30)) == 3
    held = await pg.run(partial(L.holders, cluster=C))
    assert [(h.symbol, h.node, h.epoch, h.expired) for h in held] == [(S, "b", 3, False)]
    log = await pg.run(partial(L.events, cluster=C))
    assert [(e["from_node"], e["to_node"], e["epoch"], e["reason"]) for e in log] == [
        (None, "a", 1, "acquired"),
        ("a", "a", 2, "reacquired"),
        ("a", "b", 3, "expired-takeover"),
    ]


async def test_renew_and_release_only_at_own_epoch(pg: Database) -> None:
    await pg.run(partial(L.acquire, cluster=C, symbol=S, node="a", ttl=30))
    a1 = Fence(C, S, "a", 1)
    assert await pg.run(partial(L.renew, fence=a1, ttl=30))
    assert not await pg.run(partial(L.renew, fence=Fence(C, S, "b", 1), ttl=30))
    assert not await pg.run(partial(L.renew, fence=Fence(C, S, "a", 2), ttl=30))
    await expire(pg)
    assert not await pg.run(partial(L.renew, fence=a1, ttl=30)), "an expired lease is gone"
    assert await pg.run(partial(L.acquire, cluster=C, symbol=S, node="b", ttl=30)) == 2
    assert not await pg.run(partial(L.release, fence=a1)), "a stale epoch releases nothing"
    assert [h.node for h in await pg.run(partial(L.holders, cluster=C))] == ["b"]
    assert await pg.run(partial(L.release, fence=Fence(C, S, "b", 2)))
    assert await pg.run(partial(L.acquire, cluster=C, symbol=S, node="a", ttl=30)) == 3
    log = await pg.run(partial(L.events, cluster=C))
    assert [e["reason"] for e in log][-2:] == ["released", "acquired"]


async def test_concurrent_acquirers_leave_one_holder(pg_schema_url: str) -> None:  # noqa: F811
    """20 nodes (each its own connection) race for a free, then an expired lease: one wins
    each time, with epochs 1 then 2."""
    dbs = [Database(pg_schema_url) for _ in range(20)]
    try:
        await dbs[0].migrate()
        for round_, want in ((0, 1), (1, 2)):
            if round_:
                await expire(dbs[0])
            got = await asyncio.gather(
                *(
                    db.run(partial(L.acquire, cluster=C, symbol=S, node=f"n{i}", ttl=30))
                    for i, db in enumerate(dbs)
                )
            )
            assert sorted(g for g in got if g is not None) == [want], got
    finally:
        for db in dbs:
            await db.close()


async def test_a_stale_fence_writes_nothing(pg: Database) -> None:
    await pg.run(partial(L.acquire, cluster=C, symbol=S, node="a", ttl=30))
    await pg.run(lambda s: L.check_fence(s, Fence(C, S, "a", 1)))  # holds
    await expire(pg)
    await pg.run(partial(L.acquire, cluster=C, symbol=S, node="b", ttl=30))

    def fenced_write(session: object) -> None:
        L.check_fence(session, Fence(C, S, "a", 1))  # type: ignore[arg-type]
        session.execute(text("INSERT INTO cluster_nodes VALUES ('x','y',now(),now(),null)"))  # type: ignore[attr-defined]

    with pytest.raises(FencedError, match="epoch 1"):
        await pg.run(fenced_write)
    assert await pg.run(partial(L.nodes, cluster="x", ttl=30)) == []
    with pytest.raises(FencedError):  # the new holder's epoch, but another node
        await pg.run(lambda s: L.check_fence(s, Fence(C, S, "a", 2)))


async def test_a_fence_needs_the_epoch_and_an_unexpired_lease(pg: Database) -> None:
    await pg.run(partial(L.acquire, cluster=C, symbol=S, node="a", ttl=30))
    assert await pg.run(partial(L.acquire, cluster=C, symbol=S, node="a", ttl=30)) == 2
    with pytest.raises(FencedError):  # the same node's older epoch (before its self-fence)
        await pg.run(lambda s: L.check_fence(s, Fence(C, S, "a", 1)))
    await pg.run(lambda s: L.check_fence(s, Fence(C, S, "a", 2)))
    await expire(pg)  # nobody took it over, but it has expired
    with pytest.raises(FencedError):
        await pg.run(lambda s: L.check_fence(s, Fence(C, S, "a", 2)))


async def test_sqlite_is_refused_for_a_cluster(tmp_path: Path) -> None:
    db = Database(None, tmp_path)
    try:
        with pytest.raises(ConfigError, match=r"a cluster needs PostgreSQL.*HEDGEHOG_DATABASE_URL"):
            L.require_postgresql(db)
    finally:
        await db.close()
