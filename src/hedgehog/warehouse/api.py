"""The warehouse application's API: which pub/sub topics are recorded into the database.

    warehouse = Warehouse(rt, pubsub, db)         # db: a migrated `hedgehog.store.Database`
    node = Node([..., warehouse.child_spec()])    # or: await warehouse.start()
    await warehouse.boot()                        # the topics stored as on record again
    await warehouse.start_recording("TRADE_EVENTS:XRPUSDT")
    await warehouse.start_recording("ORDERS:xrpusdt")
    warehouse.status()                            # per topic: written, buffered, dropped, ...

The tree is one `DynamicSupervisor` ("warehouse.recorders") with a recorder per topic
(`TradeRecorder` or `OrderRecorder`, registered as ("warehouse.recorder", topic)). Which
topics are wanted lives beside the tree (`WarehouseContext.topics`, as the streamer keeps its
symbols), so when the supervisor itself is restarted it starts their recorders again; and in
the database (`WarehouseRepo`), so `boot()` resumes them after a restart of the node.

A recorder is a permanent child: restarted if it crashes (it keeps no state worth keeping but
its buffer). Stopping a topic's recording stops its recorder, which writes its buffer first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hedgehog.core.errors import ConfigError
from hedgehog.runtime import (
    ChildSpec,
    Continue,
    DynamicSupervisor,
    InitError,
    Process,
    Runtime,
    start_child,
    terminate_child,
)
from hedgehog.runtime.pubsub import PubSub
from hedgehog.runtime.supervisor import Child
from hedgehog.store.db import Database
from hedgehog.store.switches import WarehouseRepo
from hedgehog.warehouse.recorder import OrderRecorder, Recorder, RecorderOptions, TradeRecorder
from hedgehog.warehouse.topics import TRADES, normalize_topic, parse_topic

log = logging.getLogger("hedgehog.warehouse")

RECORDERS = "warehouse.recorders"  # the DynamicSupervisor's registered name
RECORDER_SHUTDOWN = 15.0  # seconds a stopping recorder has to write its buffer (> PG's 10 s)


def recorder_name(topic: str) -> tuple[str, str]:
    """The registered name of a topic's recorder (`topic` in its canonical spelling)."""
    return ("warehouse.recorder", topic)


@dataclass
class WarehouseContext:
    """What the warehouse's processes share, outside the tree."""

    rt: Runtime
    pubsub: PubSub
    db: Database
    options: RecorderOptions = field(default_factory=RecorderOptions)
    topics: set[str] = field(default_factory=set)  # the topics to record, canonical spelling


def recorder_spec(topic: str, ctx: WarehouseContext) -> ChildSpec:
    """The child spec of a topic's recorder."""
    kind, _ = parse_topic(topic)
    cls: type[Recorder[Any]] = TradeRecorder if kind == TRADES else OrderRecorder
    return ChildSpec(
        ("recorder", topic),
        cls,
        (topic, ctx.pubsub, ctx.db, ctx.options),
        name=recorder_name(topic),
        shutdown=RECORDER_SHUTDOWN,
    )


class RecorderSupervisor(DynamicSupervisor):
    """The recorders' DynamicSupervisor; (re)started, it starts the wanted topics' recorders."""

    def init(  # type: ignore[override]
        self, ctx: WarehouseContext, max_restarts: int = 3, max_seconds: float = 5.0
    ) -> Continue:
        super().init(max_restarts=max_restarts, max_seconds=max_seconds)
        self.ctx = ctx
        return Continue("recorders")

    async def handle_continue(self, payload: Any) -> None:
        for topic in sorted(self.ctx.topics):
            child = Child(recorder_spec(topic, self.ctx))
            try:
                await self._start_child(child)
            except InitError as exc:
                self.rt.log_error(self, f"cannot record {topic}", exc)
                continue
            self.children.append(child)

    async def handle_call(self, request: Any, from_: Any) -> Any:
        match request:
            case ("start_child", ChildSpec(name=name)) if name is not None:
                running = self.rt.whereis(name)
                if running is not None:
                    return running  # started meanwhile: idempotent rather than a crash
        return await super().handle_call(request, from_)


