"""The user data stream against a fake WebSocket API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import pytest

from hedgehog.core.errors import AuthenticationError
from hedgehog.core.types import Order, OrderStatus, OrderUpdate, Side
from hedgehog.exchange.binance import wire
from hedgehog.exchange.binance.user_stream import UserDataStream
from tests.exchange.binance.fakes import API_KEY, API_SECRET, FakeClock, FakeWsApi
from tests.helpers import eventually


class Recorder:
    def __init__(self, fail_first: int = 0) -> None:
        self.updates: list[OrderUpdate] = []
        self.reconnects = 0
        self._fail = fail_first

    def on_update(self, update: OrderUpdate) -> None:
        if self._fail:
            self._fail -= 1
            raise RuntimeError("consumer bug")
        self.updates.append(update)

    async def on_reconnect(self) -> None:
        await asyncio.sleep(0)
        self.reconnects += 1


def make_stream(
    ws_fake: FakeWsApi, clock: FakeClock, recorder: Recorder, **kwargs: Any
) -> UserDataStream:
    options: dict[str, Any] = {
        "on_update": recorder.on_update,
        "on_reconnect": recorder.on_reconnect,
        "clock": clock,
        "backoff_min": 0.01,
        "backoff_max": 0.05,
        "subscribe_timeout": 2.0,
        **kwargs,
    }
    key = options.pop("api_key", API_KEY)
    secret = options.pop("api_secret", API_SECRET)
    return UserDataStream(key, secret, ws_fake.url, **options)


@pytest.fixture
async def running(
    ws_fake: FakeWsApi, clock: FakeClock
) -> AsyncIterator[tuple[UserDataStream, Recorder]]:
    """A stream subscribed to `ws_fake`, closed at the end."""
    recorder = Recorder()
    stream = make_stream(ws_fake, clock, recorder)
    task = asyncio.create_task(stream.run())
    await stream.wait_connected(3)
    yield stream, recorder
    await stream.close()
    await asyncio.wait_for(task, 3)


def order(status: OrderStatus, executed: str, oid: int = 1, cid: str = "hh-1") -> Order:
    qty = D(executed)
    return Order(oid, cid, "XRPUSDT", Side.BUY, D("0.5"), D(10), qty, qty * D("0.5"), status,
                 1_000, 2_000)  # fmt: skip


def report(update: OrderUpdate) -> dict[str, Any]:
    return wire.format_execution_report(update)


NEW = OrderUpdate(order(OrderStatus.NEW, "0"), D(0), D(0), D(0), "", 2_000)
PARTIAL = OrderUpdate(order(OrderStatus.PARTIALLY_FILLED, "4"), D(4), D("0.5"), D("0.002"),
                      "USDT", 2_001)  # fmt: skip
FILLED = OrderUpdate(order(OrderStatus.FILLED, "10"), D(6), D("0.5"), D("0.003"), "USDT", 2_002)


# -- subscription ----------------------------------------------------------------------------
async def test_it_subscribes_with_a_signed_request(ws_fake: FakeWsApi, clock: FakeClock) -> None:
    recorder = Recorder()
    stream = make_stream(ws_fake, clock, recorder, time_offset=lambda: 250, recv_window=3000)
    task = asyncio.create_task(stream.run())
    await stream.wait_connected(3)
    assert stream.connected and stream.subscription_id == 0
    (request,) = ws_fake.requests
    assert request["method"] == "userDataStream.subscribe.signature"
    params = request["params"]
    assert params["apiKey"] == API_KEY and params["recvWindow"] == 3000
    assert params["timestamp"] == int(clock() * 1000) + 250
    assert len(params["signature"]) == 64  # verified by the fake, else no subscription
    assert recorder.reconnects == 0  # only reconnects call on_reconnect
    await stream.close()
    await asyncio.wait_for(task, 3)
    assert not stream.connected


async def test_execution_reports_become_order_updates(
    running: tuple[UserDataStream, Recorder], ws_fake: FakeWsApi
) -> None:
    stream, recorder = running
    for update in (NEW, PARTIAL, FILLED):
        await ws_fake.push(report(update))
    await eventually(lambda: len(recorder.updates) == 3)
    assert recorder.updates == [NEW, PARTIAL, FILLED]
    assert stream.last_message_at is not None


async def test_a_cancel_report_carries_the_original_client_order_id(
    running: tuple[UserDataStream, Recorder], ws_fake: FakeWsApi
) -> None:
    _, recorder = running
    canceled = OrderUpdate(order(OrderStatus.CANCELED, "4"), D(0), D(0), D(0), "", 3_000)
    event = report(canceled) | {"c": "cancel-request-7", "C": "hh-1", "x": "CANCELED"}
    await ws_fake.push(event)
    await eventually(lambda: len(recorder.updates) == 1)
    assert recorder.updates[0].client_order_id == "hh-1"
    assert recorder.updates[0].order.status is OrderStatus.CANCELED


async def test_other_events_are_ignored(
    running: tuple[UserDataStream, Recorder], ws_fake: FakeWsApi
) -> None:
    stream, recorder = running
    await ws_fake.push({"e": "outboundAccountPosition", "E": 1, "u": 1, "B": []})
    await ws_fake.push({"e": "balanceUpdate", "E": 1, "a": "BTC", "d": "1", "T": 1})
    await ws_fake.push({"e": "externalLockUpdate", "E": 1, "a": "X", "d": "1", "T": 1})
    await ws_fake.push({"e": "somethingNew", "E": 1})
    await ws_fake.push(report(NEW))
    await eventually(lambda: len(recorder.updates) == 1)
    assert recorder.updates == [NEW] and stream.connected and len(ws_fake.connections) == 1


async def test_malformed_frames_are_logged_and_skipped(
    running: tuple[UserDataStream, Recorder], ws_fake: FakeWsApi, caplog: pytest.LogCaptureFixture
) -> None:
    stream, recorder = running
    with caplog.at_level(logging.WARNING, logger="hedgehog.exchange.binance.user_stream"):
        await ws_fake.send_raw("not json at all")
        await ws_fake.send_raw("[1, 2, 3]")
        await ws_fake.send_raw('{"subscriptionId": 0, "event": 5}')
        await ws_fake.send_raw(b"\x00\x01 a binary frame")
        await ws_fake.push({"e": "executionReport", "s": "XRPUSDT"})  # fields missing
        await ws_fake.push(report(PARTIAL) | {"X": "NOT_A_STATUS"})
        await ws_fake.push(report(PARTIAL) | {"z": "many"})
        await ws_fake.push(report(FILLED))
        await eventually(lambda: len(recorder.updates) == 1)
    assert recorder.updates == [FILLED]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 7
    assert stream.connected and len(ws_fake.connections) == 1


async def test_a_failing_consumer_does_not_stop_the_stream(
    ws_fake: FakeWsApi, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(fail_first=1)
    stream = make_stream(ws_fake, clock, recorder)
    task = asyncio.create_task(stream.run())
    await stream.wait_connected(3)
    await ws_fake.push(report(NEW))
    await ws_fake.push(report(PARTIAL))
    await eventually(lambda: len(recorder.updates) == 1)
    assert recorder.updates == [PARTIAL]
    assert any("on_update failed" in r.getMessage() for r in caplog.records)
    await stream.close()
    await asyncio.wait_for(task, 3)


# -- reconnection ----------------------------------------------------------------------------
async def test_a_dropped_connection_reconnects_and_calls_on_reconnect(
    running: tuple[UserDataStream, Recorder], ws_fake: FakeWsApi
) -> None:
    stream, recorder = running
    await ws_fake.drop()
    await eventually(lambda: recorder.reconnects == 1 and stream.connected)
    assert ws_fake.subscriptions == 2 and len(ws_fake.connections) == 2
    assert stream.reconnects == 1 and stream.subscription_id == 1
    await ws_fake.push(report(FILLED))
    await eventually(lambda: recorder.updates == [FILLED])
    await ws_fake.drop()
    await eventually(lambda: recorder.reconnects == 2 and stream.connected)


async def test_event_stream_terminated_resubscribes_on_the_same_connection(
    running: tuple[UserDataStream, Recorder], ws_fake: FakeWsApi
) -> None:
    stream, recorder = running
    await ws_fake.push({"e": "eventStreamTerminated", "E": 1})
    await eventually(lambda: recorder.reconnects == 1)
    assert ws_fake.subscriptions == 2 and len(ws_fake.connections) == 1
    assert stream.subscription_id == 1 and stream.connected
    await ws_fake.push(report(NEW))
    await eventually(lambda: recorder.updates == [NEW])


async def test_server_shutdown_reconnects(
    running: tuple[UserDataStream, Recorder], ws_fake: FakeWsApi
) -> None:
    stream, recorder = running
    await ws_fake.current.send_json({"event": {"e": "serverShutdown", "E": 1}})
    await eventually(lambda: recorder.reconnects == 1 and stream.connected)
    assert len(ws_fake.connections) == 2


@pytest.mark.parametrize(
    ("status", "code"), [(400, wire.TIMESTAMP_OUTSIDE_RECV_WINDOW), (429, -1003), (503, -1001)]
)
async def test_transient_refusals_are_retried(
    ws_fake: FakeWsApi, clock: FakeClock, status: int, code: int
) -> None:
    ws_fake.refuse.append((status, code, "try again"))
    recorder = Recorder()
    stream = make_stream(ws_fake, clock, recorder)
    task = asyncio.create_task(stream.run())
    await stream.wait_connected(3)
    assert len(ws_fake.connections) == 2 and ws_fake.subscriptions == 1
    assert recorder.reconnects == 0  # the first subscription, after all
    await stream.close()
    await asyncio.wait_for(task, 3)


@pytest.mark.parametrize(
    ("key", "secret", "code"),
    [(API_KEY, "a-wrong-secret", "-1022"), ("a-wrong-api-key", API_SECRET, "-2015")],
)
async def test_a_refused_key_or_signature_ends_run_with_a_clear_error(
    ws_fake: FakeWsApi,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    key: str,
    secret: str,
    code: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    stream = make_stream(ws_fake, clock, Recorder(), api_key=key, api_secret=secret)
    with pytest.raises(AuthenticationError) as info:
        await asyncio.wait_for(stream.run(), 3)
    message = str(info.value)
    assert code in message and "Check the API key and secret" in message
    assert len(ws_fake.connections) == 1  # not retried
    signature = ws_fake.requests[0]["params"]["signature"]
    for text in (message, caplog.text, repr(stream)):
        for secret_text in (key, secret, signature, API_KEY, API_SECRET):
            assert secret_text not in text


async def test_close_during_backoff_returns_promptly(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hedgehog")
    recorder = Recorder()
    stream = UserDataStream(
        API_KEY,
        API_SECRET,
        "ws://127.0.0.1:9/ws-api/v3",  # nothing listens there
        on_update=recorder.on_update,
        clock=clock,
        backoff_min=30.0,
        backoff_max=60.0,
    )
    task = asyncio.create_task(stream.run())
    await eventually(lambda: "reconnecting in" in caplog.text, what="the stream backing off")
    await stream.close()
    await asyncio.wait_for(task, 10)  # the backoff is >= 30 s: only close() ends it this soon


def test_backoff_is_exponential_jittered_and_capped() -> None:
    def stream(r: float) -> UserDataStream:
        return UserDataStream(API_KEY, API_SECRET, on_update=print, rng=lambda: r)

    low, high = stream(0.0), stream(1.0)
    assert [high.backoff_delay(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert [low.backoff_delay(n) for n in range(8)] == [0.5, 0.5, 1, 2, 4, 8, 15, 15]
    assert "<hidden>" in repr(low) and API_KEY not in repr(low) and API_SECRET not in repr(low)


async def test_ed25519_keys_subscribe(clock: FakeClock) -> None:
    ed = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    from cryptography.hazmat.primitives import serialization

    key = ed.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    fake = FakeWsApi(clock, ed25519_public_key=key.public_key())
    await fake.start()
    try:
        recorder = Recorder()
        stream = make_stream(fake, clock, recorder, api_secret=pem)
        task = asyncio.create_task(stream.run())
        await stream.wait_connected(3)
        await stream.close()
        await asyncio.wait_for(task, 3)
    finally:
        await fake.close()
