"""The NATS bridge against a real server: 10,000 trades of two topics cross from one node's
connection to another's complete and in order per topic (and the check that says so catches a
bridge that drops or reorders); a lost server is reported and the bridge resumes."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest

from hedgehog.core.errors import ConfigError
from hedgehog.core.types import TradeEvent, trade_topic
from hedgehog.live.nats_bridge import NatsBridge
from hedgehog.live.nats_wire import encode_trade
from tests.helpers import eventually
from tests.live.nats_support import Recorder, nats_answers, nats_url, needs_nats

pytestmark = needs_nats
TOPICS = [trade_topic("XRPUSDT"), trade_topic("ETHUSDT")]


def trades(n: int, start: int = 0) -> list[tuple[str, TradeEvent]]:
    """n trades alternating between the two topics, each symbol's ids counting up."""
    out = []
    for i in range(start, start + n):
        topic = TOPICS[i % 2]
        symbol = topic.split(":")[1]
        price = Decimal("0.3") + Decimal(i) / Decimal("10000")
        out.append((topic, TradeEvent(symbol, i, price, Decimal("1.5"), 1_000 + i, i % 3 == 0, i)))
    return out


def check_in_order(sent: list[tuple[str, TradeEvent]], got: Recorder) -> None:
    """Every topic received exactly what was sent on it, in the order sent."""
    for topic in TOPICS:
        expected = [e for t, e in sent if t == topic]
        assert got.by_topic[topic] == expected, f"{topic}: not all, or not in order"


@pytest.fixture
async def pair() -> AsyncIterator[tuple[NatsBridge, NatsBridge, Recorder]]:
    url, got = nats_url(), Recorder()
    a, b = NatsBridge(url, Recorder(), name="streamer"), NatsBridge(url, got, name="trader")
    await a.connect()
    await b.connect()
    try:
        yield a, b, got
    finally:
        await a.close()
        await b.close()


async def exchange(a: NatsBridge, b: NatsBridge, got: Recorder, n: int) -> list[Any]:
    for topic in TOPICS:
        await b.follow(topic)
    sent = trades(n)
    out = a.publishing(Recorder())
    for topic, event in sent:
        out.broadcast(topic, event)
    await eventually(lambda: a.stats.published >= n - 1 and not a.status()["waiting"])
    await a.sync()
    await eventually(lambda: got.count() + b.stats.lost + b.stats.out_of_order >= n - 1)
    return sent


async def test_ten_thousand_trades_cross_in_order_per_topic(pair: Any) -> None:
    a, b, got = pair
    sent = await exchange(a, b, got, 10_000)
    await eventually(lambda: got.count() == 10_000)
    check_in_order(sent, got)
    assert (b.stats.received, b.stats.lost, b.stats.out_of_order, b.stats.bad) == (10_000, 0, 0, 0)
    assert a.status()["publishing"] == sorted(TOPICS) and b.following() == sorted(TOPICS)


class Dropping(NatsBridge):
    """A mutant that silently skips the 5,000th trade it is given."""

    given = 0

    def forward(self, topic: str, message: Any) -> None:
        self.given += 1
        if self.given != 5_000:
            super().forward(topic, message)


class Reordering(NatsBridge):
    """A mutant whose receiver delivers the 100th message after the 101st."""

    def _receiver(self, topic: str) -> Any:
        inner = super()._receiver(topic)
        held: list[Any] = []
        count = [0]

        async def on_message(msg: Any) -> None:
            count[0] += 1
            if count[0] == 100:
                held.append(msg)
                return
            await inner(msg)
            while held:
                await inner(held.pop())

        return on_message


