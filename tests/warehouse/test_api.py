"""The `Warehouse` facade: topic validation, idempotent start/stop with the status stored,
`boot()` after a restart, status, and its place in a node's supervision tree."""

from __future__ import annotations

import logging
import re

import pytest

from hedgehog.core.errors import ConfigError
from hedgehog.runtime import Runtime, VirtualClock, which_children
from hedgehog.runtime.node import Node
from hedgehog.runtime.pubsub import PubSub
from hedgehog.store import Database, DatabaseUnavailable, TradeEventRepo, WarehouseRepo
from hedgehog.warehouse import (
    RECORDERS,
    OrderRecorder,
    TradeRecorder,
    Warehouse,
    normalize_topic,
    recorder_name,
)

from .conftest import FlakyDatabase, make_trades


@pytest.mark.parametrize(
    ("topic", "canonical"),
    [
        ("TRADE_EVENTS:XRPUSDT", "TRADE_EVENTS:XRPUSDT"),
        ("TRADE_EVENTS:xrpusdt", "TRADE_EVENTS:XRPUSDT"),
        (" ORDERS:XrpUsdt ", "ORDERS:XRPUSDT"),
    ],
)
def test_topics_are_normalised(topic: str, canonical: str) -> None:
    assert normalize_topic(topic) == canonical


@pytest.mark.parametrize(
    ("topic", "problem"),
    [
        ("XRPUSDT", "is not a topic the warehouse records: give TRADE_EVENTS:<SYMBOL> or"),
        ("trade_events:XRPUSDT", "is not a topic the warehouse records"),
        ("TRADES:XRPUSDT", "e.g. TRADE_EVENTS:XRPUSDT"),
        ("ORDERS:", "'' is not a valid symbol"),
        ("ORDERS:XRP-USDT", "'XRP-USDT' is not a valid symbol"),
        ("TRADE_EVENTS:XRPUSDT:1", "is not a valid symbol"),
        ("", "is not a topic"),
    ],
)
async def test_bad_topics_are_refused_and_not_stored(
    flaky: FlakyDatabase, rt: Runtime, pubsub: PubSub, topic: str, problem: str
) -> None:
    warehouse = Warehouse(rt, pubsub, flaky)
    await warehouse.start()
    with pytest.raises(ConfigError, match="^" + re.escape(repr(topic))) as info:
        await warehouse.start_recording(topic)
    assert problem in str(info.value)
    with pytest.raises(ConfigError):
        await warehouse.stop_recording(topic)
    assert warehouse.recording() == []
    assert await WarehouseRepo(flaky).all() == {}


async def test_start_and_stop_are_idempotent_and_stored(
    db: Database, rt: Runtime, pubsub: PubSub
) -> None:
    warehouse = Warehouse(rt, pubsub, db)
    await warehouse.start()
    repo = WarehouseRepo(db)
    assert await warehouse.start_recording("TRADE_EVENTS:XRPUSDT") is True
    assert await warehouse.start_recording("TRADE_EVENTS:xrpusdt") is False
    assert await warehouse.start_recording("ORDERS:XRPUSDT") is True
    assert warehouse.recording() == ["ORDERS:XRPUSDT", "TRADE_EVENTS:XRPUSDT"]
    assert isinstance(rt.whereis(recorder_name("TRADE_EVENTS:XRPUSDT")), TradeRecorder)
    assert isinstance(rt.whereis(recorder_name("ORDERS:XRPUSDT")), OrderRecorder)
    assert len(await which_children(rt, RECORDERS)) == 2
    assert await repo.all() == {"ORDERS:XRPUSDT": "on", "TRADE_EVENTS:XRPUSDT": "on"}

    pubsub.broadcast("TRADE_EVENTS:XRPUSDT", make_trades(1, 1)[0])
    assert await warehouse.stop_recording("TRADE_EVENTS:XRPUSDT") is True  # writes its buffer
    assert await TradeEventRepo(db).count() == 1
    assert await warehouse.stop_recording("TRADE_EVENTS:XRPUSDT") is False
    assert await warehouse.stop_recording("ORDERS:ETHUSDT") is False  # never recorded: stored off
    assert warehouse.recording() == ["ORDERS:XRPUSDT"]
    assert rt.whereis(recorder_name("TRADE_EVENTS:XRPUSDT")) is None
    assert await repo.all() == {
        "ORDERS:ETHUSDT": "off",
        "ORDERS:XRPUSDT": "on",
        "TRADE_EVENTS:XRPUSDT": "off",
    }


