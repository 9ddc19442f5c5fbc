"""The lease coordinator of a cluster node: which symbols this node trades, and for how long.

Every `ttl / 3` seconds (`tick`): a heartbeat; each held lease renewed (one that cannot be is
lost: its traders stop here at once); then the fair share, ceil(symbols / live nodes):
above it, the extra symbols are given up cleanly (traders stopped first, then the lease
released: never two owners); below it, free or expired symbols are taken (the lease row
first, then the traders, which recover their stored states and reconcile their orders with
the exchange: the restart path).

Self-fencing does not need the database: each lease has a local deadline on the monotonic
clock, (start of the last successful renewal) + ttl - margin, before the database's expiry.
A watchdog stops the symbol's traders when it passes (database down, the loop too slow), and
from then on `fence` refuses the symbol's writes and `may_send` its orders. The database
check of every write (`hedgehog.store.leases.check_fence`) covers a node that was paused
past it (SIGSTOP, a long GC): what it tries on waking is refused by the epoch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from hedgehog.core.errors import HedgehogError, StoreUnavailable
from hedgehog.store import leases
from hedgehog.store.db import Database
from hedgehog.store.errors import FencedError
from hedgehog.store.leases import Fence

log = logging.getLogger("hedgehog.cluster")


class Trading(Protocol):
    """What the coordinator asks of its node."""

    async def start_trading(self, symbol: str) -> None:
        """Recover the symbol's traders from the store, reconcile, trade."""
        ...

    async def stop_trading(self, symbol: str) -> None:
        """Stop the symbol's traders here, now, without the database; orders stay."""
        ...


@dataclass
class Held:
    fence: Fence
    deadline: float  # monotonic: stop trading before this (the lease runs a bit longer)


