"""`hedgehog run --cluster NAME`: a node of a cluster (issue 15).

The node shares its PostgreSQL store with the cluster's other nodes (no store lock) and
trades only the symbols whose leases its coordinator holds (`hedgehog.cluster.coordinator`),
all of them among the symbols on in the store. `--symbols` (with settings) are stored as on
for the cluster, not started here directly. On the way out the node stops its traders and
releases its leases, so the other nodes take its symbols at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from hedgehog.cluster.coordinator import Coordinator
from hedgehog.cluster.lease_node import NodeTrading, attach, cluster_symbols
from hedgehog.core.errors import ConfigError
from hedgehog.store import Database, SettingsRepo
from hedgehog.store.leases import require_postgresql
from hedgehog.store.serde import strategy_spec
from hedgehog.strategy.registry import load_strategy

if TYPE_CHECKING:
    from hedgehog.config import Settings
    from hedgehog.live.node import LiveNode


@dataclass(frozen=True)
class ClusterOptions:
    name: str
    node: str
    ttl: float


def cluster_options(
    name: str | None, node: str | None, ttl: float, settings: Settings, db: Database
) -> ClusterOptions | None:
    """The options checked now: a cluster needs PostgreSQL and a shared exchange."""
    if name is None:
        if node is not None:
            raise ConfigError("--node-name needs --cluster NAME")
        return None
    if not name.strip():
        raise ConfigError("--cluster needs a name")
    require_postgresql(db)
    if settings.exchange == "paper":
        raise ConfigError(
            "a cluster trades on a shared exchange (--exchange binance, or the simulator): "
            "paper orders live in one process only"
        )
    return ClusterOptions(name.strip(), node or f"{socket.gethostname()}-{os.getpid()}", ttl)


async def declare(node: LiveNode, db: Database, trading: Any) -> None:
    """`--symbols` of a cluster node: stored as on (with their settings, when given), for
    whichever node holds their lease."""
    repo = SettingsRepo(db)
    for symbol in trading.symbols:
        filters = await node.exchange.symbol_filters(symbol)
        await repo.seed_from_exchange_info({symbol: filters})
        given = trading.settings.get(symbol)
        if given is not None:
            params = given.as_dict()
            params.pop("symbol", None)
            await repo.set(symbol, strategy_spec(load_strategy(trading.strategy)), params, filters)
        await repo.set_status(symbol, "on")


@contextlib.asynccontextmanager
async def coordinating(node: LiveNode, db: Database, options: ClusterOptions) -> Any:
    """The node's coordinator running beside it; its symbols given up cleanly on exit."""
    coordinator = Coordinator(
        db,
        options.name,
        options.node,
        NodeTrading(node),
        partial(cluster_symbols, db),
        ttl=options.ttl,
    )
    attach(node.naive, coordinator)
    task = asyncio.create_task(coordinator.run())
    try:
        yield coordinator
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await coordinator.close()
