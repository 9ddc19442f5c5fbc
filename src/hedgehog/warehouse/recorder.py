"""Recorders: processes that store what is published on one pub/sub topic, in batches.

- `TradeRecorder` on `TRADE_EVENTS:<SYMBOL>` writes trade events with
  `TradeEventRepo.insert_many` (a trade already stored is skipped, so re-publishing is harmless).
- `OrderRecorder` on `ORDERS:<SYMBOL>` writes each update's order into the order ledger (the
  upsert of `OrderRepo.upsert`, by client order id; rows only move forward, so repeated or
  late updates are harmless too).

Both buffer what arrives and write a batch when the buffer reaches `batch_size`, when
`flush_interval` seconds (of the runtime's clock) have passed since the first event of the
batch arrived, on a `"flush"` call, and when they stop (what is still in the mailbox then is
written as well). The write is awaited in the recorder's own callback, so publishers never
wait: pub/sub only appends to the recorder's mailbox, where events queue while a write is in
flight. A batch is written in one transaction; a backlog goes in several `batch_size` writes,
so other database work (traders' saves) is not held up behind one huge write.

When the database fails (unreachable, slow, closed), the recorder keeps its buffer, counts the
error and tries again after a backoff (`retry_initial`, doubling up to `retry_max`), without
size-triggered writes in between. Memory stays bounded: past `max_buffer` events the oldest
are dropped and counted. Warnings about either are logged at most once per `warn_interval`.
Nothing here raises out of a callback, so a database outage never takes down the recorder,
let alone trading.

Writes are idempotent, so a write whose outcome is unknown (the connection was lost around
the commit) is simply retried. A batch that the database refuses for good (no such case is
known with our own events) would be retried until dropped by the bound.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy.orm import Session

from hedgehog.core.errors import ConfigError, HedgehogError
from hedgehog.core.types import OrderUpdate, TradeEvent
from hedgehog.runtime import Process
from hedgehog.runtime.process import INFO
from hedgehog.runtime.pubsub import PubSub
from hedgehog.store.db import Database
from hedgehog.store.orders import order_values, write_order
from hedgehog.store.trades import TradeEventRepo
from hedgehog.warehouse.topics import ORDERS, TRADES, parse_topic

log = logging.getLogger("hedgehog.warehouse")

E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class _Flush:
    """The flush timer's message."""

    generation: int


@dataclass(frozen=True, slots=True)
class RecorderOptions:
    """How recorders batch, retry and bound their buffers."""

    batch_size: int = 1_000
    flush_interval: float = 1.0  # seconds a buffered event waits at most (DB permitting)
    max_buffer: int = 100_000  # past this many buffered events, the oldest are dropped
    retry_initial: float = 1.0  # seconds before the first retry after a failed write
    retry_max: float = 60.0  # the backoff doubles up to this
    warn_interval: float = 60.0  # at most one warning of each kind per this many seconds

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_buffer < self.batch_size:
            raise ConfigError(
                f"recorder batch_size must be >= 1 and max_buffer >= batch_size "
                f"(got {self.batch_size} and {self.max_buffer})"
            )
        if not (self.flush_interval > 0 and 0 < self.retry_initial <= self.retry_max):
            raise ConfigError(
                "recorder flush_interval and retry_initial must be positive, "
                "and retry_max >= retry_initial"
            )
        if self.warn_interval < 0:
            raise ConfigError("recorder warn_interval must be >= 0")


