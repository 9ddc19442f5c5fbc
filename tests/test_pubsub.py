"""In-process pub/sub: subscription order, no duplicates, unsubscribe, dead subscribers removed,
broadcast to nobody, snapshots with `subscribers()` + `deliver()`, ranks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from hedgehog.runtime import Process, Runtime, VirtualClock
from hedgehog.runtime.pubsub import Broadcaster, PubSub

Log = list[Any]


class Sub(Process):
    """Logs (tag, message) of every message in a shared log."""

    def init(self, log: Log, tag: Any) -> None:
        self.log = log
        self.tag = tag

    def handle_info(self, message: Any) -> None:
        self.log.append((self.tag, message))


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    """A runtime on a virtual clock; whatever is left alive is killed at the end."""
    runtime = Runtime(VirtualClock())
    yield runtime
    for proc in list(runtime.processes.values()):
        runtime.kill(proc)


@pytest.fixture
def ps(rt: Runtime) -> PubSub:
    return PubSub(rt)


async def subs(rt: Runtime, log: Log, *tags: Any) -> list[Process]:
    return [await rt.start(Sub, log, tag) for tag in tags]


async def test_messages_reach_subscribers_in_subscription_order(rt: Runtime, ps: PubSub) -> None:
    log: Log = []
    a, b, c, d = await subs(rt, log, "a", "b", "c", "d")
    for proc in (c, a, d):
        ps.subscribe(proc, "TRADE_EVENTS:XRPUSDT")
    ps.subscribe(b, "OTHER")
    for i in range(3):
        ps.broadcast("TRADE_EVENTS:XRPUSDT", i)
        await rt.quiesce()
    assert log == [(tag, i) for i in range(3) for tag in ("c", "a", "d")]
    assert ps.subscribers("TRADE_EVENTS:XRPUSDT") == [c, a, d]
    assert ps.topics() == {"TRADE_EVENTS:XRPUSDT": 3, "OTHER": 1}


async def test_a_publisher_s_messages_arrive_in_order(rt: Runtime, ps: PubSub) -> None:
    log: Log = []
    (a,) = await subs(rt, log, "a")
    ps.subscribe(a, "t")
    for i in range(1000):
        ps.broadcast("t", i)
    await rt.quiesce()
    assert [m for _, m in log] == list(range(1000))


async def test_no_duplicate_delivery_on_double_subscribe(rt: Runtime, ps: PubSub) -> None:
    log: Log = []
    a, b = await subs(rt, log, "a", "b")
    ps.subscribe(a, "t")
    ps.subscribe(b, "t")
    ps.subscribe(a, "t")  # again: keeps its first place
    ps.broadcast("t", "x")
    await rt.quiesce()
    assert log == [("a", "x"), ("b", "x")]
    assert ps.subscribers("t") == [a, b]


async def test_unsubscribe(rt: Runtime, ps: PubSub) -> None:
    log: Log = []
    a, b = await subs(rt, log, "a", "b")
    ps.subscribe(a, "t")
    ps.subscribe(b, "t")
    ps.subscribe(a, "u")
    ps.unsubscribe(a, "t")
    ps.unsubscribe(a, "t")  # twice: harmless
    ps.unsubscribe(b, "never subscribed")
    ps.broadcast("t", 1)
    ps.broadcast("u", 2)
    await rt.quiesce()
    assert log == [("b", 1), ("a", 2)]
    ps.unsubscribe(b, "t")
    ps.unsubscribe(a, "u")
    assert ps.topics() == {}
    assert ps._by_process == {}
    ps.subscribe(a, "t")  # and back, now last in order
    ps.subscribe(b, "t")
    assert ps.subscribers("t") == [a, b]


async def test_dead_subscribers_are_removed(rt: Runtime, ps: PubSub) -> None:
    log: Log = []
    a, b, c = await subs(rt, log, "a", "b", "c")
    for proc in (a, b, c):
        ps.subscribe(proc, "t")
        ps.subscribe(proc, "u")
    rt.kill(b)
    await rt.stop(c)
    assert ps.subscribers("t") == [a] and ps.subscribers("u") == [a]
    ps.broadcast("t", 1)
    await rt.quiesce()
    assert log == [("a", 1)]
    rt.kill(a)
    assert ps.topics() == {}


async def test_subscriptions_do_not_grow_with_short_lived_subscribers(
    rt: Runtime, ps: PubSub
) -> None:
    log: Log = []
    (keeper,) = await subs(rt, log, "keeper")
    ps.subscribe(keeper, "t")
    for i in range(1000):
        proc = await rt.start(Sub, log, i)
        ps.subscribe(proc, "t")
        ps.subscribe(proc, f"own:{i}")
        if i % 2:
            rt.kill(proc)
        else:
            await rt.stop(proc)
    assert ps.subscribers("t") == [keeper]
    assert ps.topics() == {"t": 1}
    assert list(ps._by_process) == [keeper]


async def test_subscribing_a_dead_process_is_ignored(rt: Runtime, ps: PubSub) -> None:
    log: Log = []
    (a,) = await subs(rt, log, "a")
    rt.kill(a)
    ps.subscribe(a, "t")
    assert ps.topics() == {} and ps._by_process == {}


async def test_broadcast_to_no_subscriber(rt: Runtime, ps: PubSub) -> None:
    ps.broadcast("nobody", "hello")
    await rt.quiesce()
    assert ps.topics() == {}
    assert ps.subscribers("nobody") == []


async def test_snapshot_and_deliver_skip_dead_ones(rt: Runtime, ps: PubSub) -> None:
    log: Log = []
    a, b, c = await subs(rt, log, "a", "b", "c")
    ps.subscribe(a, "t")
    ps.subscribe(b, "t")
    snapshot = ps.subscribers("t")
    ps.subscribe(c, "t")  # later subscribers are not in the snapshot
    rt.kill(a)  # dead ones are skipped
    assert snapshot == [a, b]
    ps.deliver(snapshot, "m")
    ps.deliver([], "nothing")
    await rt.quiesce()
    assert log == [("b", "m")]
    assert len(a.mailbox) == 0


async def test_delivery_to_a_busy_subscriber_waits_for_it(rt: Runtime, ps: PubSub) -> None:
    log: Log = []

    class Publisher(Process):
        def handle_info(self, message: Any) -> None:
            log.append(("pub", message))
            if message == "go":
                ps.broadcast("t", "from inside")  # delivered to itself after this callback
                log.append(("pub", "broadcast done"))

    pub = await rt.start(Publisher)
    (a,) = await subs(rt, log, "a")
    ps.subscribe(pub, "t")
    ps.subscribe(a, "t")
    rt.send(pub, "go")
    await rt.quiesce()
    assert log == [
        ("pub", "go"),
        ("pub", "broadcast done"),
        ("pub", "from inside"),
        ("a", "from inside"),
    ]


async def test_ranked_subscribers_come_after_unranked_ones_in_rank_order(
    rt: Runtime, ps: PubSub
) -> None:
    log: Log = []
    r2, u1, r1, u2 = await subs(rt, log, "r2", "u1", "r1", "u2")
    ps.subscribe(r2, "t", rank=2)
    ps.subscribe(u1, "t")
    ps.subscribe(r1, "t", rank=1)
    ps.subscribe(u2, "t")
    assert ps.subscribers("t") == [u1, u2, r1, r2]
    rt.kill(r1)
    (r1_again,) = await subs(rt, log, "r1 again")  # restarted: gets its place back
    ps.subscribe(r1_again, "t", rank=1)
    assert ps.subscribers("t") == [u1, u2, r1_again, r2]
    ps.broadcast("t", "x")
    await rt.quiesce()
    assert [tag for tag, _ in log] == ["u1", "u2", "r1 again", "r2"]


async def test_pubsub_is_a_broadcaster(rt: Runtime, ps: PubSub) -> None:
    log: Log = []
    (a,) = await subs(rt, log, "a")
    ps.subscribe(a, "t")

    def publish(to: Broadcaster) -> None:  # mypy checks that a PubSub is a Broadcaster
        to.broadcast("t", 1)

    publish(ps)
    await rt.quiesce()
    assert log == [("a", 1)]
