"""The event stream's hub: the snapshot shared by every open page, and what each stream has sent.

A `Hub` computes the node's snapshot on demand, at most once per `interval` seconds, only while
someone asks, and every client shares it (each section is JSON-encoded once). A `Client` is one
event stream's memory: `first` gives the full snapshot, `update` only the sections that changed
and the series' new points since its last message (None: nothing new).

Price bars change while they are open: an update sends the bars opened after the last one
sent, and that last one again when it changed (the page replaces a bar of the same open
time). When a symbol's bars change interval (1 s to 1 min), the update sends them all with
`"interval"` and the page replaces its bars.
"""

from __future__ import annotations

import asyncio
import json
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

from hedgehog.dashboard import snapshot as snap
from hedgehog.dashboard.orders import FillCache
from hedgehog.live.node import LiveNode

INTERVAL = 1.0  # seconds between snapshots (and between a client's messages)
BALANCE_SECONDS = 5.0  # exchange balances are asked at most this often
BALANCE_TIMEOUT = 2.0
FILL_SLACK_MS = 5_000  # fills may arrive slightly out of time order; the page de-duplicates


def dumps(value: Any) -> str:
    """Compact JSON (what JSON cannot encode, as its str)."""
    return json.dumps(value, default=str, separators=(",", ":"))


@dataclass
class Snapshot:
    version: int
    at: float  # loop time
    sections: dict[str, str]  # name -> JSON text
    series: dict[str, snap.Series]

    def data(self) -> dict[str, Any]:
        return {name: json.loads(text) for name, text in self.sections.items()}