class Recorder(Process, Generic[E]):
    """What both recorders share: the buffer, batching, retries, the bound and the counts.

    `await rt.start(TradeRecorder, "TRADE_EVENTS:XRPUSDT", pubsub, db, options)`.
    Calls: `"flush"` (write the buffer now; replies with `info()` once done), `"info"`.
    """

    accepts: ClassVar[type[Any]]
    topic_kind: ClassVar[str]

    def init(
        self, topic: str, pubsub: PubSub, db: Database, options: RecorderOptions | None = None
    ) -> None:
        kind, symbol = parse_topic(topic)
        if kind != self.topic_kind:
            raise ConfigError(f"a {type(self).__name__} records {self.topic_kind}:<SYMBOL> topics")
        self.topic = f"{kind}:{symbol}"
        self.symbol = symbol
        self.pubsub = pubsub
        self.db = db
        self.options = options or RecorderOptions()
        self.buffer: deque[E] = deque()
        self.written = 0  # events handed to the database in successful writes
        self.dropped = 0  # oldest events dropped past max_buffer
        self.errors = 0  # failed writes
        self.flushes = 0  # successful writes
        self.last_flush_at: float | None = None  # runtime clock time of the last good write
        self.last_error: str | None = None
        self._retry_delay = 0.0  # > 0 while backing off after a failed write
        self._timer: Any = None
        self._generation = 0
        self._warned: dict[str, float] = {}
        self._unreported: dict[str, int] = {}
        pubsub.subscribe(self, self.topic)

    # -- callbacks --------------------------------------------------------------------------
    def handle_info(self, message: Any) -> Any:
        if isinstance(message, self.accepts):
            self._add(message)
            if len(self.buffer) >= self.options.batch_size and not self._retry_delay:
                return self._flush()
            return None
        if isinstance(message, _Flush) and message.generation == self._generation:
            self._timer = None  # (a timer cancelled after it fired has an older generation)
            return self._flush()
        return None

    async def handle_call(self, request: Any, from_: Any) -> Any:
        if request == "flush":
            await self._flush()
            return self.info()
        if request == "info":
            return self.info()
        raise NotImplementedError(f"{type(self).__name__} got an unexpected call: {request!r}")

    async def terminate(self, reason: Any) -> None:
        self.pubsub.unsubscribe(self, self.topic)
        for kind, payload, _ in self.mailbox:  # published before the stop, not handled yet
            if kind == INFO and isinstance(payload, self.accepts):
                self._add(payload)
        self._cancel_timer()
        if self.buffer:
            await self._flush()
        if self.buffer:
            log.error(
                "%s: stopped with %d events not written (%s)",
                self.topic,
                len(self.buffer),
                self.last_error,
            )

    def info(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "written": self.written,
            "buffered": len(self.buffer),
            "dropped": self.dropped,
            "errors": self.errors,
            "flushes": self.flushes,
            "last_flush_at": self.last_flush_at,
            "last_error": self.last_error,
            "retry_in": self._retry_delay or None,
        }

    # -- the work ---------------------------------------------------------------------------
    async def write(self, batch: Sequence[E]) -> None:
        """Store one batch (idempotently), in one transaction."""
        raise NotImplementedError

    def _add(self, event: E) -> None:
        buffer = self.buffer
        if len(buffer) >= self.options.max_buffer:
            buffer.popleft()
            self.dropped += 1
            if n := self._due("dropped"):
                log.warning(
                    "%s: the buffer is full (%d events: the database is slow or unreachable); "
                    "dropped the oldest (%d since the last warning, %d in all)",
                    self.topic,
                    self.options.max_buffer,
                    n,
                    self.dropped,
                )
        buffer.append(event)
        if self._timer is None:
            self._arm(self.options.flush_interval)

    async def _flush(self) -> None:
        """Write the buffer in batches; on a failure keep what is left and retry later."""
        buffer = self.buffer
        size = self.options.batch_size
        while buffer:
            n = min(len(buffer), size)
            batch = list(islice(buffer, n))
            try:
                await self.write(batch)
            except Exception as exc:
                self._failed(exc)
                return
            for _ in range(n):  # nothing else touched the buffer while the write ran
                buffer.popleft()
            self.written += n
            self.flushes += 1
            self.last_flush_at = self.rt.clock.time()
            if self._retry_delay:
                log.warning("%s: writing again (%d failed writes in all)", self.topic, self.errors)
                self._retry_delay = 0.0
                self._warned.pop("failed", None)  # warn at once about the next outage
                self._unreported.pop("failed", None)
        self._cancel_timer()

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        self.last_error = _describe(exc)
        opts = self.options
        delay = (
            min(self._retry_delay * 2, opts.retry_max) if self._retry_delay else opts.retry_initial
        )
        self._retry_delay = delay
        self._arm(delay)
        if self._due("failed"):
            log.warning(
                "%s: cannot write %d buffered events: %s; retrying in %gs (%d failed writes)",
                self.topic,
                len(self.buffer),
                self.last_error,
                delay,
                self.errors,
            )

    def _due(self, kind: str) -> int:
        """Rate-limits warnings: how many things of this kind happened since the last warning
        of it, when one is due now (at most one per `warn_interval`); 0 when it is not."""
        self._unreported[kind] = self._unreported.get(kind, 0) + 1
        now = self.rt.clock.monotonic()
        if now - self._warned.get(kind, -math.inf) < self.options.warn_interval:
            return 0
        self._warned[kind] = now
        return self._unreported.pop(kind)

    def _arm(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._generation += 1
        self._timer = self.rt.send_after(self, _Flush(self._generation), delay)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._generation += 1


class TradeRecorder(Recorder[TradeEvent]):
    """Records `TradeEvent`s of one `TRADE_EVENTS:<SYMBOL>` topic into `trade_events`."""

    accepts = TradeEvent
    topic_kind = TRADES

    def init(
        self, topic: str, pubsub: PubSub, db: Database, options: RecorderOptions | None = None
    ) -> None:
        super().init(topic, pubsub, db, options)
        self.repo = TradeEventRepo(db)

    async def write(self, batch: Sequence[TradeEvent]) -> None:
        await self.repo.insert_many(batch)


class OrderRecorder(Recorder[OrderUpdate]):
    """Records the orders of `OrderUpdate`s of one `ORDERS:<SYMBOL>` topic into `orders`."""

    accepts = OrderUpdate
    topic_kind = ORDERS

    async def write(self, batch: Sequence[OrderUpdate]) -> None:
        values = [order_values(update.order) for update in batch]
        await self.db.run(partial(_upsert_all, values=values))


def _describe(exc: Exception) -> str:
    """One line about a failed write: our own errors say it all; others get their type."""
    first = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, HedgehogError) and first:
        return first
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _upsert_all(session: Session, values: list[dict[str, Any]]) -> None:
    """`OrderRepo.upsert` of each order, in order, in one transaction."""
    for row in values:
        write_order(session, row)
