"""Our requests to Binance on a stream connection: SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS.

`Requests` queues them (the outbox), sends them on a socket at its pace, numbered, and matches
Binance's answers to the ones still pending (logging errors, replying to a waiting caller).
`subscription_batches` plans how to bring a socket's streams to the wanted set. Kept apart from
`StreamConnection`, which decides when to send and what to do with a socket that failed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from hedgehog.core.errors import ExchangeError
from hedgehog.streamer.frames import Answer
from hedgehog.streamer.link import Link
from hedgehog.streamer.options import LogLimiter


class StreamRequestError(ExchangeError):
    """Binance answered a SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS request with an error."""


@dataclass(slots=True)
class Request:
    method: str
    params: list[str] | None = None
    reply_to: asyncio.Future[Any] | None = None
    """A caller waiting for the answer (LIST_SUBSCRIPTIONS)."""
    link: Link | None = None
    """The socket it was sent on."""


class Requests:
    """Requests waiting to be sent (`outbox`) and sent ones waiting for an answer (`pending`,
    by id; ids count up from 1 over the connection's life). `reply(to, value)` answers a
    waiting caller; `sent` and `errors` count requests sent and error answers."""

    def __init__(
        self, reply: Callable[[asyncio.Future[Any], Any], None], logs: LogLimiter, label: str
    ) -> None:
        self.pending: dict[int, Request] = {}
        self.outbox: deque[Request] = deque()
        self.sent = self.errors = 0
        self._ids = itertools.count(1)
        self._reply = reply
        self._logs = logs
        self._label = label

    async def send(self, link: Link, request: Request) -> bool:
        """Send one request, paced; False if it cannot be sent (the socket must be dropped)."""
        await link.pacer.wait()
        if link.reader.done() or link.ws.closed:
            return False
        rid = next(self._ids)
        payload: dict[str, Any] = {"method": request.method}
        if request.params is not None:
            payload["params"] = request.params
        payload["id"] = rid
        request.link = link
        self.pending[rid] = request
        try:
            await link.ws.send_str(json.dumps(payload))
        except (aiohttp.ClientError, OSError, RuntimeError) as exc:
            self.pending.pop(rid, None)
            link.error = f"send failed: {exc!r}"
            return False
        self.sent += 1
        return True

    async def sync(self, link: Link, wanted: set[str], size: int) -> bool:
        """Bring the streams asked on `link` to `wanted`; False as `send`."""
        for method, batch in subscription_batches(link.subscribed, wanted, size):
            if not await self.send(link, Request(method, batch)):
                return False
            if method == "SUBSCRIBE":
                link.subscribed.update(batch)
            else:
                link.subscribed.difference_update(batch)
        return True

    async def flush(self, link: Link) -> bool:
        """Send the outbox on `link`; False as `send` (the request stays first in line)."""
        outbox = self.outbox
        while outbox:
            request = outbox.popleft()
            if not await self.send(link, request):
                outbox.appendleft(request)
                return False
        return True

    def orphaned(self, link: Link) -> None:
        """`link` is gone: the requests pending on it are dropped, except those a caller
        waits on, which go back to the outbox for the next socket."""
        for rid, request in list(self.pending.items()):
            if request.link is link:
                del self.pending[rid]
                if request.reply_to is not None and not request.reply_to.done():
                    request.link = None
                    self.outbox.append(request)

    def answered(self, answer: Answer) -> None:
        rid = answer.id
        request = self.pending.pop(rid, None) if type(rid) is int else None
        error = answer.error
        if request is None:
            if error is not None:
                self.errors += 1
            self._logs.warning(
                "answer", "%s: an answer to no request of ours: %.200s", self._label, answer.frame
            )
            return
        if error is not None:
            self.errors += 1
            self._logs.warning(
                f"error:{request.method}",
                "%s: %s %s failed: %s",
                self._label,
                request.method,
                request.params if request.params is None else request.params[:5],
                error,
            )
            if request.reply_to is not None:
                self._reply(request.reply_to, StreamRequestError(f"{request.method}: {error}"))
            return
        if request.reply_to is not None:
            self._reply(request.reply_to, answer.result)

    def unreadable(self, text: str) -> None:
        """An error without id: the server could not read one of our requests."""
        self.errors += 1
        self._logs.warning("answer", "%s: Binance error: %.200s", self._label, text)


def subscription_batches(
    subscribed: set[str], wanted: set[str], size: int
) -> Iterator[tuple[str, list[str]]]:
    """UNSUBSCRIBE what is no longer wanted, then SUBSCRIBE what is missing, `size` streams
    (sorted) a request; both lists are taken before the first request is sent."""
    for method, streams in (
        ("UNSUBSCRIBE", sorted(subscribed - wanted)),
        ("SUBSCRIBE", sorted(wanted - subscribed)),
    ):
        for i in range(0, len(streams), size):
            yield method, streams[i : i + size]


__all__ = ["Request", "Requests", "StreamRequestError", "subscription_batches"]
