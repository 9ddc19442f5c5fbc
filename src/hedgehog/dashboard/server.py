"""The dashboard's routes on the control API's app (same server, same token middleware).

    GET /  and  GET /dashboard     the page (HTML with its CSS and JS inlined; `?token=...`)
    GET /api/overview              the current snapshot: tree, node, symbols (JSON)
    GET /api/symbol/{symbol}       one symbol: its section plus prices, PnL and fills series
    GET /api/process/{ref}         one process: pid, name, status, uptime, and its info()
    GET /api/events                Server-Sent Events: a `snapshot`, then an `update` per
                                   interval with the sections that changed and new points

Cost to the node: a `Hub` computes the snapshot at most once per `interval` seconds, only
while someone asks, and every client shares it (each section is JSON-encoded once); a client
gets only what changed since its last message. At most `max_clients` streams are open at once
(more get 503), and a stream ends after `max_stream_seconds` (the browser reconnects).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from aiohttp import web

from hedgehog.core.symbols import normalize_symbol
from hedgehog.dashboard import snapshot as snap
from hedgehog.live.node import LiveNode
from hedgehog.live.processes import find_process
from hedgehog.naive.leader import Leader

log = logging.getLogger("hedgehog.dashboard")

INTERVAL = 1.0  # seconds between snapshots (and between a client's messages)
MAX_CLIENTS = 8
BALANCE_SECONDS = 5.0  # exchange balances are asked at most this often
BALANCE_TIMEOUT = 2.0
MAX_STREAM_SECONDS = 600.0
FILL_SLACK_MS = 5_000  # fills may arrive slightly out of time order; the page de-duplicates


def _dumps(value: Any) -> str:
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
    price_time: dict[str, int] = field(default_factory=dict)
    pnl_time: dict[str, int] = field(default_factory=dict)
    fill_time: dict[str, int] = field(default_factory=dict)
    fill_keys: dict[str, dict[tuple[str, int, str], int]] = field(default_factory=dict)
    version: int = -1

    def first(self, s: Snapshot) -> str:
        """The full snapshot (no series: the page loads a symbol's from /api/symbol)."""
        self.sections = dict(s.sections)
        self.version = s.version
        for symbol, series in s.series.items():
            self.price_time[symbol] = series.prices[-1][0] if series.prices else -1
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
            new: dict[str, list[Any]] = {}
            last = self.price_time.get(symbol, -1)
            prices = series.prices[bisect_right(series.prices, last, key=lambda p: p[0]) :]
            if prices:
                new["prices"] = prices
                self.price_time[symbol] = prices[-1][0]
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
        f'"series":{_dumps(series)},"gone":{_dumps(gone)}}}'
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
        self._fills = snap.FillCache()

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
            sections[f"symbol:{symbol}"] = _dumps(data)
        await asyncio.sleep(0)
        sections["tree"] = _dumps(snap.tree(self.node))
        await asyncio.sleep(0)
        sections["node"] = _dumps(
            snap.node_section(self.node, symbols, self.balances, rate, list(self._log.records))
        )
        self.computed += 1
        version = self._current.version + 1 if self._current is not None else 1
        return Snapshot(version, now, sections, snap.series(self.node, self._fills))


@cache
def _page() -> tuple[bytes, str]:
    """The page with its CSS and JS inlined (one request, no token in asset URLs), and a
    Content-Security-Policy that allows exactly those inline blocks."""
    static = resources.files("hedgehog.dashboard") / "static"
    html = (static / "index.html").read_text("utf-8")
    css = (static / "dashboard.css").read_text("utf-8")
    js = "\n".join((static / name).read_text("utf-8") for name in ("plot.js", "dashboard.js"))

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    page = html.replace("/*{{css}}*/", css).replace("/*{{js}}*/", js)
    csp = (
        f"default-src 'none'; script-src {digest(js)}; style-src {digest(css)}; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return page.encode(), csp


class Dashboard:
    def __init__(
        self,
        node: LiveNode,
        *,
        interval: float = INTERVAL,
        max_clients: int = MAX_CLIENTS,
        balance_seconds: float = BALANCE_SECONDS,
        max_stream_seconds: float = MAX_STREAM_SECONDS,
    ) -> None:
        self.node = node
        self.hub = Hub(node, interval, balance_seconds)
        self.max_clients = max_clients
        self.max_stream_seconds = max_stream_seconds
        self.clients = 0

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.page),
            web.get("/dashboard", self.page),
            web.get("/api/overview", self.overview),
            web.get("/api/symbol/{symbol}", self.symbol),
            web.get("/api/process/{ref}", self.process),
            web.get("/api/events", self.events),
        ]

    async def page(self, request: web.Request) -> web.Response:
        body, csp = _page()
        return web.Response(
            body=body,
            content_type="text/html",
            charset="utf-8",
            headers={
                "Content-Security-Policy": csp,
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def overview(self, request: web.Request) -> web.Response:
        s = await self.hub.current()
        data = s.data()
        symbols = {k.removeprefix("symbol:"): v for k, v in data.items() if k.startswith("symbol:")}
        body = {"version": s.version, "tree": data["tree"], "node": data["node"]}
        body["symbols"] = symbols
        return web.json_response(body, dumps=_dumps)

    async def symbol(self, request: web.Request) -> web.Response:
        symbol = normalize_symbol(request.match_info["symbol"])
        s = await self.hub.current()
        section = s.sections.get(f"symbol:{symbol}")
        if section is None:
            return web.json_response(
                {"error": f"{symbol} is not traded or watched by this node"}, status=404
            )
        series = s.series.get(symbol, snap.Series([], [], []))
        body = json.loads(section)
        body.update(version=s.version, prices=series.prices, pnl=series.pnl, fills=series.fills)
        return web.json_response(body, dumps=_dumps)

    async def process(self, request: web.Request) -> web.Response:
        ref = request.match_info["ref"]
        proc = find_process(self.node, ref)
        described = proc.describe()
        children = described.pop("children", None)
        now = self.node.rt.clock.time()
        body: dict[str, Any] = {
            **described,
            "ref": ref,
            "uptime": max(0.0, now - proc.started_at),
            "info": proc.info(),
        }
        if children is not None:
            body["children"] = [
                {k: c.get(k) for k in ("pid", "name", "id", "module", "status", "restarts")}
                for c in children
            ]
        if isinstance(proc, Leader):  # a leader: its traders
            body["slots"] = [
                {
                    "trader_id": t.trader_id,
                    "pid": t.process.pid,
                    "alive": t.alive,
                    "phase": t.state.phase,
                    "cycle": t.state.cycle,
                }
                for t in proc.traders()
            ]
        if type(proc).__name__ == "Trader":
            state = getattr(proc, "state", None)
            body["symbol"] = getattr(state, "symbol", None)
        return web.json_response(body, dumps=_dumps)

    async def events(self, request: web.Request) -> web.StreamResponse:
        if self.clients >= self.max_clients:
            return web.json_response(
                {"error": f"too many dashboards open (at most {self.max_clients})"}, status=503
            )
        self.clients += 1
        try:
            return await self._stream(request)
        finally:
            self.clients -= 1

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_stream_seconds
        client = Client()
        quiet_since = loop.time()
        with contextlib.suppress(ConnectionError):
            current = await self.hub.current()
            await response.write(_event("snapshot", client.first(current), retry=2000))
            while not _closing(request) and loop.time() < deadline:
                await asyncio.sleep(self.hub.interval)
                current = await self.hub.current()
                if current.version == client.version:
                    continue
                message = client.update(current)
                if message is not None:
                    await response.write(_event("update", message))
                    quiet_since = loop.time()
                elif loop.time() - quiet_since > 15:
                    await response.write(b": keep-alive\n\n")
                    quiet_since = loop.time()
        return response


def _event(name: str, data: str, retry: int | None = None) -> bytes:
    head = f"retry: {retry}\n" if retry is not None else ""
    return f"{head}event: {name}\ndata: {data}\n\n".encode()


def _closing(request: web.Request) -> bool:
    """True once the server is shutting down (aiohttp marks its connections closing), so an
    open stream ends within one interval instead of holding the shutdown up."""
    protocol = request.protocol
    transport = request.transport
    return (
        bool(getattr(protocol, "_close", False))
        or bool(getattr(protocol, "_force_close", False))
        or transport is None
        or transport.is_closing()
    )


def routes(node: LiveNode, **options: Any) -> list[web.RouteDef]:
    """The dashboard's routes, for `build_app(..., routes=...)`; options as `Dashboard`."""
    return Dashboard(node, **options).routes()
