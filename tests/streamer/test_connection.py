"""StreamConnection against a fake Binance stream server: trades published as TradeEvents,
live SUBSCRIBE/UNSUBSCRIBE (batched, paced, answers matched), reconnect with backoff and
resubscription, malformed frames, gaps and duplicates, pings and heartbeats, rotation
(make-before-break, with trades merged by id across the two sockets), a killed connection
stopping its I/O."""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from hedgehog.core.types import TradeEvent
from hedgehog.runtime import Crash, Runtime, VirtualClock
from hedgehog.runtime.pubsub import PubSub
from hedgehog.streamer import (
    StreamConnection,
    StreamRequestError,
    list_subscriptions,
    stream_name,
)
from tests.helpers import eventually
from tests.streamer.conftest import FAST, Collector
from tests.streamer.fake_binance import T0, FakeBinance, FakeConn, trade_frame


async def start_conn(
    rt: Runtime, pubsub: PubSub, server: FakeBinance, symbols: list[str], **options: Any
) -> StreamConnection:
    return await rt.start(
        StreamConnection,
        pubsub,
        symbols,
        url=server.url,
        options=replace(FAST, **options),
        conn_id=1,
    )


async def nth_conn(server: FakeBinance, n: int) -> FakeConn:
    """The n-th connection the server accepted (1-based), once it exists."""
    await eventually(lambda: len(server.conns) >= n, what=f"connection #{n}")
    return server.conns[n - 1]


async def test_trades_arrive_as_trade_events_with_decimals(
    rt: Runtime, pubsub: PubSub, server: FakeBinance, collect: Any
) -> None:
    got: Collector = await collect("BTCUSDT", "ETHUSDT")
    conn = await start_conn(rt, pubsub, server, ["btcusdt", "ETHUSDT"])
    ws = await nth_conn(server, 1)
    assert ws.url_streams == ["btcusdt@trade", "ethusdt@trade"]

    await ws.send_trade("BTCUSDT", 7, price="43000.12345678", qty="0.00100000")
    await ws.send_trade("ETHUSDT", 3, price="2200.5", qty="1")
    await eventually(lambda: len(got.trades) == 2)

    assert got.trades[0] == TradeEvent(
        "BTCUSDT", 7, Decimal("43000.12345678"), Decimal("0.001"), T0 + 7, False, T0 + 7
    )
    assert isinstance(got.trades[0].price, Decimal)
    assert got.trades[1].symbol == "ETHUSDT" and got.trades[1].price == Decimal("2200.5")
    info = conn.info()
    assert info["connected"] and info["messages"] == 2 and info["trades"] == 2
    assert info["streams"] == ["btcusdt@trade", "ethusdt@trade"]
    assert info["url"] == f"{server.url}/stream"
    assert info["last_message_at"] == rt.clock.time()


async def test_raw_stream_events_are_accepted_too(
    rt: Runtime, pubsub: PubSub, server: FakeBinance, collect: Any
) -> None:
    got = await collect("XRPUSDT")
    await start_conn(rt, pubsub, server, ["XRPUSDT"])
    ws = await nth_conn(server, 1)
    await ws.send_json(trade_frame("XRPUSDT", 1)["data"])  # unwrapped, as on /ws/<stream>
    await eventually(lambda: got.ids() == [1])


