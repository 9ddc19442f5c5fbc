"""In-process pub/sub (the Phoenix.PubSub role): topics of processes.

`subscribe(proc, topic)`, `unsubscribe(proc, topic)`, `broadcast(topic, message)`. Messages go to
the subscribers' mailboxes (`handle_info`) in subscription order. A process's subscriptions
vanish when it exits, so dead subscribers never accumulate. The interface is deliberately narrow
(topics are strings, messages are values) so that a Redis or NATS backend can sit behind it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any, Protocol

from hedgehog.runtime.kernel import Runtime
from hedgehog.runtime.process import IDLE, INFO, QUEUED, Process


class Broadcaster(Protocol):
    """What publishers need: the narrow interface every backend offers."""

    def broadcast(self, topic: str, message: Any) -> None: ...


class PubSub:
    """Topics of local processes, on one runtime."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._topics: dict[str, dict[Process, tuple[int, int]]] = {}
        self._by_process: dict[Process, set[str]] = {}
        self._seq = itertools.count()
        rt.add_exit_listener(self._on_exit)

    def subscribe(self, proc: Process, topic: str, rank: int | None = None) -> None:
        """Deliver the topic's messages to `proc` (once, however often it subscribes).

        Subscribers get each message in subscription order. A `rank` puts the process after
        every unranked subscriber, among the ranked ones by rank: a trader restarted after a
        crash passes its original start number and gets its place back (backtests rely on it).
        """
        if not proc.alive:
            return
        key = (0, next(self._seq)) if rank is None else (1, rank)
        subs = self._topics.setdefault(topic, {})
        if proc in subs:
            return
        last = next(reversed(subs.values()), None) if subs else None
        subs[proc] = key
        if last is not None and key < last:
            ordered = sorted(subs.items(), key=lambda item: item[1])
            subs.clear()
            subs.update(ordered)
        self._by_process.setdefault(proc, set()).add(topic)

    def unsubscribe(self, proc: Process, topic: str) -> None:
        subs = self._topics.get(topic)
        if subs is not None:
            subs.pop(proc, None)
            if not subs:
                del self._topics[topic]
        topics = self._by_process.get(proc)
        if topics is not None:
            topics.discard(topic)
            if not topics:
                del self._by_process[proc]

    def broadcast(self, topic: str, message: Any) -> None:
        """Send `message` to every subscriber of `topic`, in subscription order."""
        subs = self._topics.get(topic)
        if subs:
            self.deliver(subs, message)

    def subscribers(self, topic: str) -> list[Process]:
        """A snapshot of the topic's subscribers, in subscription order."""
        return list(self._topics.get(topic, ()))

    def deliver(self, procs: Iterable[Process], message: Any) -> None:
        """Send `message` to each live process of a snapshot (dead ones are skipped)."""
        entry = (INFO, message, None)
        scheduler = self.rt.scheduler
        runq = scheduler.runq
        woke = False
        for proc in procs:
            if proc.alive:
                proc.mailbox.append(entry)
                if proc._state == IDLE:
                    proc._state = QUEUED
                    runq.append(proc)
                    woke = True
        if woke:
            scheduler.arm()

    def topics(self) -> dict[str, int]:
        """Topic -> number of subscribers."""
        return {t: len(s) for t, s in self._topics.items()}

    def _on_exit(self, proc: Process, reason: Any) -> None:
        topics = self._by_process.pop(proc, None)
        if topics:
            for topic in topics:
                subs = self._topics.get(topic)
                if subs is not None:
                    subs.pop(proc, None)
                    if not subs:
                        del self._topics[topic]