async def test_boot_resumes_the_stored_topics(
    db: Database, rt: Runtime, pubsub: PubSub, caplog: pytest.LogCaptureFixture
) -> None:
    repo = WarehouseRepo(db)
    await repo.set_status("TRADE_EVENTS:XRPUSDT", "on")
    await repo.set_status("ORDERS:XRPUSDT", "on")
    await repo.set_status("TRADE_EVENTS:ETHUSDT", "off")
    await repo.set_status("FOO:BAR:BAZ", "on")  # edited by hand
    warehouse = Warehouse(rt, pubsub, db)
    await warehouse.start()
    with caplog.at_level(logging.WARNING, "hedgehog.warehouse"):
        assert await warehouse.boot() == ["ORDERS:XRPUSDT", "TRADE_EVENTS:XRPUSDT"]
    assert "not recording the stored topic 'FOO:BAR:BAZ'" in caplog.text
    assert warehouse.recording() == ["ORDERS:XRPUSDT", "TRADE_EVENTS:XRPUSDT"]
    assert all(s["running"] for s in warehouse.status().values())
    assert await warehouse.boot() == ["ORDERS:XRPUSDT", "TRADE_EVENTS:XRPUSDT"]  # idempotent
    assert len(await which_children(rt, RECORDERS)) == 2


async def test_status_per_recorder(
    flaky: FlakyDatabase, rt: Runtime, pubsub: PubSub, clock: VirtualClock
) -> None:
    warehouse = Warehouse(rt, pubsub, flaky)
    assert warehouse.status() == {}
    await warehouse.start_recording("TRADE_EVENTS:XRPUSDT")  # noted: the supervisor is not up
    assert warehouse.status() == {
        "TRADE_EVENTS:XRPUSDT": {"topic": "TRADE_EVENTS:XRPUSDT", "running": False}
    }
    await warehouse.start()
    for trade in make_trades(1, 3):
        pubsub.broadcast("TRADE_EVENTS:XRPUSDT", trade)
    status = await warehouse.flush()
    assert status["TRADE_EVENTS:XRPUSDT"] == {
        "topic": "TRADE_EVENTS:XRPUSDT",
        "running": True,
        "written": 3,
        "buffered": 0,
        "dropped": 0,
        "errors": 0,
        "flushes": 1,
        "last_flush_at": clock.time(),
        "last_error": None,
        "retry_in": None,
    }


async def test_in_a_node_recorders_come_back_after_crashes(
    flaky: FlakyDatabase, rt: Runtime, pubsub: PubSub
) -> None:
    warehouse = Warehouse(rt, pubsub, flaky)
    await warehouse.start_recording("TRADE_EVENTS:XRPUSDT")  # before the node starts
    node = Node([warehouse.child_spec()], runtime=rt)
    await node.start()
    first = rt.whereis(recorder_name("TRADE_EVENTS:XRPUSDT"))
    assert isinstance(first, TradeRecorder)
    await warehouse.start_recording("ORDERS:XRPUSDT")

    rt.kill(first)  # a recorder dies: its supervisor restarts it
    await rt.quiesce()
    second = rt.whereis(recorder_name("TRADE_EVENTS:XRPUSDT"))
    assert isinstance(second, TradeRecorder) and second is not first

    supervisor = rt.whereis(RECORDERS)
    assert supervisor is not None
    rt.kill(supervisor)  # the whole warehouse dies: the root restarts it, with its topics
    await rt.quiesce()
    assert rt.whereis(RECORDERS) not in (None, supervisor)
    assert all(s["running"] for s in warehouse.status().values())
    assert len(warehouse.status()) == 2
    pubsub.broadcast("TRADE_EVENTS:XRPUSDT", make_trades(1, 1)[0])
    await warehouse.flush()
    assert await TradeEventRepo(flaky).count() == 1


async def test_an_unreachable_database_changes_nothing(
    flaky: FlakyDatabase, rt: Runtime, pubsub: PubSub
) -> None:
    warehouse = Warehouse(rt, pubsub, flaky)
    await warehouse.start()
    await warehouse.start_recording("ORDERS:XRPUSDT")
    flaky.down = True
    with pytest.raises(DatabaseUnavailable, match="cannot reach the database"):
        await warehouse.start_recording("TRADE_EVENTS:XRPUSDT")
    with pytest.raises(DatabaseUnavailable):
        await warehouse.stop_recording("ORDERS:XRPUSDT")
    assert warehouse.recording() == ["ORDERS:XRPUSDT"]
    assert list(warehouse.status()) == ["ORDERS:XRPUSDT"]
    assert warehouse.status()["ORDERS:XRPUSDT"]["running"]
    flaky.down = False
    assert await WarehouseRepo(flaky).all() == {"ORDERS:XRPUSDT": "on"}
