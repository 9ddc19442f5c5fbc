"""Symbol leases of a cluster (issue 15): SQL only, no policy (that is `hedgehog.cluster`).

Each symbol of a cluster is traded by at most one node: the holder of its row in
`symbol_leases`, until `expires_at`. Every time is the database's clock
(`clock_timestamp()`), never a node's. The fencing `epoch` only grows: each acquisition of a
free, released or expired lease increments it, in one statement
(`INSERT ... ON CONFLICT DO UPDATE ... WHERE free, expired or ours RETURNING epoch`): PostgreSQL
locks the row and re-checks the condition on its newest version, so of many concurrent
acquirers exactly one wins.

A `Fence(cluster, symbol, node, epoch)` goes with every write that leads to an order
(`check_fence`, first thing in the writing transaction): the lease row must still be this
node's, at this epoch, unexpired. `FOR SHARE` makes a concurrent takeover (an UPDATE of that
row) wait for the write to commit, and the write wait for a takeover under way; a takeover
that wins first makes the check find no row: `FencedError`, and nothing is written.

Cluster mode needs PostgreSQL: `require_postgresql` says so clearly on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from hedgehog.core.errors import ConfigError
from hedgehog.store.db import Database
from hedgehog.store.errors import FencedError

NOW = "clock_timestamp()"
TTL = "make_interval(secs => :ttl)"


@dataclass(frozen=True, slots=True)
class Fence:
    """What a write must prove: `node` holds `symbol` of `cluster` at `epoch`."""

    cluster: str
    symbol: str
    node: str
    epoch: int


@dataclass(frozen=True, slots=True)
class Lease:
    """One row of `symbol_leases` (`node` None: released)."""

    symbol: str
    node: str | None
    epoch: int
    expires_at: datetime
    acquired_at: datetime
    renewed_at: datetime
    expired: bool


def require_postgresql(db: Database) -> None:
    """`ConfigError` unless `db` is PostgreSQL (a cluster's nodes share one database)."""
    if db.dialect != "postgresql":
        raise ConfigError(
            f"a cluster needs PostgreSQL, not {db.dialect} ({db.display_url}): "
            "set HEDGEHOG_DATABASE_URL=postgresql://..."
        )


_ACQUIRE = text(
    f"""
    WITH old AS (
        SELECT node, expires_at <= {NOW} AS expired FROM symbol_leases
        WHERE cluster = :c AND symbol = :s
    ), won AS (
        INSERT INTO symbol_leases AS l
            (cluster, symbol, node, epoch, expires_at, acquired_at, renewed_at)
        VALUES (:c, :s, :n, 1, {NOW} + {TTL}, {NOW}, {NOW})
        ON CONFLICT (cluster, symbol) DO UPDATE
            SET node = EXCLUDED.node, epoch = l.epoch + 1, expires_at = EXCLUDED.expires_at,
                acquired_at = EXCLUDED.acquired_at, renewed_at = EXCLUDED.renewed_at
            WHERE l.node IS NULL OR l.expires_at <= {NOW} OR l.node = EXCLUDED.node
        RETURNING epoch
    )
    SELECT won.epoch, old.node, old.expired FROM won LEFT JOIN old ON true
    """
)


def acquire(session: Session, cluster: str, symbol: str, node: str, ttl: float) -> int | None:
    """Take the lease if free, released, expired or already ours (a node that self-fenced
    takes its own lease back: the new epoch fences its older writes): the new epoch; None
    while another node's lease runs."""
    row = session.execute(_ACQUIRE, {"c": cluster, "s": symbol, "n": node, "ttl": ttl}).first()
    if row is None:
        return None
    epoch, before, expired = row
    reason = "acquired"
    if before is not None and expired:
        reason = "expired-takeover"
    elif before == node:
        reason = "reacquired"  # its own lease, after it stopped trading it (self-fenced)
    log_event(session, cluster, symbol, before, node, epoch, reason)
    return int(epoch)


def renew(session: Session, fence: Fence, ttl: float) -> bool:
    """Extend our own unexpired lease by `ttl` from now; False if it is gone."""
    row = session.execute(
        text(
            f"UPDATE symbol_leases SET expires_at = {NOW} + {TTL}, renewed_at = {NOW} "
            "WHERE cluster = :c AND symbol = :s AND node = :n AND epoch = :e "
            f"AND expires_at > {NOW} RETURNING epoch"
        ),
        {**_params(fence), "ttl": ttl},
    ).first()
    return row is not None


def release(session: Session, fence: Fence, reason: str = "released") -> bool:
    """Give our lease up now (only at our epoch): the next acquirer gets epoch + 1."""
    row = session.execute(
        text(
            f"UPDATE symbol_leases SET node = NULL, expires_at = {NOW} "
            "WHERE cluster = :c AND symbol = :s AND node = :n AND epoch = :e RETURNING epoch"
        ),
        _params(fence),
    ).first()
    if row is not None:
        log_event(session, fence.cluster, fence.symbol, fence.node, None, fence.epoch, reason)
    return row is not None


def check_fence(session: Session, fence: Fence) -> None:
    """`FencedError` unless `fence` still holds; first thing in a fenced transaction."""
    row = session.execute(
        text(
            "SELECT epoch FROM symbol_leases WHERE cluster = :c AND symbol = :s "
            f"AND node = :n AND epoch = :e AND expires_at > {NOW} FOR SHARE"
        ),
        _params(fence),
    ).first()
    if row is None:
        raise FencedError(
            f"{fence.symbol}: node {fence.node!r} no longer holds its lease in cluster "
            f"{fence.cluster!r} at epoch {fence.epoch} (taken over or expired): write refused"
        )


def holders(session: Session, cluster: str) -> list[Lease]:
    """Every lease row of the cluster, by symbol."""
    rows = session.execute(
        text(
            "SELECT symbol, node, epoch, expires_at, acquired_at, renewed_at, "
            f"expires_at <= {NOW} FROM symbol_leases WHERE cluster = :c ORDER BY symbol"
        ),
        {"c": cluster},
    )
    return [Lease(*row) for row in rows]


def heartbeat(session: Session, cluster: str, node: str, info: dict[str, Any] | None) -> None:
    """Say `node` is alive now (registers it on its first beat)."""
    session.execute(
        text(
            "INSERT INTO cluster_nodes (cluster, node, started_at, heartbeat_at, info) "
            f"VALUES (:c, :n, {NOW}, {NOW}, CAST(:info AS json)) "
            "ON CONFLICT (cluster, node) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at"
        ),
        {"c": cluster, "n": node, "info": None if info is None else _json(info)},
    )


def nodes(session: Session, cluster: str, ttl: float) -> list[tuple[str, bool]]:
    """(node, live) of the cluster's nodes; live: a heartbeat within `ttl` seconds."""
    rows = session.execute(
        text(
            f"SELECT node, heartbeat_at > {NOW} - {TTL} FROM cluster_nodes "
            "WHERE cluster = :c ORDER BY node"
        ),
        {"c": cluster, "ttl": ttl},
    )
    return [(str(name), bool(live)) for name, live in rows]


def leave(session: Session, cluster: str, node: str) -> None:
    """Forget a node that stopped cleanly (its leases released first)."""
    session.execute(
        text("DELETE FROM cluster_nodes WHERE cluster = :c AND node = :n"),
        {"c": cluster, "n": node},
    )


def log_event(
    session: Session,
    cluster: str,
    symbol: str,
    from_node: str | None,
    to_node: str | None,
    epoch: int,
    reason: str,
) -> None:
    """One line of the failover log (`lease_events`)."""
    session.execute(
        text(
            "INSERT INTO lease_events (cluster, symbol, from_node, to_node, epoch, at, reason) "
            f"VALUES (:c, :s, :f, :t, :e, {NOW}, :r)"
        ),
        {"c": cluster, "s": symbol, "f": from_node, "t": to_node, "e": epoch, "r": reason},
    )


def events(session: Session, cluster: str) -> list[dict[str, Any]]:
    """The cluster's failover log, oldest first."""
    rows = session.execute(
        text(
            "SELECT symbol, from_node, to_node, epoch, at, reason FROM lease_events "
            "WHERE cluster = :c ORDER BY id"
        ),
        {"c": cluster},
    )
    return [dict(row._mapping) for row in rows]


def _params(fence: Fence) -> dict[str, Any]:
    return {"c": fence.cluster, "s": fence.symbol, "n": fence.node, "e": fence.epoch}


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, sort_keys=True)
