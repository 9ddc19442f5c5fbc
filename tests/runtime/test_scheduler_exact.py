"""The scheduler's guarantees (issue 11): each process runs in its own `contextvars.Context`,
inline and in its task alike; a process killed during its own inline step is gone at once; and
`quiesce()` returns exactly when no process has work queued or a callback suspended, while its
strict form (the backtest's) raises when a suspended callback waits on something outside.
"""

from __future__ import annotations

import asyncio
import contextvars
from decimal import Decimal, localcontext
from typing import Any

import pytest

from hedgehog.runtime import NotQuiescent, Process, Runtime

THIRD_AT_3 = Decimal("0.333")
THIRD_AT_28 = Decimal(1) / Decimal(3)  # the default precision, computed outside any process

TAG: contextvars.ContextVar[str] = contextvars.ContextVar("TAG", default="unset")


def third() -> Decimal:
    return Decimal(1) / Decimal(3)


class Precise(Process):
    """Computes at precision 3 across an await on `gate`."""

    def init(self, gate: asyncio.Event) -> None:
        self.gate = gate
        self.seen: list[Decimal] = []

    async def handle_cast(self, message: Any) -> None:
        with localcontext(prec=3):
            self.seen.append(third())
            await self.gate.wait()
            self.seen.append(third())
        self.seen.append(third())


class Tagger(Process):
    """Sets TAG in its own context, across an await when told to wait."""

    def init(self, gate: asyncio.Event) -> None:
        self.gate = gate
        self.seen: list[str] = []

    async def handle_cast(self, message: Any) -> None:
        if message == "set":
            TAG.set("tagger")
        elif message == "set-and-wait":
            TAG.set("tagger")
            await self.gate.wait()
        self.seen.append(TAG.get())


class Observer(Process):
    """Records what it sees of the Decimal context and of TAG (plain callbacks)."""

    def init(self) -> None:
        self.thirds: list[Decimal] = []
        self.tags: list[str] = []

    def handle_cast(self, message: Any) -> None:
        self.thirds.append(third())
        self.tags.append(TAG.get())


async def test_a_decimal_context_across_an_await_stays_in_its_process(rt: Runtime) -> None:
    gate = asyncio.Event()
    precise = await rt.start(Precise, gate)
    observer = await rt.start(Observer)
    rt.cast(precise, "go")
    rt.cast(observer, "look")
    rt.scheduler.run()  # precise suspends inline; observer runs right after, in the same turn
    assert rt.scheduler.in_task == 1
    gate.set()
    rt.cast(observer, "look again")
    await rt.quiesce()
    assert observer.thirds == [THIRD_AT_28, THIRD_AT_28]
    assert third() == THIRD_AT_28  # nor does the test's own context see it
    assert precise.seen == [THIRD_AT_3, THIRD_AT_3, THIRD_AT_28]


async def test_a_context_variable_set_in_one_process_is_never_seen_by_another(
    rt: Runtime,
) -> None:
    gate = asyncio.Event()
    tagger = await rt.start(Tagger, gate)
    observer = await rt.start(Observer)
    rt.cast(tagger, "set")  # a plain inline step
    rt.cast(observer, "look")
    rt.cast(tagger, "set-and-wait")  # suspends: its task carries on
    rt.cast(observer, "look")
    rt.scheduler.run()
    gate.set()
    rt.cast(tagger, "read")
    rt.cast(observer, "look")
    await rt.quiesce()
    assert observer.tags == ["unset", "unset", "unset"]
    assert TAG.get() == "unset"
    assert tagger.seen == ["tagger", "tagger", "tagger"]  # its own context persists


class SelfKiller(Process):
    """Gets itself killed during its own inline step, then awaits something that never comes."""

    async def handle_cast(self, message: Any) -> None:
        self.rt.kill(self)
        await asyncio.Event().wait()


