"""The dashboard's routes on the control API's app (same server, same token middleware).

    GET /  and  GET /dashboard     the page, and its JavaScript modules under /dashboard/js/
                                   (`hedgehog.dashboard.page`; `?token=...`)
    GET /api/overview              the current snapshot: tree, node, symbols (JSON)
    GET /api/symbol/{symbol}       one symbol: its section plus prices, PnL and fills series
    GET /api/process/{ref}         one process: pid, name, status, uptime, and its info()
    GET /api/events                Server-Sent Events: a `snapshot`, then an `update` per
                                   interval with the sections that changed and new points

Cost to the node: a `Hub` (`hedgehog.dashboard.hub`) computes the snapshot at most once per
`interval` seconds, only while someone asks, and every client shares it (each section is
JSON-encoded once); a client gets only what changed since its last message. At most
`max_clients` streams are open at once (more get 503), and a stream ends after
`max_stream_seconds` (the browser reconnects).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import web

from hedgehog.core.symbols import normalize_symbol
from hedgehog.dashboard import page
from hedgehog.dashboard import snapshot as snap
from hedgehog.dashboard.hub import BALANCE_SECONDS, INTERVAL, Client, Hub, Snapshot, dumps
from hedgehog.live.node import LiveNode
from hedgehog.live.processes import find_process
from hedgehog.naive.leader import Leader

log = logging.getLogger("hedgehog.dashboard")

MAX_CLIENTS = 8
MAX_STREAM_SECONDS = 600.0

__all__ = ["Client", "Dashboard", "Hub", "Snapshot", "routes"]


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
            *page.routes(),
            web.get("/api/overview", self.overview),
            web.get("/api/symbol/{symbol}", self.symbol),
            web.get("/api/process/{ref}", self.process),
            web.get("/api/events", self.events),
        ]

    async def overview(self, request: web.Request) -> web.Response:
        s = await self.hub.current()
        data = s.data()
        symbols = {k.removeprefix("symbol:"): v for k, v in data.items() if k.startswith("symbol:")}
        body = {"version": s.version, "tree": data["tree"], "node": data["node"]}
        body["symbols"] = symbols
        return web.json_response(body, dumps=dumps)

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
        body.update(version=s.version, interval=series.interval, bars=series.bars)
        body.update(pnl=series.pnl, fills=series.fills)
        return web.json_response(body, dumps=dumps)

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
        return web.json_response(body, dumps=dumps)

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
