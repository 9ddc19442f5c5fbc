"""The streamer tree through its facade, against the fake Binance server: start/stop streaming
(idempotent, case-insensitive, on_change), symbols spread over connections of at most N
streams, an emptied connection stopped, a crashed connection restarted with its symbols, a
crashed manager adopting the running connections, the tree under a root supervisor."""

from __future__ import annotations

from typing import Any

import pytest

from hedgehog.core.errors import ConfigError
from hedgehog.runtime import Runtime, Supervisor
from hedgehog.runtime.pubsub import PubSub
from hedgehog.streamer import (
    CONNECTIONS,
    MANAGER,
    StreamConnection,
    Streamer,
    connection_name,
)
from tests.helpers import eventually
from tests.streamer.conftest import FAST
from tests.streamer.fake_binance import FakeBinance, FakeConn

Changes = list[tuple[str, bool]]


def make_streamer(
    rt: Runtime, pubsub: PubSub, server: FakeBinance, max_streams: int = 1024, **kw: Any
) -> tuple[Streamer, Changes]:
    changes: Changes = []

    async def on_change(symbol: str, streaming: bool) -> None:
        changes.append((symbol, streaming))

    streamer = Streamer(rt, pubsub, server.url, max_streams, on_change, options=FAST, **kw)
    return streamer, changes


def connection(rt: Runtime, conn_id: int) -> StreamConnection | None:
    proc = rt.whereis(connection_name(conn_id))
    assert proc is None or isinstance(proc, StreamConnection)
    return proc


async def server_conn(server: FakeBinance, n: int) -> FakeConn:
    await eventually(lambda: len(server.conns) >= n, what=f"connection #{n}")
    return server.conns[n - 1]


async def test_start_and_stop_streaming(
    rt: Runtime, pubsub: PubSub, server: FakeBinance, collect: Any
) -> None:
    got = await collect("XRPUSDT")
    streamer, changes = make_streamer(rt, pubsub, server)
    await streamer.start()
    assert streamer.streaming() == []

    assert await streamer.start_streaming("xrpusdt") is True
    assert await streamer.start_streaming(" XRPusdt ") is False  # idempotent, any case
    assert streamer.streaming() == ["XRPUSDT"]
    assert changes == [("XRPUSDT", True)]
    ws = await server_conn(server, 1)
    assert ws.url_streams == ["xrpusdt@trade"]
    await server.trade("XRPUSDT", 1, price="0.43183010")
    await eventually(lambda: got.ids() == [1])

    status = streamer.status()
    assert status["running"] and status["symbols"] == ["XRPUSDT"]
    assert list(status["connections"]) == [1]
    assert status["connections"][1]["symbols"] == ["XRPUSDT"]

    assert await streamer.stop_streaming("XRPUSDT") is True
    assert await streamer.stop_streaming("xrpusdt") is False
    assert changes == [("XRPUSDT", True), ("XRPUSDT", False)]
    assert streamer.streaming() == [] and connection(rt, 1) is None
    await eventually(lambda: ws.closed)

    with pytest.raises(ConfigError):
        await streamer.start_streaming("BTC/USDT")


async def test_symbols_fill_a_connection_then_start_another(
    rt: Runtime, pubsub: PubSub, server: FakeBinance
) -> None:
    streamer, _ = make_streamer(rt, pubsub, server, max_streams=2)
    await streamer.start()
    for symbol in ("AAAUSDT", "BBBUSDT", "CCCUSDT"):
        await streamer.start_streaming(symbol)

    first, second = await server_conn(server, 1), await server_conn(server, 2)
    # B joined connection 1 right after it started: in its URL or by SUBSCRIBE, by timing
    await eventually(lambda: first.streams == {"aaausdt@trade", "bbbusdt@trade"})
    assert second.url_streams == ["cccusdt@trade"]
    connections = streamer.status()["connections"]
    assert {cid: c["symbols"] for cid, c in connections.items()} == {
        1: ["AAAUSDT", "BBBUSDT"],
        2: ["CCCUSDT"],
    }

    # the last symbol of a connection: the connection stops
    await streamer.stop_streaming("CCCUSDT")
    assert connection(rt, 2) is None
    await eventually(lambda: second.closed)
    # another symbol leaves connection 1: UNSUBSCRIBE there, and its room is used again
    await streamer.stop_streaming("AAAUSDT")
    await eventually(lambda: ("UNSUBSCRIBE", ["aaausdt@trade"]) in first.methods())
    await streamer.start_streaming("DDDUSDT")
    await eventually(lambda: ("SUBSCRIBE", ["dddusdt@trade"]) in first.methods())
    assert len(server.conns) == 2
    assert streamer.status()["connections"][1]["symbols"] == ["BBBUSDT", "DDDUSDT"]