@pytest.mark.parametrize("mutant", ["drops", "reorders"])
async def test_the_check_catches_a_bridge_that_drops_or_reorders(mutant: str) -> None:
    url, got = nats_url(), Recorder()
    a = (Dropping if mutant == "drops" else NatsBridge)(url, Recorder())
    b = (Reordering if mutant == "reorders" else NatsBridge)(url, got)
    await a.connect()
    await b.connect()
    try:
        sent = await exchange(a, b, got, 10_000)
        with pytest.raises(AssertionError, match="not all, or not in order"):
            check_in_order(sent, got)
        if mutant == "reorders":  # one per topic: counted lost, and not delivered late
            assert (b.stats.lost, b.stats.out_of_order) == (2, 2)
    finally:
        await a.close()
        await b.close()


async def test_an_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    bridge = NatsBridge(f"nats://127.0.0.1:{port}", Recorder(), connect_timeout=0.2)
    with pytest.raises(ConfigError, match=f"cannot reach NATS at nats://127.0.0.1:{port}"):
        await bridge.connect()


async def test_a_bad_message_is_counted_not_a_crash(pair: Any) -> None:
    a, b, got = pair
    await b.follow(TOPICS[0])
    subject = f"{b.prefix}.{TOPICS[0]}"
    await a._nc.publish(subject, b"not json")
    wrong = trades(1)[0][1]._replace(symbol="ETHUSDT")  # valid, but not this topic's
    await a._nc.publish(subject, encode_trade("other", 1, wrong))
    out = a.publishing(Recorder())
    out.broadcast(TOPICS[0], trades(1)[0][1])
    await a.sync()
    await eventually(lambda: got.count() == 1)
    assert b.stats.bad == 2 and got.by_topic[TOPICS[0]] == [trades(1)[0][1]]


NATS_SERVER = shutil.which("nats-server")


@pytest.fixture
def own_server() -> Iterator[Any]:
    """A private nats-server on a free port, which the test may stop and start again."""
    if NATS_SERVER is None:
        pytest.skip("nats-server is not installed (the reconnect test runs its own)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(
            subprocess.Popen(
                [NATS_SERVER, "-a", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def stop() -> None:
        procs[-1].kill()
        procs[-1].wait(10)

    start()
    try:
        yield port, start, stop
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


async def test_a_lost_server_is_reported_and_the_bridge_resumes(own_server: Any) -> None:
    port, start, stop = own_server
    await eventually(lambda: nats_answers(port=port), what="the private nats-server is up")
    url, got = nats_url(port), Recorder()
    a = NatsBridge(url, Recorder(), reconnect_wait=0.05, connect_timeout=1.0)
    b = NatsBridge(url, got, reconnect_wait=0.05, connect_timeout=1.0)
    await a.connect()
    await b.connect()
    try:
        out = a.publishing(Recorder())
        await b.follow(TOPICS[0])
        sent = [e for t, e in trades(400) if t == TOPICS[0]]  # 200 of one topic
        for event in sent[:100]:
            out.broadcast(TOPICS[0], event)
        await eventually(lambda: got.count() == 100)

        stop()
        await eventually(lambda: not a.connected and not b.connected, what="both see it")
        assert (a.stats.disconnects, b.stats.disconnects) == (1, 1)
        for event in sent[100:150]:  # while away: buffered, or lost and then counted
            out.broadcast(TOPICS[0], event)
        assert await b.follow(TOPICS[1])  # followed while away: subscribed on reconnection

        start()
        await eventually(lambda: a.connected and b.connected, what="both reconnect")
        assert (a.stats.reconnects, b.stats.reconnects) == (1, 1)
        await b.sync()  # the server has b's subscription again
        for event in sent[150:]:
            out.broadcast(TOPICS[0], event)
        await eventually(lambda: got.by_topic[TOPICS[0]][-1] == sent[-1], what="resumed")
        other = trades(2)[1]
        out.broadcast(*other)
        await eventually(lambda: got.by_topic[TOPICS[1]] == [other[1]])
        received = got.by_topic[TOPICS[0]]
        assert [e.trade_id for e in received] == sorted(e.trade_id for e in received)
        # nothing vanished silently: each trade arrived or is counted as lost
        assert len(received) + b.stats.lost == 200  # what `a` dropped is a gap `b` counts
        assert b.stats.out_of_order == 0
    finally:
        await a.close()
        await b.close()