@dataclass
class Client:
    """What one event stream has sent so far."""

    sections: dict[str, str] = field(default_factory=dict)
    bars_sent: dict[str, tuple[str, snap.Row | None]] = field(default_factory=dict)
    pnl_time: dict[str, int] = field(default_factory=dict)
    fill_time: dict[str, int] = field(default_factory=dict)
    fill_keys: dict[str, dict[tuple[str, int, str], int]] = field(default_factory=dict)
    version: int = -1

    def first(self, s: Snapshot) -> str:
        """The full snapshot (no series: the page loads a symbol's from /api/symbol)."""
        self.sections = dict(s.sections)
        self.version = s.version
        for symbol, series in s.series.items():
            self.bars_sent[symbol] = (series.interval, series.bars[-1] if series.bars else None)
            self.pnl_time[symbol] = series.pnl[-1][0] if series.pnl else -1
            self.fill_time[symbol] = -1
            self.fill_keys[symbol] = {}
            self._new_fills(symbol, series.fills)  # seen (the page loads them from /api/symbol)
        return _message(s.version, s.sections, {}, [])

    def update(self, s: Snapshot) -> str | None:
        """What changed since the last message (None: nothing)."""
        changed = {k: v for k, v in s.sections.items() if self.sections.get(k) != v}
        gone = [k for k in self.sections if k not in s.sections]
        points: dict[str, dict[str, list[Any]]] = {}
        for symbol, series in s.series.items():
            new: dict[str, Any] = self._new_bars(symbol, series)
            last = self.pnl_time.get(symbol, -1)
            pnl = series.pnl[bisect_right(series.pnl, last, key=lambda p: p[0]) :]
            if pnl:
                new["pnl"] = pnl
                self.pnl_time[symbol] = pnl[-1][0]
            fills = self._new_fills(symbol, series.fills)
            if fills:
                new["fills"] = fills
            if new:
                points[symbol] = new
        self.version = s.version
        if not changed and not gone and not points:
            return None
        self.sections.update(changed)
        for k in gone:
            del self.sections[k]
        return _message(s.version, changed, points, gone)

    def _new_bars(self, symbol: str, series: snap.Series) -> dict[str, Any]:
        """`{"bars": [...]}` not sent yet (with `"interval"` when it changed: all of them)."""
        interval, last = self.bars_sent.get(symbol, (None, None))
        bars = series.bars
        if not bars:
            return {}
        self.bars_sent[symbol] = (series.interval, bars[-1])
        if interval != series.interval:
            return {"interval": series.interval, "bars": bars}
        if last is None:
            return {"bars": bars}
        new = bars[bisect_left(bars, last[0], key=lambda b: b[0]) :]
        if new and new[0] == last:  # the last bar sent, unchanged
            new = new[1:]
        return {"bars": new} if new else {}

    def _new_fills(self, symbol: str, fills: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Fills not sent yet. Fills come nearly in time order: those up to FILL_SLACK_MS
        older than the newest sent are checked against the keys sent."""
        last = self.fill_time.get(symbol, -1)
        sent = self.fill_keys.setdefault(symbol, {})
        new: list[dict[str, Any]] = []
        for fill in reversed(fills):
            t = fill["time"]
            if last >= 0 and t < last - FILL_SLACK_MS:
                break
            key = (fill["client_order_id"], t, fill["qty"])
            if key not in sent:
                sent[key] = t
                new.append(fill)
        if new:
            new.reverse()
            last = max(last, *(f["time"] for f in new))
            self.fill_time[symbol] = last
            for key in [k for k, t in sent.items() if t < last - FILL_SLACK_MS]:
                del sent[key]
        return new


def _message(
    version: int, sections: dict[str, str], series: dict[str, Any], gone: list[str]
) -> str:
    # the sections are JSON already: joined, not encoded again
    body = ",".join(f"{json.dumps(k)}:{v}" for k, v in sections.items())
    return (
        f'{{"version":{version},"sections":{{{body}}},'
        f'"series":{dumps(series)},"gone":{dumps(gone)}}}'
    )


SYMBOLS_PER_SLICE = 4  # symbols described between two turns of the event loop


class Hub:
    """Computes snapshots on demand, at most once per interval, shared by all clients."""

    def __init__(
        self,
        node: LiveNode,
        interval: float = INTERVAL,
        balance_seconds: float = BALANCE_SECONDS,
    ) -> None:
        self.node = node
        self.interval = interval
        self.balance_seconds = balance_seconds
        self.balances = snap.Balances()
        self.computed = 0  # snapshots computed (tests read it)
        self._current: Snapshot | None = None
        self._lock = asyncio.Lock()
        self._balance_asked = -1e18
        self._trades: tuple[float, dict[str, int]] | None = None
        self._log = snap.recent_log()
        self._fills = FillCache()

    def fresh(self, now: float) -> bool:
        return self._current is not None and now - self._current.at < self.interval * 0.9

    async def current(self) -> Snapshot:
        loop = asyncio.get_running_loop()
        if self._current is not None and self.fresh(loop.time()):
            return self._current
        async with self._lock:
            if self._current is None or not self.fresh(loop.time()):
                await self._refresh_balances()
                self._current = await self._compute(loop.time())
            return self._current

    async def _refresh_balances(self) -> None:
        now = time.monotonic()
        if now - self._balance_asked < self.balance_seconds:
            return
        self._balance_asked = now
        try:
            async with asyncio.timeout(BALANCE_TIMEOUT):
                assets = await self.node.exchange.balances()
        except Exception as exc:  # the page shows it; the node goes on
            self.balances.error = f"{type(exc).__name__}: {exc}"[: snap.TEXT_LIMIT]
        else:
            self.balances = snap.Balances(assets, time.time(), None)

    def _rates(self, now: float) -> tuple[dict[str, float | None], float | None]:
        seen = snap.trades_seen(self.node)
        previous, self._trades = self._trades, (now, seen)
        if previous is None or now <= previous[0]:
            return {}, None
        elapsed = now - previous[0]
        rates: dict[str, float | None] = {
            s: round(max(0, n - previous[1].get(s, 0)) / elapsed, 2) for s, n in seen.items()
        }
        return rates, round(sum(r or 0.0 for r in rates.values()), 2)

    async def _compute(self, now: float) -> Snapshot:
        """One snapshot, built a few symbols at a time with the event loop served in between:
        a node of 100 symbols takes about 20 ms to describe, which must not hold up trades
        (a snapshot is consistent per symbol, not across symbols)."""
        rates, rate = self._rates(now)
        symbols: dict[str, dict[str, Any]] = {}
        sections: dict[str, str] = {}
        for i, symbol in enumerate(snap.symbol_names(self.node)):
            if i % SYMBOLS_PER_SLICE == SYMBOLS_PER_SLICE - 1:
                await asyncio.sleep(0)
            data = symbols[symbol] = snap.symbol_section(self.node, symbol, rates, self._fills)
            sections[f"symbol:{symbol}"] = dumps(data)
        await asyncio.sleep(0)
        sections["tree"] = dumps(snap.tree(self.node))
        await asyncio.sleep(0)
        sections["node"] = dumps(
            snap.node_section(self.node, symbols, self.balances, rate, list(self._log.records))
        )
        self.computed += 1
        version = self._current.version + 1 if self._current is not None else 1
        return Snapshot(version, now, sections, snap.series(self.node, self._fills))