async def test_a_process_killed_during_its_inline_step_is_cleaned_up_at_once(
    rt: Runtime,
) -> None:
    victim = await rt.start(SelfKiller)
    rt.cast(victim, "die")
    rt.scheduler.run()
    assert not victim.alive
    assert victim.status == "dead"
    assert rt.scheduler.in_task == 0
    await asyncio.wait_for(rt.quiesce(strict=True), timeout=5)


class Waiter(Process):
    """Awaits `gate` in a callback, then records that it finished."""

    def init(self, gate: asyncio.Event) -> None:
        self.gate = gate
        self.finished = False

    async def handle_cast(self, message: Any) -> None:
        await self.gate.wait()
        self.finished = True


async def test_quiesce_returns_only_when_the_suspended_callback_finished(rt: Runtime) -> None:
    gate = asyncio.Event()
    waiter = await rt.start(Waiter, gate)
    rt.cast(waiter, "wait")
    quiet = asyncio.ensure_future(rt.quiesce())
    for _ in range(50):  # many quiet turns: the old quiesce gave up after three
        await asyncio.sleep(0)
    assert not quiet.done()
    gate.set()
    await asyncio.wait_for(quiet, timeout=5)
    assert waiter.finished
    assert rt.scheduler.in_task == 0


async def test_strict_quiesce_raises_naming_a_callback_that_awaits_something_external(
    rt: Runtime,
) -> None:
    waiter = await rt.start(Waiter, asyncio.Event(), name="stuck-waiter")
    rt.cast(waiter, "wait")
    with pytest.raises(NotQuiescent, match="stuck-waiter"):
        await asyncio.wait_for(rt.quiesce(strict=True), timeout=5)


class Relay(Process):
    """Awaits work the loop itself finishes: loop turns and a call to a busy process."""

    def init(self, target: Process) -> None:
        self.target = target
        self.answer: Any = None

    async def handle_cast(self, message: Any) -> None:
        for _ in range(10):
            await asyncio.sleep(0)
        self.answer = await self.rt.call(self.target, "ping")


class Echo(Process):
    async def handle_call(self, request: Any, from_: Any) -> Any:
        for _ in range(5):
            await asyncio.sleep(0)
        return request


async def test_strict_quiesce_waits_for_callbacks_the_loop_itself_finishes(rt: Runtime) -> None:
    echo = await rt.start(Echo)
    relay = await rt.start(Relay, echo)
    rt.cast(relay, "go")
    await asyncio.wait_for(rt.quiesce(strict=True), timeout=5)
    assert relay.answer == "ping"
    assert rt.scheduler.in_task == 0


class FakeEngine:
    """A matching engine with no orders: no trade fills anything."""

    def on_trade(self, trade: Any) -> list[Any]:
        return []


class Listener(Process):
    """Subscribed to a symbol's trades; its callback awaits an event nobody sets."""

    def init(self, pubsub: Any, topic: str) -> None:
        pubsub.subscribe(self, topic)

    async def handle_info(self, message: Any) -> None:
        await asyncio.Event().wait()


async def test_the_backtest_stops_with_a_clear_error_when_a_callback_awaits_outside(
    rt: Runtime, clock: Any
) -> None:
    from hedgehog.backtest.runner import _Replay
    from hedgehog.core.types import TradeEvent, trade_topic
    from hedgehog.runtime.pubsub import PubSub

    pubsub = PubSub(rt)
    await rt.start(Listener, pubsub, trade_topic("XRPUSDT"), name="listener")
    replay = _Replay(["XRPUSDT"], rt, pubsub, FakeEngine(), clock, [0], 0, 0, None)  # type: ignore[arg-type]
    trade = TradeEvent("XRPUSDT", 1, Decimal("0.5"), Decimal("10"), 0, False, 0)
    with pytest.raises(NotQuiescent, match=r"listener.*awaits something outside"):
        await asyncio.wait_for(replay.deliver(0, trade), timeout=5)
