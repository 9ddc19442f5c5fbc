"""The runner of a `StreamConnection`: the life of its sockets, in one asyncio task.

`Runner.run` owns the aiohttp session. It connects (retrying with jittered exponential
backoff), keeps the server's set of streams equal to the wanted set and sends queued requests
(`Requests`), reconnects after a drop, and rotates before Binance's 24 h cut-off,
make-before-break: the new socket is opened and subscribed while the old one still delivers,
both run for `rotation_overlap` (the `Sequencer` merges their trades by id), then the old one
is closed. The backoff resets once a socket has stayed up `stable_after` seconds, so a
flapping server is not hammered but a drop after a long healthy stretch reconnects at once.
Pings are answered by aiohttp (`autoping`); when nothing arrives for `heartbeat` seconds
aiohttp pings the server itself and drops the socket if no pong comes back.

The process's callbacks only change state and `wake` the runner, so they never wait on the
network; each socket's frames are handled by its own reader task (`Reader`). Kept apart from
the process, whose module holds its messages, its wanted set and its `info()`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

import aiohttp

from hedgehog.runtime.pubsub import Broadcaster
from hedgehog.streamer.frames import stream_url
from hedgehog.streamer.link import Link, RequestPacer
from hedgehog.streamer.options import Backoff, LogLimiter
from hedgehog.streamer.reader import Reader
from hedgehog.streamer.requests import Requests
from hedgehog.streamer.sequencer import Sequencer

if TYPE_CHECKING:
    from hedgehog.streamer.connection import StreamConnection

log = logging.getLogger("hedgehog.streamer")

_CONNECT_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)
_LIMITED = (418, 429)  # rate-limited (429) or banned (418)


class Runner:
    """The sockets of `conn` (one, two during a rotation) and the counters of their life."""

    def __init__(
        self,
        conn: StreamConnection,
        sequencer: Sequencer,
        requests: Requests,
        pubsub: Broadcaster,
        logs: LogLimiter,
        label: str,
    ) -> None:
        self.conn = conn
        self.options = opts = conn.options
        self.base_url = conn.base_url
        self.label = label
        clock = conn.rt.clock
        self._now = clock.time
        self._mono = clock.monotonic
        self._logs = logs
        self._sequencer = sequencer
        self._requests = requests
        self.reader = Reader(conn, self, sequencer, requests, pubsub, logs, clock.time, label)
        self.backoff = Backoff.from_options(opts)
        self.delays: deque[float] = deque(maxlen=32)  # the last backoff delays, for stats
        self.reconnects = self.rotations = self.connect_failures = 0
        self.connected_since: float | None = None
        self.last_error: str | None = None
        self.primary: Link | None = None  # the socket whose trades lead
        self.sockets: set[Link] = set()
        self.wake = asyncio.Event()
        self.rotation_gen = 0
        self._opened = 0
        self._rotate_due = False
        self._rotation_timer: Any = None
        self._session: aiohttp.ClientSession | None = None

    async def run(self) -> None:
        """The connection's life: connect, serve, and after a drop reconnect with backoff."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.options.connect_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self._session = session
            try:
                while True:
                    link = await self._connect()
                    self._promote(link, rotated=False)
                    dead = await self._serve(link)
                    await self._discard(dead)
                    self.primary = None
                    self.connected_since = None
                    self.last_error = dead.error
                    if self._mono() - dead.opened_at >= self.options.stable_after:
                        self.backoff.reset()
                    delay = self._next_delay()
                    self._logs.warning(
                        "lost",
                        "%s: connection lost (%s); reconnecting in %.2fs",
                        self.label,
                        dead.error,
                        delay,
                    )
                    await asyncio.sleep(delay)
            finally:
                self.primary = None
                for link in list(self.sockets):
                    await self._discard(link)

    def request_rotation(self, why: str) -> None:
        log.info("%s: %s rotate", self.label, why)
        self._rotate_due = True
        self.wake.set()

    def cancel_rotation_timer(self) -> None:
        if self._rotation_timer is not None:
            self._rotation_timer.cancel()
            self._rotation_timer = None

    async def _connect(self) -> Link:
        while True:
            try:
                return await self._open()
            except _CONNECT_ERRORS as exc:
                self.connect_failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                limited = isinstance(exc, aiohttp.WSServerHandshakeError) and exc.status in _LIMITED
                # rate-limited or banned: wait as long as we ever do
                delay = self._next_delay(self.options.backoff_max if limited else 0.0)
                self._logs.warning(
                    "connect",
                    "%s: cannot connect to %s (%s); retrying in %.2fs",
                    self.label,
                    self.base_url,
                    self.last_error,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _open(self) -> Link:
        """Open a socket subscribed (in its URL) to as many wanted streams as fit."""
        opts = self.options
        assert self._session is not None
        url, in_url = stream_url(self.base_url, self.conn.wanted_streams(), opts.max_url_length)
        async with asyncio.timeout(opts.connect_timeout):
            ws = await self._session.ws_connect(url, autoping=True, heartbeat=opts.heartbeat)
        self._opened += 1
        pacer = RequestPacer(opts.max_requests_per_window, opts.request_window)
        link = Link(ws, set(in_url), self._mono(), self._opened, pacer)
        link.reader = self.conn.rt.loop.create_task(
            self.reader.read(link), name=f"hedgehog:stream-reader:{self.label}:{link.number}"
        )
        self.sockets.add(link)
        return link

    def _promote(self, link: Link, rotated: bool) -> None:
        """Make `link` the connection's socket: its trades are now the reference."""
        old = self.primary
        if old is not None:
            old.primary = False
        link.primary = True
        self.primary = link
        self._rotate_due = False  # a fresh socket needs no rotation (a timer fired meanwhile)
        if rotated:
            self.rotations += 1
        elif link.number > 1:
            self.reconnects += 1
        self.connected_since = self._now()
        self.reader.publish(self._sequencer.release_all())  # no other socket leads now
        self._schedule_rotation(self.options.rotate_after)
        streams = len(self.conn.symbols)
        log.info("%s: connected to %s (%d streams)", self.label, self.base_url, streams)

    async def _serve(self, link: Link) -> Link:
        """Keep the primary socket in sync with what is wanted until it dies; returns it."""
        while True:
            self.wake.clear()
            if link.reader.done():
                return link
            if self._rotate_due:
                self._rotate_due = False
                link = await self._rotate(link)
                continue
            if link.subscribed != self.conn.wanted_streams():
                await self._sync_subscriptions(link)
                continue
            if self._requests.outbox:
                if not await self._requests.flush(link):
                    await self._discard(link)
                continue
            waiter = asyncio.ensure_future(self.wake.wait())
            try:
                await asyncio.wait((link.reader, waiter), return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()

    async def _sync_subscriptions(self, link: Link) -> None:
        """UNSUBSCRIBE what is no longer wanted, then SUBSCRIBE what is missing, in batches;
        a socket that cannot take a request is dropped."""
        size = self.options.max_params_per_request
        if not await self._requests.sync(link, self.conn.wanted_streams(), size):
            await self._discard(link)

    async def _rotate(self, old: Link) -> Link:
        """Make-before-break: open and subscribe a new socket, overlap, close the old one."""
        log.info("%s: rotating to a new connection", self.label)
        try:
            new = await self._open()
        except _CONNECT_ERRORS as exc:
            delay = self._next_delay()
            self._logs.warning(
                "rotate", "%s: rotation failed (%r); retrying in %.2fs", self.label, exc, delay
            )
            self._schedule_rotation(delay)
            return old
        while not new.reader.done() and new.subscribed != self.conn.wanted_streams():
            await self._sync_subscriptions(new)
        if not old.reader.done() and not new.reader.done():
            await asyncio.wait(
                {old.reader, new.reader},
                timeout=self.options.rotation_overlap,
                return_when=asyncio.FIRST_COMPLETED,
            )
        if new.reader.done():  # the new socket died in the overlap: keep the old one
            self._sequencer.drop_held()
            await self._discard(new)
            delay = self._next_delay()
            self._logs.warning(
                "rotate",
                "%s: new connection lost in rotation; retrying in %.2fs",
                self.label,
                delay,
            )
            self._schedule_rotation(delay)
            return old
        self._promote(new, rotated=True)
        await self._discard(old)
        self.backoff.reset()
        return new

    async def _discard(self, link: Link) -> None:
        """Close a socket and end its reader; its unanswered queries go to the next socket."""
        link.closing = True
        link.primary = False
        self.sockets.discard(link)
        self._requests.orphaned(link)
        await link.close(self.options.close_timeout)

    def _schedule_rotation(self, delay: float) -> None:
        """A rotation in `delay` seconds (runtime clock): the process gets ("rotate", gen)."""
        self.cancel_rotation_timer()
        self.rotation_gen += 1
        conn = self.conn
        self._rotation_timer = conn.rt.send_after(conn, ("rotate", self.rotation_gen), delay)

    def _next_delay(self, at_least: float = 0.0) -> float:
        delay = max(at_least, self.backoff.next())
        self.delays.append(delay)
        return delay


__all__ = ["Runner"]
