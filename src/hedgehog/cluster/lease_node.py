"""A live node under the lease coordinator: what `hedgehog run --cluster` wires together.

- `NodeTrading`: the coordinator's `Trading` on a `LiveNode`. Starting a symbol is the node's
  `start_trading` (traders recovered from the store, their orders reconciled with the
  exchange, as after a restart); stopping it is local and needs no database (`stop_locally`):
  the durable status stays on, so the next owner trades it, and its orders stay for that
  owner to reconcile.
- `attach`: the store's writes of a symbol fenced by the coordinator's lease, and each order
  sent only while the local lease deadline holds.
- `cluster_symbols`: what a cluster trades, the symbols on (or shutting down) in the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hedgehog.naive.api import Naive
from hedgehog.naive.context import OFF, SYMBOLS, symbol_name
from hedgehog.runtime import terminate_child
from hedgehog.store import Database, SettingsRepo, SqlTraderStore

if TYPE_CHECKING:
    from hedgehog.cluster.coordinator import Coordinator
    from hedgehog.live.node import LiveNode


async def stop_locally(naive: Naive, symbol: str) -> bool:
    """Stop the symbol's tree here without writing anything (its durable status stays)."""
    naive.ctx.status[symbol] = OFF  # this node's view only: no `on_status`
    pid = naive.rt.whereis(symbol_name(symbol))
    if pid is None:
        return False
    await terminate_child(naive.rt, SYMBOLS, pid)
    return True


class NodeTrading:
    """`Trading` on a live node."""

    def __init__(self, node: LiveNode) -> None:
        self.node = node

    async def start_trading(self, symbol: str) -> None:
        await self.node.start_trading(symbol)

    async def stop_trading(self, symbol: str) -> None:
        await stop_locally(self.node.naive, symbol)


def attach(naive: Naive, coordinator: Coordinator) -> None:
    """Fence the node's trader store and its orders by the coordinator's leases."""
    store = naive.ctx.store
    if isinstance(store, SqlTraderStore):
        store.fence_for = coordinator.fence
    naive.ctx.may_send = coordinator.may_send


async def cluster_symbols(db: Database) -> list[str]:
    """The symbols a cluster trades: those on (or shutting down) in the shared store."""
    repo = SettingsRepo(db)
    on = await repo.symbols_with_status("on")
    return sorted({*on, *await repo.symbols_with_status("shutdown")})