async def test_live_subscribe_and_unsubscribe(
    rt: Runtime, pubsub: PubSub, server: FakeBinance, collect: Any
) -> None:
    got = await collect("BTCUSDT", "ETHUSDT")
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"])
    ws = await nth_conn(server, 1)

    assert await rt.call(conn, ("subscribe", ["ethusdt", "BTCUSDT"])) == ["ETHUSDT"]
    await eventually(lambda: ws.methods() == [("SUBSCRIBE", ["ethusdt@trade"])])
    assert ws.requests[0]["id"] == 1
    await eventually(lambda: conn.info()["pending_requests"] == 0, what="answer matched")
    await server.trade("ETHUSDT", 10)
    await eventually(lambda: got.ids("ETHUSDT") == [10])

    rt.cast(conn, ("unsubscribe", ["ETHUSDT"]))
    await eventually(lambda: ws.methods()[-1] == ("UNSUBSCRIBE", ["ethusdt@trade"]))
    await eventually(lambda: conn.info()["pending_requests"] == 0)
    # a trade in flight when we unsubscribed: ignored, not published
    await ws.send_trade("ETHUSDT", 11)
    await ws.send_trade("BTCUSDT", 1)
    await eventually(lambda: got.ids("BTCUSDT") == [1])
    assert got.ids("ETHUSDT") == [10]
    assert conn.info()["ignored"] == 1

    # subscribing again starts afresh: no gap reported for the trades missed meanwhile
    rt.cast(conn, ("subscribe", ["ETHUSDT"]))
    await eventually(lambda: "ethusdt@trade" in ws.streams)
    await server.trade("ETHUSDT", 50)
    await eventually(lambda: got.ids("ETHUSDT") == [10, 50])
    assert conn.info()["gaps"] == 0
    await eventually(lambda: conn.info()["requests_sent"] == 3)


async def test_requests_are_batched_and_paced(
    rt: Runtime, pubsub: PubSub, server: FakeBinance
) -> None:
    window = 0.2
    conn = await start_conn(
        rt,
        pubsub,
        server,
        ["AAAUSDT"],
        max_params_per_request=2,
        max_requests_per_window=2,
        request_window=window,
    )
    ws = await nth_conn(server, 1)
    symbols = [f"S{i}USDT" for i in range(9)]
    rt.cast(conn, ("subscribe", symbols))
    await eventually(lambda: len(ws.requests) == 5, what="5 SUBSCRIBE requests")

    params = [r["params"] for r in ws.requests]
    assert all(r["method"] == "SUBSCRIBE" for r in ws.requests)
    assert [len(p) for p in params] == [2, 2, 2, 2, 1]
    assert sorted(s for p in params for s in p) == sorted(stream_name(s) for s in symbols)
    times = ws.request_times
    # never more than 2 requests in any window (a little slack for the network)
    assert all(times[i + 2] - times[i] >= window - 0.05 for i in range(len(times) - 2))
    await eventually(lambda: conn.info()["pending_requests"] == 0)


async def test_streams_beyond_the_url_limit_are_subscribed_after_connecting(
    rt: Runtime, pubsub: PubSub, server: FakeBinance
) -> None:
    symbols = ["AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT", "EEEUSDT"]
    fits_two = len(server.url) + len("/stream?streams=") + 2 * len("aaausdt@trade/")
    await start_conn(rt, pubsub, server, symbols, max_url_length=fits_two)
    ws = await nth_conn(server, 1)
    assert ws.url_streams == ["aaausdt@trade", "bbbusdt@trade"]
    await eventually(lambda: len(ws.streams) == 5)
    assert ws.methods() == [("SUBSCRIBE", ["cccusdt@trade", "dddusdt@trade", "eeeusdt@trade"])]


async def test_error_answers_are_logged_and_counted(
    rt: Runtime, pubsub: PubSub, server: FakeBinance, caplog: pytest.LogCaptureFixture
) -> None:
    server.fail_methods = {"SUBSCRIBE"}
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"])
    ws = await nth_conn(server, 1)
    with caplog.at_level(logging.WARNING, "hedgehog.streamer"):
        rt.cast(conn, ("subscribe", ["ETHUSDT"]))
        await eventually(lambda: conn.info()["request_errors"] == 1)
        assert conn.info()["pending_requests"] == 0
        # an answer to a request we never sent (the newer {"error": {...}} shape)
        await ws.send_json({"error": {"code": 3, "msg": "Invalid JSON"}, "id": 999})
        await eventually(lambda: conn.info()["request_errors"] == 2)
    assert "SUBSCRIBE ['ethusdt@trade'] failed" in caplog.text
    assert "an answer to no request of ours" in caplog.text
    assert conn.alive


