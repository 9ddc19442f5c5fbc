"""Client order ids: built in one place, read in one place.

An id is `<symbol>-<trader id>-<cycle><B|S>[<attempt>]` (a sell placed again after a refusal
carries its attempt number). Binance allows at most 36 characters of `[A-Za-z0-9_-]`; when a
long symbol would break that, its first 8 hex digits of SHA-1 stand in for it. Ids are
deterministic, so a restarted trader finds its orders on the exchange by id alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from hedgehog.core.types import Side

MAX_CLIENT_ID = 36


def build(symbol: str, trader_id: str, cycle: int, side: Side, attempt: int = 0) -> str:
    """The id of a trader's order in a cycle (see the module's docstring)."""
    tail = f"-{trader_id}-{cycle}{'B' if side == Side.BUY else 'S'}{attempt or ''}"
    cid = symbol + tail
    if len(cid) > MAX_CLIENT_ID:
        digest = hashlib.sha1(symbol.encode()).hexdigest()[:8]
        cid = digest + tail
    if len(cid) > MAX_CLIENT_ID:
        raise ValueError(f"trader id {trader_id!r} too long for a client order id")
    return cid


@dataclass(frozen=True, slots=True)
class ClientOrderId:
    """An id taken apart. `prefix` is the symbol or its digest."""

    prefix: str
    trader_id: str
    cycle: int
    side: Side
    attempt: int

    @property
    def cycle_key(self) -> str:
        """What a cycle's buy and sell (every attempt) share within their symbol:
        `<trader>-<cycle>`. Not the prefix: a sell's longer tail can push its id past 36
        characters where the buy's did not, so one carries the symbol and the other its
        digest."""
        return f"{self.trader_id}-{self.cycle}"


def parse(cid: str) -> ClientOrderId | None:
    """`cid` taken apart, or None when it is not one of ours (an order placed by hand)."""
    prefix, sep, rest = cid.partition("-")
    trader_id, sep2, last = rest.rpartition("-")
    if not sep or not sep2 or not prefix or not trader_id:
        return None
    digits = len(last) - len(last.lstrip("0123456789"))
    cycle, letter, attempt = last[:digits], last[digits : digits + 1], last[digits + 1 :]
    if not cycle or letter not in ("B", "S") or (attempt and not attempt.isdigit()):
        return None
    side = Side.BUY if letter == "B" else Side.SELL
    return ClientOrderId(prefix, trader_id, int(cycle), side, int(attempt) if attempt else 0)


def trader_of(cid: str) -> str:
    """The trader id inside a client order id ("XRPUSDT-t7-0B" -> "t7"); "" when not ours."""
    parsed = parse(cid)
    return parsed.trader_id if parsed is not None else ""


def cycle_key(cid: str) -> str:
    """What a cycle's orders share within their symbol (trader and cycle); the id itself when
    it is not one of ours, so a foreign order is a cycle of its own."""
    parsed = parse(cid)
    return parsed.cycle_key if parsed is not None else cid


__all__ = ["MAX_CLIENT_ID", "ClientOrderId", "build", "cycle_key", "parse", "trader_of"]