async def test_a_crashed_connection_is_restarted_with_its_symbols(
    rt: Runtime, pubsub: PubSub, server: FakeBinance, collect: Any
) -> None:
    got = await collect("AAAUSDT", "BBBUSDT")
    streamer, _ = make_streamer(rt, pubsub, server)
    await streamer.start()
    await streamer.start_streaming("AAAUSDT")
    await streamer.start_streaming("BBBUSDT")
    old_ws = await server_conn(server, 1)
    await eventually(lambda: len(old_ws.streams) == 2)
    old = connection(rt, 1)
    assert old is not None

    rt.cast(old, "boom")  # an unexpected message crashes it
    await eventually(lambda: connection(rt, 1) not in (None, old), what="restart")
    new = connection(rt, 1)
    assert new is not None and new.symbols == {"AAAUSDT", "BBBUSDT"}
    new_ws = await server_conn(server, 2)
    assert new_ws.url_streams == ["aaausdt@trade", "bbbusdt@trade"]
    await eventually(lambda: old_ws.closed)
    await server.trade("BBBUSDT", 9)
    await eventually(lambda: got.ids() == [9])
    assert streamer.status()["restarts"] == 1


async def test_a_restarted_manager_adopts_the_running_connections(
    rt: Runtime, pubsub: PubSub, server: FakeBinance
) -> None:
    streamer, _ = make_streamer(rt, pubsub, server, max_streams=2)
    await streamer.start()
    for symbol in ("AAAUSDT", "BBBUSDT", "CCCUSDT"):
        await streamer.start_streaming(symbol)
    conns = (connection(rt, 1), connection(rt, 2))
    await server_conn(server, 2)
    manager = rt.whereis(MANAGER)
    assert manager is not None

    rt.kill(manager)  # rest_for_one: only the manager restarts
    await eventually(lambda: rt.whereis(MANAGER) not in (None, manager), what="new manager")
    await rt.call(MANAGER, "info")  # it has booted (adopted) by the time it answers
    assert (connection(rt, 1), connection(rt, 2)) == conns
    assert {cid: c["symbols"] for cid, c in streamer.status()["connections"].items()} == {
        1: ["AAAUSDT", "BBBUSDT"],
        2: ["CCCUSDT"],
    }
    assert len(server.conns) == 2 and not server.conns[0].closed  # no stream interrupted
    await streamer.start_streaming("DDDUSDT")  # goes to connection 2, which has room
    assert streamer.status()["connections"][2]["symbols"] == ["CCCUSDT", "DDDUSDT"]
    await streamer.start_streaming("EEEUSDT")  # a new connection, with a fresh id
    assert connection(rt, 3) is not None


async def test_a_crash_of_the_connections_supervisor_restarts_everything(
    rt: Runtime, pubsub: PubSub, server: FakeBinance
) -> None:
    streamer, _ = make_streamer(rt, pubsub, server, max_streams=2)
    await streamer.start()
    for symbol in ("AAAUSDT", "BBBUSDT", "CCCUSDT"):
        await streamer.start_streaming(symbol)
    old = await server_conn(server, 1), await server_conn(server, 2)
    connections, manager = rt.whereis(CONNECTIONS), rt.whereis(MANAGER)

    assert connections is not None
    rt.kill(connections)  # its connections die with it; the manager restarts after it
    await eventually(lambda: rt.whereis(MANAGER) not in (None, manager), what="new manager")
    await rt.call(MANAGER, "info")
    await eventually(lambda: len(server.live()) == 2 and all(ws.closed for ws in old))
    streams = sorted(s for ws in server.live() for s in ws.streams)
    assert streams == ["aaausdt@trade", "bbbusdt@trade", "cccusdt@trade"]
    assert streamer.streaming() == ["AAAUSDT", "BBBUSDT", "CCCUSDT"]


async def test_the_tree_under_a_root_supervisor_streams_the_stored_symbols(
    rt: Runtime, pubsub: PubSub, server: FakeBinance
) -> None:
    streamer, changes = make_streamer(rt, pubsub, server, symbols=["aaausdt"])
    assert await streamer.start_streaming("bbbusdt") is True  # not running yet: noted
    assert streamer.status() == {
        "running": False,
        "symbols": ["AAAUSDT", "BBBUSDT"],
        "connections": {},
    }
    root = await rt.start(Supervisor, [streamer.child_spec()], name="root")
    ws = await server_conn(server, 1)
    assert ws.url_streams == ["aaausdt@trade", "bbbusdt@trade"]
    assert changes == [("BBBUSDT", True)]
    tree = root.describe()
    (streamer_node,) = tree["children"]
    assert streamer_node["module"] == "StreamerSupervisor"
    assert [c["id"] for c in streamer_node["children"]] == ["connections", "manager"]
    assert [s.name for s in streamer.child_specs()] == [CONNECTIONS, MANAGER]

    await rt.stop(root, "shutdown")
    await eventually(lambda: ws.closed)


def test_bad_settings_are_refused(rt: Runtime, pubsub: PubSub) -> None:
    with pytest.raises(ConfigError, match="max_streams_per_connection"):
        Streamer(rt, pubsub, max_streams_per_connection=1025)
    with pytest.raises(ConfigError, match="ws://"):
        Streamer(rt, pubsub, "https://stream.binance.com")
    with pytest.raises(ConfigError, match="valid symbol"):
        Streamer(rt, pubsub, symbols=[""])