async def test_list_subscriptions(rt: Runtime, pubsub: PubSub, server: FakeBinance) -> None:
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT", "ETHUSDT"])
    assert await list_subscriptions(rt, conn) == ["btcusdt@trade", "ethusdt@trade"]
    server.fail_methods = {"LIST_SUBSCRIPTIONS"}
    with pytest.raises(StreamRequestError):
        await list_subscriptions(rt, conn)


async def test_reconnects_and_resubscribes_after_a_drop(
    rt: Runtime, pubsub: PubSub, server: FakeBinance, collect: Any
) -> None:
    got = await collect("BTCUSDT", "ETHUSDT")
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"])
    first = await nth_conn(server, 1)
    rt.cast(conn, ("subscribe", ["ETHUSDT"]))
    await eventually(lambda: "ethusdt@trade" in first.streams)

    await first.drop()
    second = await nth_conn(server, 2)
    assert second.url_streams == ["btcusdt@trade", "ethusdt@trade"]
    await eventually(lambda: conn.info()["connected"])
    await server.trade("ETHUSDT", 1)
    await server.trade("BTCUSDT", 1)
    await eventually(lambda: sorted(got.ids()) == [1, 1])
    info = conn.info()
    assert info["reconnects"] == 1 and info["rotations"] == 0
    assert "closed by server" in info["last_error"]


async def test_symbols_changed_while_disconnected_are_in_the_next_url(
    rt: Runtime, pubsub: PubSub, server: FakeBinance
) -> None:
    server.refuse = 3
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"], backoff_base=0.05, backoff_max=0.05)
    rt.cast(conn, ("subscribe", ["ETHUSDT"]))
    rt.cast(conn, ("unsubscribe", ["BTCUSDT"]))
    ws = await nth_conn(server, 1)
    assert ws.url_streams == ["ethusdt@trade"]
    assert ws.requests == []


async def test_backoff_grows_while_failing_and_resets_after_a_stable_connection(
    rt: Runtime, clock: VirtualClock, pubsub: PubSub, server: FakeBinance
) -> None:
    server.refuse = 3
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"])
    first = await nth_conn(server, 1)
    assert list(conn.delays) == [0.01, 0.02, 0.04]  # base 0.01, doubling, no jitter
    assert conn.info()["connect_failures"] == 3
    assert "503" in conn.info()["last_error"]

    await first.drop()  # dropped at once: not stable, so the backoff keeps growing...
    second = await nth_conn(server, 2)
    assert list(conn.delays)[-1] == 0.08  # ...up to its cap

    await eventually(lambda: conn.info()["connected"])
    clock.advance(FAST.stable_after)  # this connection has now been up long enough
    await second.drop()
    await nth_conn(server, 3)
    assert list(conn.delays) == [0.01, 0.02, 0.04, 0.08, 0.01]
    await eventually(lambda: conn.info()["reconnects"] == 2)


async def test_rate_limited_handshakes_back_off_to_the_maximum(
    rt: Runtime, pubsub: PubSub, server: FakeBinance
) -> None:
    server.refuse, server.refuse_status = 1, 429
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"])
    await nth_conn(server, 1)
    assert list(conn.delays) == [FAST.backoff_max]


async def test_malformed_frames_are_skipped_and_counted(
    rt: Runtime, pubsub: PubSub, server: FakeBinance, collect: Any, caplog: pytest.LogCaptureFixture
) -> None:
    got = await collect("BTCUSDT")
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"])
    ws = await nth_conn(server, 1)
    bad_price = trade_frame("BTCUSDT", 1)
    bad_price["data"]["p"] = "abc"
    negative = trade_frame("BTCUSDT", 1)
    negative["data"]["p"] = "-1"
    no_id = trade_frame("BTCUSDT", 1)
    del no_id["data"]["t"]
    garbage: list[Any] = [
        "not json {",
        "[1, 2, 3]",
        '"a string"',
        {"stream": "btcusdt@trade", "data": {"e": "trade", "s": "BTCUSDT"}},
        {"stream": "btcusdt@kline_1m", "data": {"e": "kline", "s": "BTCUSDT"}},
        {"stream": "!ticker@arr", "data": [{"e": "24hrTicker"}]},
        {"foo": 1},
        bad_price,
        negative,
        no_id,
    ]
    with caplog.at_level(logging.WARNING, "hedgehog.streamer"):
        for item in garbage:
            await (ws.send_str(item) if isinstance(item, str) else ws.send_json(item))
        await ws.send_bytes(b"\x00\x01binary")
        await ws.send_trade("BTCUSDT", 1)
        await eventually(lambda: got.ids() == [1])
    info = conn.info()
    assert info["malformed"] == len(garbage) + 1
    assert info["messages"] == len(garbage) + 2
    assert info["connected"] and info["reconnects"] == 0 and conn.alive
    assert caplog.text.count("skipped a malformed frame") == len(garbage) + 1
    assert "binary frame" in caplog.text


