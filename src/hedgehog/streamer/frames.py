"""What Binance's combined trade streams send and how they are named (sans-io).

`read_frame` turns one text frame into a `TradeEvent` (the hot path: nothing else is built
for a trade) or says what else it is: an `Answer` to one of our requests, a `Notice` from the
server, or `Malformed`. `stream_name` and `stream_url` name the streams and the URL that
carries them. Kept apart from `StreamConnection` so that the wire format can be read, and
tested, without a socket.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import Enum
from typing import Any, NamedTuple

from hedgehog.core.types import TradeEvent
from hedgehog.exchange.binance.wire import WireError, parse_trade


def stream_name(symbol: str) -> str:
    """Binance's name of a symbol's trade stream (stream names are lower-case)."""
    return f"{symbol.lower()}@trade"


def stream_url(base_url: str, streams: Iterable[str], max_length: int) -> tuple[str, list[str]]:
    """The URL of a combined stream carrying the first `streams` (sorted) that fit in
    `max_length` characters, and those streams; the others are subscribed after connecting."""
    in_url: list[str] = []
    length = len(base_url) + len("/stream?streams=")
    for stream in sorted(streams):
        length += len(stream) + 1
        if length > max_length:
            break
        in_url.append(stream)
    url = f"{base_url}/stream"
    if in_url:
        url += "?streams=" + "/".join(in_url)
    return url, in_url


class Malformed(NamedTuple):
    """A frame that is not what we expect, and why."""

    why: str


class Answer(NamedTuple):
    """Binance's answer to a request (`{"result": ..., "id": n}`, or an error)."""

    id: Any
    result: Any
    error: Any
    """None when the request succeeded; either error shape (`{"error": {...}}` or a bare
    `{"code", "msg"}`) otherwise."""
    frame: dict[str, Any]


class Notice(Enum):
    """A frame from the server that is neither a trade nor an answer."""

    ERROR = "error"
    """An error without id: a request the server could not read."""
    SHUTDOWN = "serverShutdown"
    """The server is going down: move to a new connection."""


Frame = TradeEvent | Answer | Notice | Malformed


def read_frame(text: str) -> Frame:
    """What one text frame of a combined (or raw) trade stream is."""
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        return Malformed("invalid JSON")
    if type(frame) is not dict:
        return Malformed("not a JSON object")
    data = frame.get("data", frame)  # combined streams wrap the event; raw ones do not
    if type(data) is dict and data.get("e") == "trade":
        try:
            trade = parse_trade(data)
        except WireError as exc:
            return Malformed(str(exc))
        if trade.price <= 0 or trade.quantity <= 0:
            return Malformed("price and quantity must be positive")
        return trade
    if "id" in frame and ("result" in frame or "error" in frame or "code" in frame):
        error = frame.get("error")
        if error is None and "code" in frame:
            error = {"code": frame.get("code"), "msg": frame.get("msg")}
        return Answer(frame.get("id"), frame.get("result"), error, frame)
    if "code" in frame and "msg" in frame:
        return Notice.ERROR
    event = frame.get("event", data)
    if type(event) is dict and event.get("e") == "serverShutdown":
        return Notice.SHUTDOWN
    return Malformed("unexpected frame")


__all__ = ["Answer", "Frame", "Malformed", "Notice", "read_frame", "stream_name", "stream_url"]