class Coordinator:
    """One node's leases in `cluster`. `await tick()` once, or `run()` as a task."""

    def __init__(
        self,
        db: Database,
        cluster: str,
        node: str,
        trading: Trading,
        symbols: Callable[[], Awaitable[list[str]]],
        ttl: float = 10.0,
        margin: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        leases.require_postgresql(db)
        if ttl <= 0:
            raise ValueError(f"the lease ttl must be positive, not {ttl}")
        self.db, self.cluster, self.node, self.trading = db, cluster, node, trading
        self.symbols, self.ttl, self.clock = symbols, ttl, clock
        self.margin = ttl / 4 if margin is None else margin
        self.held: dict[str, Held] = {}
        self.stopped: list[tuple[str, str]] = []  # (symbol, why) of local stops, for status
        self._closing = False

    # -- asked by the store and the traders -------------------------------------------------
    def fence(self, symbol: str) -> Fence:
        """The fence of a write of `symbol` (`SqlTraderStore.fence_for`)."""
        held = self.held.get(symbol)
        if held is None or self.clock() >= held.deadline:
            raise FencedError(f"{symbol}: node {self.node!r} does not hold its lease")
        return held.fence

    def may_send(self, symbol: str) -> bool:
        """Whether an order of `symbol` may go out now (`NaiveContext.may_send`)."""
        held = self.held.get(symbol)
        return held is not None and self.clock() < held.deadline

    # -- the loop ----------------------------------------------------------------------------
    async def run(self) -> None:
        """`tick` every ttl / 3 with the watchdog beside it, until cancelled."""
        watchdog = asyncio.create_task(self.watchdog())
        try:
            while True:
                try:
                    await self.tick()
                except (StoreUnavailable, RuntimeError) as exc:
                    log.warning("cluster %s: cannot reach the database (%s)", self.cluster, exc)
                await asyncio.sleep(self.ttl / 3)
        except Exception:
            log.exception("cluster %s: the coordinator failed; its symbols stop", self.cluster)
            for symbol in list(self.held):
                await self._drop(symbol, "the coordinator failed")
            raise
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog

    async def watchdog(self) -> None:
        """Stop each symbol whose local deadline has passed (no database needed)."""
        while True:
            await self.expire_overdue()
            await asyncio.sleep(min(0.25, self.margin / 4))

    async def expire_overdue(self) -> list[str]:
        now = self.clock()
        overdue = [s for s, h in self.held.items() if now >= h.deadline]
        for symbol in overdue:
            await self._drop(symbol, "its lease could not be renewed in time (self-fenced)")
        return overdue

    async def tick(self) -> None:
        """One round: heartbeat, renew, then give up or take symbols toward the fair share."""
        await self.expire_overdue()
        await self.db.run(
            partial(leases.heartbeat, cluster=self.cluster, node=self.node, info=None)
        )
        for symbol, held in list(self.held.items()):
            sent = self.clock()
            renewed = await self.db.run(partial(leases.renew, fence=held.fence, ttl=self.ttl))
            if self.held.get(symbol) is not held:
                continue  # dropped meanwhile by the watchdog
            if renewed:
                held.deadline = sent + self.ttl - self.margin
            else:
                await self._drop(symbol, "its lease was lost (expired or taken over)")
        if not self._closing:
            await self.rebalance()

    async def rebalance(self) -> None:
        wanted = sorted(await self.symbols())
        live = [n for n, alive in await self._nodes() if alive] or [self.node]
        share = math.ceil(len(wanted) / max(1, len(live)))
        for symbol in sorted(set(self.held) - set(wanted)):
            await self.give_up(symbol, "released")  # no longer on in the store
        extra = len(self.held) - share
        for symbol in sorted(self.held, reverse=True)[: max(0, extra)]:
            await self.give_up(symbol, "rebalanced")
        rows = {
            row.symbol: row
            for row in await self.db.run(partial(leases.holders, cluster=self.cluster))
        }
        for symbol in wanted:
            if len(self.held) >= share:
                break
            row = rows.get(symbol)
            taken = row is not None and row.node not in (None, self.node) and not row.expired
            if symbol in self.held or taken:
                continue  # ours already, or another node's lease runs
            await self.take(symbol)

    async def take(self, symbol: str) -> bool:
        """Acquire `symbol`'s lease and start its traders (which recover and reconcile)."""
        sent = self.clock()
        epoch = await self.db.run(
            partial(
                leases.acquire, cluster=self.cluster, symbol=symbol, node=self.node, ttl=self.ttl
            )
        )
        if epoch is None:
            return False
        fence = Fence(self.cluster, symbol, self.node, epoch)
        self.held[symbol] = Held(fence, sent + self.ttl - self.margin)
        log.info("cluster %s: %s takes %s at epoch %d", self.cluster, self.node, symbol, epoch)
        try:
            await self.trading.start_trading(symbol)
        except HedgehogError as exc:
            log.error("cluster %s: %s cannot start (%s); released", self.cluster, symbol, exc)
            await self.give_up(symbol, "released")
            return False
        return True

    async def give_up(self, symbol: str, reason: str = "released") -> None:
        """Stop `symbol`'s traders, then release its lease (in that order: never two owners)."""
        held = self.held.pop(symbol, None)
        if held is None:
            return
        await self.trading.stop_trading(symbol)
        with contextlib.suppress(StoreUnavailable):  # unreleased: it expires instead
            await self.db.run(partial(leases.release, fence=held.fence, reason=reason))

    async def close(self) -> None:
        """A clean shutdown: every symbol given up, the node forgotten."""
        self._closing = True
        for symbol in sorted(self.held):
            await self.give_up(symbol)
        with contextlib.suppress(StoreUnavailable):
            await self.db.run(partial(leases.leave, cluster=self.cluster, node=self.node))

    def info(self) -> dict[str, Any]:
        now = self.clock()
        return {
            "cluster": self.cluster,
            "node": self.node,
            "held": {
                s: {"epoch": h.fence.epoch, "seconds_left": round(h.deadline - now, 3)}
                for s, h in sorted(self.held.items())
            },
            "stopped": self.stopped[-20:],
        }

    async def _drop(self, symbol: str, why: str) -> None:
        if self.held.pop(symbol, None) is None:
            return
        log.warning("cluster %s: %s stops %s: %s", self.cluster, self.node, symbol, why)
        self.stopped.append((symbol, why))
        await self.trading.stop_trading(symbol)

    async def _nodes(self) -> list[tuple[str, bool]]:
        return await self.db.run(partial(leases.nodes, cluster=self.cluster, ttl=self.ttl))