async def test_malformed_frame_warnings_are_rate_limited(
    rt: Runtime,
    clock: VirtualClock,
    pubsub: PubSub,
    server: FakeBinance,
    caplog: pytest.LogCaptureFixture,
) -> None:
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"], log_interval=60.0)
    ws = await nth_conn(server, 1)
    with caplog.at_level(logging.WARNING, "hedgehog.streamer"):
        for _ in range(50):
            await ws.send_str("garbage")
        await eventually(lambda: conn.info()["malformed"] == 50)
        clock.advance(60.0)
        await ws.send_str("garbage")
        await eventually(lambda: conn.info()["malformed"] == 51)
    lines = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(lines) == 2
    assert "(49 more like this since the last report)" in lines[1]


async def test_gaps_are_detected_and_counted(
    rt: Runtime, pubsub: PubSub, server: FakeBinance, collect: Any, caplog: pytest.LogCaptureFixture
) -> None:
    got = await collect("BTCUSDT")
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"])
    await nth_conn(server, 1)
    with caplog.at_level(logging.WARNING, "hedgehog.streamer"):
        for trade_id in (1, 2, 5, 6, 10):
            await server.trade("BTCUSDT", trade_id)
        await eventually(lambda: got.ids() == [1, 2, 5, 6, 10])
    info = conn.info()
    assert info["gaps"] == 2 and info["missed_trades"] == 5
    assert "gap in BTCUSDT trades: 2 missing between ids 2 and 5" in caplog.text
    assert "3 missing between ids 6 and 10" in caplog.text


async def test_duplicates_after_a_reconnect_are_dropped(
    rt: Runtime, pubsub: PubSub, server: FakeBinance, collect: Any
) -> None:
    got = await collect("BTCUSDT")
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"])
    first = await nth_conn(server, 1)
    for trade_id in (1, 2, 3):
        await first.send_trade("BTCUSDT", trade_id)
    await eventually(lambda: got.ids() == [1, 2, 3])
    await first.drop()
    second = await nth_conn(server, 2)
    for trade_id in (2, 3, 4, 1, 5):  # the new connection replays a little of the past
        await second.send_trade("BTCUSDT", trade_id)
    await eventually(lambda: got.ids() == [1, 2, 3, 4, 5])
    info = conn.info()
    assert info["duplicates"] == 3 and info["gaps"] == 0 and info["trades"] == 5


async def test_server_pings_are_answered(rt: Runtime, pubsub: PubSub, server: FakeBinance) -> None:
    await start_conn(rt, pubsub, server, ["BTCUSDT"])
    ws = await nth_conn(server, 1)
    await ws.ping(b"binance-ping-1")
    await ws.ping(b"")
    await eventually(lambda: ws.pongs == [b"binance-ping-1", b""], what="pongs")


async def test_a_silent_peer_is_dropped_by_the_heartbeat(
    rt: Runtime, pubsub: PubSub, server: FakeBinance
) -> None:
    server.answer_pings = False
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"], heartbeat=0.1)
    first = await nth_conn(server, 1)
    await nth_conn(server, 2)  # no pong within 0.05 s of our ping: reconnect
    assert first.pings
    await eventually(lambda: conn.info()["reconnects"] >= 1)