class Warehouse:
    """The warehouse's facade, as `Streamer` is the streamer's and `Naive` the naive system's.

    Topics are `TRADE_EVENTS:<SYMBOL>` or `ORDERS:<SYMBOL>` (symbol case-insensitive); anything
    else is a `ConfigError`. `start_recording` and `stop_recording` are idempotent and store
    the topic's status (on/off) with `WarehouseRepo` first: when the database cannot be
    reached they raise `DatabaseUnavailable` and change nothing. `boot()` resumes the stored
    `on` topics.
    While the recorders' supervisor is not running, topics are noted and their recorders start
    with it.
    """

    def __init__(
        self,
        rt: Runtime,
        pubsub: PubSub,
        db: Database,
        options: RecorderOptions | None = None,
        *,
        topics: Iterable[str] = (),
    ) -> None:
        self.rt = rt
        self.db = db
        self.repo = WarehouseRepo(db)
        self.ctx = WarehouseContext(
            rt, pubsub, db, options or RecorderOptions(), {normalize_topic(t) for t in topics}
        )

    def child_spec(self) -> ChildSpec:
        """The recorders' supervisor, to put under the node's root supervisor."""
        return ChildSpec(
            "warehouse",
            RecorderSupervisor,
            (self.ctx,),
            name=RECORDERS,
            shutdown=4 * RECORDER_SHUTDOWN,
        )

    async def start(self) -> Process:
        """Start the recorders' supervisor on its own (tests, tools)."""
        return await self.rt.start(RecorderSupervisor, self.ctx, name=RECORDERS)

    async def start_recording(self, topic: str) -> bool:
        """Record a topic from now on (and after restarts). False if it was recorded already."""
        topic = normalize_topic(topic)
        await self.repo.set_status(topic, "on")
        return await self._start(topic)

    async def stop_recording(self, topic: str) -> bool:
        """Stop recording a topic (its buffer is written first). False if it was not recorded."""
        topic = normalize_topic(topic)
        await self.repo.set_status(topic, "off")
        changed = topic in self.ctx.topics
        self.ctx.topics.discard(topic)
        recorder = self.rt.whereis(recorder_name(topic))
        if recorder is not None:
            if self.rt.whereis(RECORDERS) is not None:
                await terminate_child(self.rt, RECORDERS, recorder)
            else:  # a recorder started by hand, outside the supervisor
                await self.rt.stop(recorder, timeout=RECORDER_SHUTDOWN)
            changed = True
        return changed

    async def boot(self) -> list[str]:
        """Record every topic whose stored status is on; returns them. A stored topic that is
        not one the warehouse records (edited by hand) is skipped with a warning."""
        started = []
        for stored in await self.repo.topics_with_status("on"):
            try:
                topic = normalize_topic(stored)
            except ConfigError as exc:
                log.warning("warehouse: not recording the stored topic %r: %s", stored, exc)
                continue
            await self._start(topic)
            started.append(topic)
        return started

    def recording(self) -> list[str]:
        """The topics recorded (or to be, once the supervisor runs), sorted."""
        return sorted(self.ctx.topics)

    def status(self) -> dict[str, dict[str, Any]]:
        """Per topic: written, buffered, dropped, errors, flushes, last_flush_at (runtime
        clock), last_error, retry_in, and whether its recorder is running."""
        out: dict[str, dict[str, Any]] = {}
        for topic in self.recording():
            recorder = self.rt.whereis(recorder_name(topic))
            if recorder is None:
                out[topic] = {"topic": topic, "running": False}
            else:
                out[topic] = {**recorder.info(), "running": True}
        return out

    async def flush(self, timeout: float = 30.0) -> dict[str, dict[str, Any]]:
        """Have every recorder write its buffer now; the status once they have tried."""
        for topic in self.recording():
            recorder = self.rt.whereis(recorder_name(topic))
            if recorder is not None:
                await self.rt.call(recorder, "flush", timeout)
        return self.status()

    async def _start(self, topic: str) -> bool:
        changed = topic not in self.ctx.topics
        self.ctx.topics.add(topic)
        if self.rt.whereis(RECORDERS) is not None and self.rt.whereis(recorder_name(topic)) is None:
            await start_child(self.rt, RECORDERS, recorder_spec(topic, self.ctx))
            changed = True
        return changed
