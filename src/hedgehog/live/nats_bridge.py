"""Pub/sub over NATS: a bridge beside the in-process `PubSub`, which stays as it is (and as fast).

    bridge = NatsBridge("nats://127.0.0.1:4222", pubsub)
    await bridge.connect()                      # ConfigError if the server does not answer
    streamer = Streamer(rt, bridge.publishing(pubsub), ...)   # its trades go out to NATS too
    await bridge.follow("TRADE_EVENTS:XRPUSDT")  # trades from NATS broadcast here, locally

Out: `forward(topic, event)` encodes at once and queues; one sender task publishes the queue in
order (NATS keeps one publisher's order on a subject). In: one NATS subscription per followed
topic, whose callback runs message after message, so each topic's events reach the local
subscribers in the order they were published. Each message carries its publisher's id and a
per-topic sequence number: a receiver counts and logs what it never got (`lost`: a NATS outage,
a slow consumer) and drops a stale or repeated one (`out_of_order`) instead of delivering it
late. A bad message is counted (`bad`) and logged, never a crash.

Only trade events cross: fills still come from the user stream and the poller of the node that
owns the symbol. nats-py reconnects by itself (for ever); each disconnection and reconnection
is counted and logged, and `connected` is what the node's health reports ("degraded: NATS
disconnected"). `no_echo`: a node never gets back what it published itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.errors import SlowConsumerError

from hedgehog.core.errors import ConfigError
from hedgehog.core.types import TradeEvent
from hedgehog.live.nats_wire import (
    WireError,
    decode_trade,
    encode_trade,
    parse_pubsub_url,
    topic_subject,
)
from hedgehog.runtime.pubsub import Broadcaster

log = logging.getLogger("hedgehog.nats")

MAX_QUEUE = 100_000  # trades waiting to go out; past it they are dropped and counted


@dataclass
class BridgeStats:
    """Counters of one bridge, for `status()` and the tests."""

    published: int = 0  # messages handed to NATS
    received: int = 0  # messages delivered locally
    dropped: int = 0  # outgoing messages NATS would not take (its buffer full while away)
    lost: int = 0  # incoming messages not delivered (gaps in a publisher's sequence)
    out_of_order: int = 0  # of those, the ones that came after all, too late (dropped)
    bad: int = 0  # incoming messages that did not decode
    disconnects: int = 0
    reconnects: int = 0
    errors: int = 0


class _Publishing:
    """A `Broadcaster` that broadcasts locally and forwards to NATS (given to the streamer)."""

    __slots__ = ("broadcast",)

    def __init__(self, local: Broadcaster, bridge: NatsBridge) -> None:
        local_broadcast, forward = local.broadcast, bridge.forward

        def broadcast(topic: str, message: Any) -> None:
            local_broadcast(topic, message)
            forward(topic, message)

        self.broadcast = broadcast


class NatsBridge:
    """One NATS connection of a node: forwards local trade events out, follows topics in."""

    def __init__(
        self,
        url: str,
        local: Broadcaster,
        *,
        name: str = "hedgehog",
        connect_timeout: float = 2.0,
        reconnect_wait: float = 1.0,
        max_queue: int = MAX_QUEUE,
    ) -> None:
        self.server, self.prefix = parse_pubsub_url(url)
        self.local = local
        self.name = name
        self.publisher = secrets.token_hex(6)  # tells this node's messages from others'
        self.connect_timeout = connect_timeout
        self.reconnect_wait = reconnect_wait
        self.max_queue = max_queue
        self.stats = BridgeStats()
        self.connected = False
        self._nc: Any = None
        self._queue: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # set while nothing waits to go out
        self._idle.set()
        self._sender: asyncio.Task[None] | None = None
        self._seq: dict[str, int] = {}  # outgoing: topic -> last sequence number
        self._last: dict[tuple[str, str], int] = {}  # incoming: (topic, publisher) -> seq
        self._subs: dict[str, Subscription] = {}

    async def connect(self) -> None:
        """Connect (ConfigError, one line, if the server does not answer in time)."""
        nc = Client()
        try:
            await asyncio.wait_for(
                nc.connect(
                    self.server,
                    name=self.name,
                    no_echo=True,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    connect_timeout=self.connect_timeout,  # type: ignore[arg-type]
                    reconnect_time_wait=self.reconnect_wait,  # type: ignore[arg-type]
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    drain_timeout=5,
                ),
                self.connect_timeout + 1,
            )
        except (TimeoutError, OSError, NatsError) as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            raise ConfigError(
                f"cannot reach NATS at {self.server} ({exc or type(exc).__name__}): "
                "start nats-server or fix --pubsub"
            ) from None
        self._nc, self.connected = nc, True
        self._sender = asyncio.ensure_future(self._send_loop())
        log.info("pub/sub over NATS at %s, subjects %s.*", self.server, self.prefix)

    def publishing(self, local: Broadcaster) -> Broadcaster:
        """`local`'s broadcasts, forwarded to NATS as well."""
        return _Publishing(local, self)

    def forward(self, topic: str, message: Any) -> None:
        """Queue a trade event for NATS (other messages stay local: fills never cross)."""
        if type(message) is not TradeEvent:
            return
        seq = self._seq.get(topic, 0) + 1
        self._seq[topic] = seq  # a dropped message leaves a gap receivers count as lost
        if len(self._queue) >= self.max_queue:
            self._dropped(f"{len(self._queue)} messages wait already")
            return
        data = encode_trade(self.publisher, seq, message)
        self._queue.append((topic_subject(self.prefix, topic), data))
        self._idle.clear()
        self._wake.set()

    async def _send_loop(self) -> None:
        queue, nc, stats = self._queue, self._nc, self.stats
        while True:
            await self._wake.wait()
            self._wake.clear()
            while queue:
                subject, data = queue.popleft()
                try:
                    await nc.publish(subject, data)
                except NatsError as exc:  # its buffer is full while away, or it is closed
                    self._dropped(type(exc).__name__)
                except Exception as exc:  # never let the sender die: later trades would pile up
                    log.exception("NATS: publishing on %s failed", subject)
                    self._dropped(repr(exc))
                else:
                    stats.published += 1
            self._idle.set()

    def _dropped(self, why: str) -> None:
        self.stats.dropped += 1
        if _worth_logging(self.stats.dropped):
            log.warning(
                "NATS: %d outgoing trade events dropped so far (%s)", self.stats.dropped, why
            )

    async def follow(self, topic: str) -> bool:
        """Broadcast locally what NATS carries on `topic`; False if followed already."""
        if topic in self._subs:
            return False
        self._subs[topic] = await self._nc.subscribe(
            topic_subject(self.prefix, topic), cb=self._receiver(topic)
        )
        if not self.connected:  # nats-py subscribes again on reconnection
            log.warning("NATS: following %s once reconnected", topic)
            return True
        try:
            await self.sync()  # the server has it before we return
        except (NatsError, TimeoutError) as exc:
            log.warning("NATS: following %s once reconnected (%r)", topic, exc)
        return True

    async def sync(self) -> None:
        """A round trip to the server: what this bridge sent before has been processed."""
        await self._nc.flush(self.connect_timeout)

    async def unfollow(self, topic: str) -> bool:
        sub = self._subs.pop(topic, None)
        if sub is None:
            return False
        await sub.unsubscribe()
        return True

    def following(self) -> list[str]:
        return sorted(self._subs)

    def _receiver(self, topic: str) -> Any:
        symbol = topic.split(":", 1)[1] if topic.startswith("TRADE_EVENTS:") else None
        broadcast, stats, last = self.local.broadcast, self.stats, self._last

        async def on_message(msg: Msg) -> None:
            try:
                publisher, seq, event = decode_trade(msg.data)
                if symbol is not None and event.symbol != symbol:
                    raise WireError(f"a trade of {event.symbol} on {topic}")
            except WireError as exc:
                stats.bad += 1
                if _worth_logging(stats.bad):
                    log.warning("NATS: bad message on %s (%d so far): %s", topic, stats.bad, exc)
                return
            key = (topic, publisher)
            before = last.get(key)
            if before is not None and seq != before + 1:
                if seq <= before:
                    stats.out_of_order += 1
                    log.warning("NATS: %s: message %d after %d dropped", topic, seq, before)
                    return
                stats.lost += seq - before - 1
                log.warning(
                    "NATS: %s: %d trade events lost (publisher %s, %d to %d)",
                    topic,
                    seq - before - 1,
                    publisher,
                    before + 1,
                    seq - 1,
                )
            last[key] = seq
            stats.received += 1
            broadcast(topic, event)

        return on_message

    async def _on_error(self, exc: Exception) -> None:
        self.stats.errors += 1
        if isinstance(exc, SlowConsumerError):
            self.stats.lost += 1  # dropped by the client before our callback saw it
        if _worth_logging(self.stats.errors):
            log.warning("NATS error (%d so far): %r", self.stats.errors, exc)

    async def _on_disconnected(self) -> None:
        if not self.connected:
            return
        self.connected = False
        self.stats.disconnects += 1
        log.warning(
            "NATS connection to %s lost (%d so far): reconnecting; trades over NATS wait, "
            "fills still come from the exchange",
            self.server,
            self.stats.disconnects,
        )

    async def _on_reconnected(self) -> None:
        self.connected = True
        self.stats.reconnects += 1
        log.warning("NATS reconnected to %s (%d so far)", self.server, self.stats.reconnects)

    def status(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "prefix": self.prefix,
            "connected": self.connected,
            "following": self.following(),
            "publishing": sorted(self._seq),
            "waiting": len(self._queue),
            **asdict(self.stats),
        }

    async def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (for up to `timeout` s), then drain and close the connection."""
        if self._nc is None:
            return
        if self.connected:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout)
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        self.connected = False
        with contextlib.suppress(Exception):
            await self._nc.drain()
        with contextlib.suppress(Exception):
            await self._nc.close()
        self._nc = None


def _worth_logging(count: int) -> bool:
    """Log the first ten, then every power of ten: a storm stays a few lines."""
    return count <= 10 or str(count).rstrip("0") == "1"
