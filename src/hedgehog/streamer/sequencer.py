"""The trade sequencer: per symbol, every trade id published once and in order (sans-io).

Binance numbers the trades of a symbol one after the other. `Sequencer` remembers the last id
published per wanted symbol and decides, for each trade a socket delivers:

- the next id (last + 1), or the first trade of a wanted symbol: publish it;
- an id <= last: a duplicate (a reconnect or a rotation's second socket replays a little):
  dropped;
- a trade of a symbol that is not wanted (in flight when it was unsubscribed): ignored;
- an id > last + 1: a gap (`Gap` says how many trades were missed), then the trade is
  published; unless `hold_ahead` says the trade comes from a rotation's new socket while the
  old one still delivers: then it is held until the old socket catches up, so that the
  make-before-break switch loses, duplicates and reorders nothing. Held trades are released
  as soon as they follow the last published id, and all of them, gaps noted, when the
  rotation ends (`release_all`) or more than `max_held` pile up for a symbol.

Why sans-io, as h11 is for HTTP: the rules are the subtle part of the streamer and run once
per trade, so they live in a plain class with no awaits, sockets, clock or logging, tested on
their own. It returns what happened and `StreamConnection` publishes and logs. The common case
(the next id, nothing held) returns the constant `PUBLISH` and allocates nothing.
"""

from __future__ import annotations

from enum import Enum
from operator import attrgetter
from typing import NamedTuple

from hedgehog.core.types import TradeEvent

MAX_HELD = 10_000
"""Trades of one symbol held back during a rotation before we give up waiting."""

_BY_ID = attrgetter("trade_id")


class Gap(NamedTuple):
    """Trades missed between two published ids of a symbol."""

    symbol: str
    last_id: int
    """The last id published before the gap."""
    next_id: int
    """The id published after it."""

    @property
    def missing(self) -> int:
        return self.next_id - self.last_id - 1


class Verdict(Enum):
    """What became of one trade, when nothing else happened."""

    PUBLISH = "publish"
    """It follows the last published id (or is the symbol's first): publish it."""
    DUPLICATE = "duplicate"
    """Published already: dropped."""
    IGNORED = "ignored"
    """Its symbol is not wanted: dropped."""
    HELD = "held"
    """Ahead of the last published id on a socket that waits for another: kept back."""


PUBLISH = Verdict.PUBLISH
DUPLICATE = Verdict.DUPLICATE
IGNORED = Verdict.IGNORED
HELD = Verdict.HELD

Sequenced = list[TradeEvent | Gap]
"""What to do, in order: trades to publish, each `Gap` reported before the trade after it."""


class Sequencer:
    """Trade ids of the wanted symbols: `add`/`remove` symbols, `accept` each trade.

    The counters add up what happened: `trades` published, `duplicates` dropped, `ignored`
    trades of unwanted symbols, `gaps` seen and the `missed` trades in them.
    """

    __slots__ = ("_held", "_last", "duplicates", "gaps", "ignored", "max_held", "missed", "trades")

    def __init__(self, max_held: int = MAX_HELD) -> None:
        self.max_held = max_held
        self._last: dict[str, int | None] = {}  # wanted symbol -> last id published (or None)
        self._held: dict[str, list[TradeEvent]] = {}  # symbol -> trades kept back, unsorted
        self.trades = self.duplicates = self.ignored = self.gaps = self.missed = 0

    def add(self, symbol: str) -> None:
        """Want a symbol's trades; its first trade starts its sequence (no gap before it)."""
        self._last.setdefault(symbol, None)

    def remove(self, symbol: str) -> None:
        """Forget a symbol: its last id and held trades; its trades are ignored from now on."""
        self._last.pop(symbol, None)
        self._held.pop(symbol, None)

    def holding(self, symbol: str) -> int:
        """How many trades of `symbol` are held back."""
        return len(self._held.get(symbol, ()))

    def accept(self, trade: TradeEvent, hold_ahead: bool = False) -> Verdict | Sequenced:
        """Sequence one trade. `hold_ahead`: it comes from a socket that waits for another
        (a rotation's new one), so a trade ahead of the last published id is held, not
        published after a gap.

        Returns a `Verdict` when only this trade was concerned (`PUBLISH` it, or nothing to
        publish), else the list of what to do in order (a gap, held trades released)."""
        symbol = trade.symbol
        trade_id = trade.trade_id
        last = self._last.get(symbol)
        if last is not None and trade_id == last + 1 and not self._held:  # the hot path
            self._last[symbol] = trade_id
            self.trades += 1
            return PUBLISH
        gap = None
        if last is None:
            if symbol not in self._last:
                self.ignored += 1
                return IGNORED
        elif trade_id != last + 1:
            if trade_id <= last:
                self.duplicates += 1
                return DUPLICATE
            if hold_ahead:
                return self._hold(symbol, trade)
            gap = self._gap(symbol, last, trade_id)
        self._last[symbol] = trade_id
        self.trades += 1
        if self._held and symbol in self._held:
            out: Sequenced = [trade] if gap is None else [gap, trade]
            self._release(symbol, False, out)
            return out
        return PUBLISH if gap is None else [gap, trade]

    def release_all(self) -> Sequenced:
        """The socket we waited for is gone: release every held trade (gaps noted)."""
        out: Sequenced = []
        for symbol in list(self._held):
            self._release(symbol, True, out)
        return out

    def drop_held(self) -> None:
        """The socket that ran ahead is gone: forget what it delivered early."""
        self._held.clear()

    def _hold(self, symbol: str, trade: TradeEvent) -> Verdict | Sequenced:
        held = self._held.get(symbol)
        if held is None:
            held = self._held[symbol] = []
        held.append(trade)
        if len(held) <= self.max_held:
            return HELD
        out: Sequenced = []
        self._release(symbol, True, out)
        return out

    def _release(self, symbol: str, force: bool, out: Sequenced) -> None:
        """Append to `out` the held trades that now follow the last published one (all of
        them if `force`, each gap noted); drop those published already."""
        held = self._held.pop(symbol, None)
        if not held:
            return
        held.sort(key=_BY_ID)
        last = self._last.get(symbol)
        for i, trade in enumerate(held):
            trade_id = trade.trade_id
            if last is not None:
                if trade_id <= last:
                    self.duplicates += 1
                    continue
                if trade_id != last + 1:
                    if not force:
                        self._held[symbol] = held[i:]
                        return
                    out.append(self._gap(symbol, last, trade_id))
            last = self._last[symbol] = trade_id
            self.trades += 1
            out.append(trade)

    def _gap(self, symbol: str, last: int, trade_id: int) -> Gap:
        self.gaps += 1
        self.missed += trade_id - last - 1
        return Gap(symbol, last, trade_id)


__all__ = [
    "DUPLICATE",
    "HELD",
    "IGNORED",
    "MAX_HELD",
    "PUBLISH",
    "Gap",
    "Sequenced",
    "Sequencer",
    "Verdict",
]