async def test_rotation_opens_the_new_connection_before_closing_the_old(
    rt: Runtime, clock: VirtualClock, pubsub: PubSub, server: FakeBinance, collect: Any
) -> None:
    got = await collect("BTCUSDT", "ETHUSDT")
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT", "ETHUSDT"])
    old = await nth_conn(server, 1)
    await eventually(lambda: conn.info()["connected"])
    await old.send_trade("BTCUSDT", 1)
    await eventually(lambda: got.ids() == [1])

    clock.advance(FAST.rotate_after)
    new = await nth_conn(server, 2)
    assert new.url_streams == ["btcusdt@trade", "ethusdt@trade"]
    await eventually(lambda: old.closed, what="old connection closed")
    assert old.closed_at is not None and new.opened_at < old.closed_at  # make before break
    await eventually(lambda: conn.info()["rotations"] == 1)
    await new.send_trade("BTCUSDT", 2)
    await eventually(lambda: got.ids() == [1, 2])
    info = conn.info()
    assert info["reconnects"] == 0 and info["gaps"] == 0 and info["connected"]

    clock.advance(FAST.rotate_after)  # and again 23.5 h later
    await nth_conn(server, 3)
    await eventually(lambda: conn.info()["rotations"] == 2)


async def test_rotation_merges_the_two_sockets_by_trade_id(
    rt: Runtime, pubsub: PubSub, server: FakeBinance, collect: Any
) -> None:
    got = await collect("BTCUSDT")
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"], rotation_overlap=30.0)
    old = await nth_conn(server, 1)
    await old.send_trade("BTCUSDT", 1)
    await eventually(lambda: got.ids() == [1])

    rt.cast(conn, "rotate")
    new = await nth_conn(server, 2)
    seen = conn.messages

    async def on(ws: FakeConn, trade_id: int) -> None:
        nonlocal seen
        await ws.send_trade("BTCUSDT", trade_id)
        seen += 1
        await eventually(lambda: conn.messages == seen)

    await on(new, 3)  # the new socket runs ahead: held until the old one catches up
    assert conn.trades == 1
    await on(old, 2)  # published, and 3 right after it
    await on(new, 2)  # duplicates from either side are dropped
    await on(old, 3)
    await on(new, 4)  # the next id is published, whichever socket brings it
    await on(new, 6)  # ahead again: held...
    await old.drop()  # ...and when the old socket goes, released (with the gap noted)
    await eventually(lambda: conn.info()["rotations"] == 1)
    await eventually(lambda: got.ids() == [1, 2, 3, 4, 6])
    info = conn.info()
    assert info["duplicates"] == 2 and info["gaps"] == 1 and info["missed_trades"] == 1
    assert info["reconnects"] == 0


async def test_a_server_shutdown_event_triggers_a_rotation(
    rt: Runtime, pubsub: PubSub, server: FakeBinance
) -> None:
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"])
    old = await nth_conn(server, 1)
    await old.send_json({"event": {"e": "serverShutdown", "E": T0}})
    await nth_conn(server, 2)
    await eventually(lambda: old.closed and conn.info()["rotations"] == 1)
    assert conn.info()["malformed"] == 0


async def test_a_killed_connection_stops_its_io(
    rt: Runtime, pubsub: PubSub, server: FakeBinance
) -> None:
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"])
    ws = await nth_conn(server, 1)
    rt.kill(conn)
    await eventually(lambda: ws.closed, what="socket closed after kill")
    assert len(server.conns) == 1


async def test_an_unexpected_message_crashes_it_and_terminate_closes_the_socket(
    rt: Runtime, pubsub: PubSub, server: FakeBinance
) -> None:
    conn = await start_conn(rt, pubsub, server, ["BTCUSDT"])
    ws = await nth_conn(server, 1)
    exited = rt.wait_exit(conn)
    rt.cast(conn, "boom")
    reason = await exited
    assert isinstance(reason, Crash) and isinstance(reason.exception, ValueError)
    await eventually(lambda: ws.closed)
