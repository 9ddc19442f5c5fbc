"""Recorders: exactly what was published is stored (no loss, no duplicates, re-publishing is
harmless), in batches by size and by time (on the virtual clock), written on stop; a database
that fails or stalls leaves a bounded buffer that is retried with backoff and counted, and
never holds up publishers or trading."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal as D
from typing import Any

import pytest

from hedgehog.core.errors import ConfigError
from hedgehog.core.types import Order, OrderStatus, OrderUpdate, Side
from hedgehog.runtime import InitError, Process, Runtime, VirtualClock
from hedgehog.runtime.pubsub import PubSub
from hedgehog.store import Database, OrderRepo, TradeEventRepo
from hedgehog.warehouse import OrderRecorder, RecorderOptions, TradeRecorder

from .conftest import FlakyDatabase, make_trades

TOPIC = "TRADE_EVENTS:XRPUSDT"


async def recorder(
    rt: Runtime, pubsub: PubSub, db: Database, topic: str = TOPIC, **options: Any
) -> TradeRecorder:
    cls = TradeRecorder if topic.startswith("TRADE") else OrderRecorder
    proc = await rt.start(cls, topic, pubsub, db, RecorderOptions(**options))
    assert isinstance(proc, TradeRecorder | OrderRecorder)
    return proc  # type: ignore[return-value]


def publish(pubsub: PubSub, events: list[Any], topic: str = TOPIC) -> None:
    for event in events:
        pubsub.broadcast(topic, event)


async def test_stores_exactly_what_was_published(db: Database, rt: Runtime, pubsub: PubSub) -> None:
    rec = await recorder(rt, pubsub, db, batch_size=100)
    sent = make_trades(1, 250)
    publish(pubsub, sent)
    info = await rt.call(rec, "info")  # answered once every trade before it was handled
    assert (info["written"], info["buffered"], info["flushes"]) == (200, 50, 2)  # by size
    info = await rt.call(rec, "flush")
    assert (info["written"], info["buffered"], info["errors"], info["dropped"]) == (250, 0, 0, 0)
    repo = TradeEventRepo(db)
    assert await repo.query("XRPUSDT") == sent

    # a reconnecting streamer publishes an overlap again, and a trade twice in a row
    publish(pubsub, [*sent[180:], *make_trades(251, 300), sent[-1], sent[-1]])
    publish(pubsub, ["not a trade", ("junk",)])  # anything else on the topic is ignored
    pubsub.broadcast("TRADE_EVENTS:ETHUSDT", make_trades(1, 1, "ETHUSDT")[0])  # not our topic
    await rt.call(rec, "flush")
    assert await repo.query("XRPUSDT") == make_trades(1, 300)
    assert await repo.count() == 300


async def test_batches_by_time_on_the_runtime_clock(
    flaky: FlakyDatabase, rt: Runtime, pubsub: PubSub, clock: VirtualClock
) -> None:
    rec = await recorder(rt, pubsub, flaky, batch_size=1_000, flush_interval=2.0)
    start = clock.time()
    publish(pubsub, make_trades(1, 10))
    assert (await rt.call(rec, "info"))["buffered"] == 10
    clock.advance(1.9)
    assert (await rt.call(rec, "info"))["written"] == 0
    clock.advance(0.1)  # 2 s after the first trade of the batch
    info = await rt.call(rec, "info")
    assert (info["written"], info["buffered"], info["last_flush_at"]) == (10, 0, start + 2.0)
    attempts = flaky.attempts
    clock.advance(60)  # nothing buffered: no timer, no write
    assert flaky.attempts == attempts
    publish(pubsub, make_trades(11, 15))
    await rt.call(rec, "info")
    clock.advance(1.0)
    publish(pubsub, make_trades(16, 20))  # joins the batch: its deadline is the first trade's
    await rt.call(rec, "info")
    clock.advance(0.99)
    assert (await rt.call(rec, "info"))["written"] == 10
    clock.advance(0.01)
    info = await rt.call(rec, "info")
    assert (info["written"], info["flushes"]) == (20, 2)
    assert await TradeEventRepo(flaky).count() == 20


async def test_writes_its_buffer_and_its_mailbox_on_stop(
    flaky: FlakyDatabase, rt: Runtime, pubsub: PubSub
) -> None:
    rec = await recorder(rt, pubsub, flaky, batch_size=1_000, flush_interval=3600)
    publish(pubsub, make_trades(1, 40))
    await rt.call(rec, "info")
    publish(pubsub, make_trades(41, 70))  # still in the mailbox when the stop comes
    await rt.stop(rec)
    assert not rec.alive
    assert await TradeEventRepo(flaky).query("XRPUSDT") == make_trades(1, 70)
    assert rec.info()["written"] == 70


async def test_publishers_never_wait_for_a_write(
    flaky: FlakyDatabase, rt: Runtime, pubsub: PubSub
) -> None:
    class Counter(Process):
        def init(self) -> None:
            self.seen = 0
            pubsub.subscribe(self, TOPIC)

        def handle_info(self, message: object) -> None:
            self.seen += 1

    rec = await recorder(rt, pubsub, flaky, batch_size=100)
    other = await rt.start(Counter)
    flaky.gate = asyncio.Event()  # the database stalls
    publish(pubsub, make_trades(1, 100))  # the 100th starts a write, which hangs
    await rt.settle()  # the write waits on the gate
    publish(pubsub, make_trades(101, 350))  # returns at once
    await rt.settle()
    assert other.seen == 350  # the rest of the node goes on
    assert rec.status == "running" and len(rec.mailbox) == 250  # queued behind the write
    flaky.gate.set()
    info = await rt.call(rec, "flush")
    assert (info["written"], info["errors"]) == (350, 0)
    assert await TradeEventRepo(flaky).query("XRPUSDT") == make_trades(1, 350)


async def test_unreachable_database_buffers_bounded_retries_and_counts(
    flaky: FlakyDatabase,
    rt: Runtime,
    pubsub: PubSub,
    clock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "hedgehog.warehouse")
    rec = await recorder(
        rt, pubsub, flaky, batch_size=10, max_buffer=50, retry_initial=1.0, retry_max=4.0
    )
    flaky.down = True
    publish(pubsub, make_trades(1, 30))
    info = await rt.call(rec, "info")
    # the 10th trade's write failed; no more size-triggered writes while backing off
    assert (info["written"], info["buffered"], info["errors"], info["retry_in"]) == (0, 30, 1, 1.0)
    assert "cannot reach the database" in info["last_error"]
    publish(pubsub, make_trades(31, 70))  # 70 > max_buffer: the 20 oldest go
    info = await rt.call(rec, "info")
    assert (info["buffered"], info["dropped"]) == (50, 20)
    for delay, errors in ((1.0, 2), (2.0, 3), (4.0, 4), (4.0, 5)):  # backoff, capped at 4 s
        clock.advance(delay - 0.01)
        assert (await rt.call(rec, "info"))["errors"] == errors - 1
        clock.advance(0.01)
        info = await rt.call(rec, "info")
        assert (info["errors"], info["retry_in"]) == (errors, min(2 * delay, 4.0))
    flaky.down = False
    clock.advance(4.0)
    info = await rt.call(rec, "info")
    assert (info["written"], info["buffered"], info["retry_in"]) == (50, 0, None)
    assert info["flushes"] == 5  # 50 in batches of 10
    assert await TradeEventRepo(flaky).query("XRPUSDT") == make_trades(21, 70)
    assert rec.alive
    # rate-limited: one warning about the failures, one about the drops, one on recovery
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3, messages
    assert "cannot write 10 buffered events" in messages[0]
    assert "dropped the oldest (1 since the last warning, 1 in all)" in messages[1]
    assert "writing again (5 failed writes in all)" in messages[2]


async def test_a_stop_while_the_database_is_down_loses_the_buffer_loudly(
    flaky: FlakyDatabase, rt: Runtime, pubsub: PubSub, caplog: pytest.LogCaptureFixture
) -> None:
    rec = await recorder(rt, pubsub, flaky)
    flaky.down = True
    publish(pubsub, make_trades(1, 5))
    await rt.stop(rec)
    assert rec.exit_reason == "normal"
    assert "XRPUSDT: stopped with 5 events not written" in caplog.text


async def test_a_closed_database_is_an_error_like_any_other(
    tmp_path: Any, rt: Runtime, pubsub: PubSub
) -> None:
    closed = Database(None, tmp_path / "closed")
    await closed.migrate()
    await closed.close()
    rec = await recorder(rt, pubsub, closed, batch_size=2)
    publish(pubsub, make_trades(1, 2))
    info = await rt.call(rec, "info")
    assert (info["errors"], info["buffered"]) == (1, 2)
    assert "is closed" in info["last_error"]


async def test_topic_and_options_are_checked(flaky: FlakyDatabase, rt: Runtime) -> None:
    pubsub = PubSub(rt)
    with pytest.raises(InitError):
        await rt.start(TradeRecorder, "ORDERS:XRPUSDT", pubsub, flaky)
    with pytest.raises(ConfigError, match="max_buffer >= batch_size"):
        RecorderOptions(batch_size=10, max_buffer=5)
    with pytest.raises(ConfigError, match="must be positive"):
        RecorderOptions(flush_interval=0)


# -- orders ---------------------------------------------------------------------------------
def _update(cid: str, status: OrderStatus, executed: str, order_id: int = 7) -> OrderUpdate:
    order = Order(
        order_id,
        cid,
        "XRPUSDT",
        Side.BUY,
        D("0.43"),
        D("100"),
        D(executed),
        D(executed) * D("0.43"),
        status,
        1_000,
        2_000,
    )
    return OrderUpdate(order, D(executed), D("0.43"), D("0"), "USDT")


async def test_order_updates_upsert_by_client_order_id(
    db: Database, rt: Runtime, pubsub: PubSub
) -> None:
    rec = await recorder(rt, pubsub, db, "ORDERS:XRPUSDT", batch_size=3)
    new_a = _update("XRPUSDT-1-0B", OrderStatus.NEW, "0")
    updates = [
        new_a,
        _update("XRPUSDT-1-0B", OrderStatus.PARTIALLY_FILLED, "40"),
        _update("XRPUSDT-2-0B", OrderStatus.NEW, "0", order_id=8),
        _update("XRPUSDT-1-0B", OrderStatus.FILLED, "100"),
        new_a,  # a late, stale copy does not move the row back
    ]
    publish(pubsub, updates, "ORDERS:XRPUSDT")
    info = await rt.call(rec, "flush")
    assert (info["written"], info["flushes"]) == (5, 2)
    publish(pubsub, updates, "ORDERS:XRPUSDT")  # everything again: idempotent
    await rt.call(rec, "flush")
    rows = {o.client_order_id: o for o in await OrderRepo(db).all("XRPUSDT")}
    assert len(rows) == 2
    a, b = rows["XRPUSDT-1-0B"], rows["XRPUSDT-2-0B"]
    assert (a.status, a.executed_qty, a.exchange_order_id) == ("FILLED", D("100"), 7)
    assert a.cumulative_quote_qty == D("43")
    assert (b.status, b.executed_qty, b.exchange_order_id) == ("NEW", D("0"), 8)


async def test_order_updates_are_retried_after_an_outage(
    flaky: FlakyDatabase, rt: Runtime, pubsub: PubSub, clock: VirtualClock
) -> None:
    rec = await recorder(rt, pubsub, flaky, "ORDERS:XRPUSDT", batch_size=1)
    flaky.down = True
    publish(pubsub, [_update("c1", OrderStatus.NEW, "0")], "ORDERS:XRPUSDT")
    assert (await rt.call(rec, "info"))["errors"] == 1
    flaky.down = False
    clock.advance(1.0)
    assert (await rt.call(rec, "info"))["written"] == 1
    [row] = await OrderRepo(flaky).all()
    assert (row.client_order_id, row.status) == ("c1", "NEW")
