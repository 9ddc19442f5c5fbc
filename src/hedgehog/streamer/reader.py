"""The reader side of a `StreamConnection`: every frame its sockets deliver, handled inline.

One reader task per open socket runs `Reader.read`. A trade is parsed (`frames.read_frame`),
sequenced (`Sequencer`) and published right there, synchronously (`pubsub.broadcast` only
appends to mailboxes): no message hop per frame on a path that carries thousands of trades a
second. Answers go to `Requests`; a `serverShutdown` asks the connection to rotate; malformed
frames and gaps are counted and logged, rate-limited. Kept apart from the connection's life
(connect, subscribe, rotate), which runs in the connection's runner task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import aiohttp

from hedgehog.core.types import TradeEvent, trade_topic
from hedgehog.runtime.pubsub import Broadcaster
from hedgehog.streamer.frames import Answer, Frame, Malformed, Notice, read_frame
from hedgehog.streamer.link import Link
from hedgehog.streamer.options import LogLimiter
from hedgehog.streamer.requests import Requests
from hedgehog.streamer.sequencer import PUBLISH, Gap, Sequenced, Sequencer

if TYPE_CHECKING:
    from hedgehog.streamer.connection import StreamConnection
    from hedgehog.streamer.runner import Runner

log = logging.getLogger("hedgehog.streamer")

_TEXT = aiohttp.WSMsgType.TEXT
_BINARY = aiohttp.WSMsgType.BINARY
_ERROR = aiohttp.WSMsgType.ERROR
_CLOSED = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED)


class Reader:
    """Frames in, trades out, for the sockets of `conn` (which `runner` opens). Counts
    `messages` (frames) and `malformed` ones, and notes when the last frame arrived."""

    __slots__ = (
        "_broadcast",
        "_label",
        "_logs",
        "_now",
        "_requests",
        "_sequence",
        "_topics",
        "conn",
        "last_message_at",
        "malformed",
        "messages",
        "runner",
    )

    def __init__(
        self,
        conn: StreamConnection,
        runner: Runner,
        sequencer: Sequencer,
        requests: Requests,
        pubsub: Broadcaster,
        logs: LogLimiter,
        now: Callable[[], float],
        label: str,
    ) -> None:
        self.conn = conn
        self.runner = runner
        self.messages = self.malformed = 0
        self.last_message_at: float | None = None
        self._sequence = sequencer.accept
        self._requests = requests
        self._broadcast = pubsub.broadcast
        self._topics: dict[str, str] = {}
        self._logs = logs
        self._now = now
        self._label = label

    async def read(self, link: Link) -> None:
        """The reader of one socket: every frame is handled here, inline; returns when the
        socket ends (`link.error` says how). A bug here is the connection's crash."""
        ws = link.ws
        conn = self.conn
        on_text = self.on_text
        try:
            while True:
                msg = await ws.receive()
                if not conn.alive:
                    return
                kind = msg.type
                if kind is _TEXT:
                    on_text(msg.data, link)
                elif kind is _BINARY:
                    self.messages += 1
                    self._malformed("binary frame", repr(msg.data[:64]))
                elif kind is _ERROR:
                    link.error = f"error: {msg.data!r}"
                    return
                elif kind in _CLOSED:
                    if link.error is None:
                        code = ws.close_code
                        link.error = "closed" if link.closing else f"closed by server ({code})"
                    return
                # PING and PONG never get here: aiohttp answers pings itself (autoping)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            link.error = f"bug: {exc!r}"
            if conn.alive:
                conn.crash(exc)

    def on_text(self, text: str, link: Link) -> None:
        self.messages += 1
        self.last_message_at = self._now()
        frame = read_frame(text)
        if type(frame) is not TradeEvent:
            self._on_other(frame, text)
            return
        # during a rotation the new socket may run ahead of the old one: hold its trades then
        done = self._sequence(frame, not link.primary and self.runner.primary is not None)
        if done is PUBLISH:
            symbol = frame.symbol
            topic = self._topics.get(symbol)
            if topic is None:
                topic = self._topics[symbol] = trade_topic(symbol)
            self._broadcast(topic, frame)
        elif type(done) is list:
            self.publish(done)

    def publish(self, done: Sequenced) -> None:
        """Publish what the sequencer let through, in order, and warn about its gaps."""
        for item in done:
            if type(item) is Gap:
                self._logs.warning(
                    f"gap:{item.symbol}",
                    "%s: gap in %s trades: %d missing between ids %d and %d",
                    self._label,
                    item.symbol,
                    item.missing,
                    item.last_id,
                    item.next_id,
                )
            else:
                self._broadcast(trade_topic(item.symbol), item)

    def _on_other(self, frame: Frame, text: str) -> None:
        """Everything but trades: answers to our requests, server events, the unexpected."""
        if type(frame) is Answer:
            self._requests.answered(frame)
        elif frame is Notice.ERROR:
            self._requests.unreadable(text)
        elif frame is Notice.SHUTDOWN:
            log.warning("%s: the server is shutting down; moving to a new connection", self._label)
            self.runner.request_rotation("server shutdown, so")
        elif type(frame) is Malformed:
            self._malformed(frame.why, text)

    def _malformed(self, why: str, sample: str) -> None:
        self.malformed += 1
        self._logs.warning(
            "malformed", "%s: skipped a malformed frame (%s): %.200s", self._label, why, sample
        )


__all__ = ["Reader"]
