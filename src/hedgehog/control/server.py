"""The control API: a small aiohttp app served by the node on 127.0.0.1.

Every request needs the node's token (`Authorization: Bearer ...`; read-only GETs also accept
`?token=...`, for the dashboard link). A missing or wrong token is 401; a malformed request is
400 with a message; nothing a client sends can crash the node or earn a 500. Bodies are bounded
before they are parsed (64 KB; nesting and numbers by `hedgehog.core.jsonlimits`); settings
accept only their known fields, each bounded. `hedgehog.control.openapi` describes the routes
(served at `/api/openapi.json`); the suite fuzzes the server against it.

    GET  /api/status                       the tree, each symbol's traders, PnL, errors
    POST /api/trade/{start|stop|shutdown}  {"symbol": "XRPUSDT", "cancel_orders": false}
    POST /api/stream/{start|stop}          {"symbol": "XRPUSDT"}
    POST /api/kill                         {"process": "leader:XRPUSDT" | "trader:XRPUSDT:7" | 42}
    GET  /api/settings[?symbol=S]          stored trading settings, each with its strategy
    PUT  /api/settings/{symbol}            {"strategy": "grid", "params": {"levels": 5, ...}}
                                           or {"params": {...}} or {"budget": "500", ...}
                                           (validated; naive's fields: as before plug-ins)
    POST /api/warehouse/{start|stop}       {"topic": "TRADE_EVENTS:XRPUSDT"}
    GET  /api/openapi.json                 the OpenAPI description of these routes
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from hedgehog.control.openapi import openapi
from hedgehog.core import jsonlimits
from hedgehog.core.errors import HedgehogError
from hedgehog.core.symbols import normalize_symbol
from hedgehog.live.node import LiveNode
from hedgehog.live.processes import find_process
from hedgehog.live.view import snapshot
from hedgehog.naive.settings import FIELDS

log = logging.getLogger("hedgehog.control")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
NODE = web.AppKey("node", LiveNode)
TOKEN = web.AppKey("token", str)
EXTRA = web.AppKey("extra", dict)
MAX_BODY = 64 * 1024
MAX_PARAMS = 32  # settings in one "params" object


class BadRequest(Exception):
    pass


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    token = request.app[TOKEN]
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not given and request.method == "GET":
        given = request.query.get("token", "")
    if not given or not hmac.compare_digest(given.encode(), token.encode()):
        return _error(401, "missing or wrong token")
    try:
        return await handler(request)
    except BadRequest as exc:
        return _error(400, _cut(str(exc)))
    except HedgehogError as exc:
        return _error(400, _cut(str(exc)))
    except web.HTTPException:
        raise
    except Exception as exc:  # never let a request take the node down
        log.exception("control API: %s %s failed", request.method, request.path)
        return _error(500, f"{type(exc).__name__}: {exc}")


def _cut(message: str, limit: int = 300) -> str:
    """An error message of bounded size (it may quote a client's input)."""
    return message if len(message) <= limit else message[:limit] + "..."


def parse_json(raw: bytes) -> Any:
    """JSON from a client, with its size, nesting and numbers bounded (`jsonlimits`)."""
    try:
        return jsonlimits.loads(raw, max_size=MAX_BODY)
    except jsonlimits.BadJson as exc:
        raise BadRequest(f"the body must be a JSON object: {exc}") from None


async def _body(request: web.Request) -> dict[str, Any]:
    data = parse_json(await request.read()) if request.can_read_body else None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _symbol(data: dict[str, Any]) -> str:
    symbol = data.get("symbol")
    if not isinstance(symbol, str):
        raise BadRequest('"symbol" (a string) is required')
    return normalize_symbol(symbol)


async def status(request: web.Request) -> web.Response:
    node = request.app[NODE]
    data = snapshot(node)
    data["tree"] = node.node.tree()
    data["boot_errors"] = node.boot_errors
    data["unknown_orders"] = node.unknown_orders
    data["restarts"] = node.rt.restarts + sum(node.naive.ctx.restarts.values())
    data["warehouse"] = node.warehouse.status() if node.warehouse is not None else {}
    data["alive"], data["down_reason"] = node.health()
    for symbol, section in data["symbols"].items():  # what the tree does, not what was asked
        section["state"], section["reason"] = node.symbol_state(symbol)
    for extra, provider in request.app[EXTRA].items():
        data[extra] = provider()
    return web.json_response(data, dumps=lambda d: json.dumps(d, default=str))


async def trade(request: web.Request) -> web.Response:
    node, action = request.app[NODE], request.match_info["action"]
    data = await _body(request)
    symbol = _symbol(data)
    if action == "start":
        await node.start_trading(symbol)
        return web.json_response({"symbol": symbol, "status": "on"})
    if action == "stop":
        done = await node.stop_trading(symbol, cancel_orders=bool(data.get("cancel_orders")))
        return web.json_response({"symbol": symbol, "status": "off", "was_trading": done})
    if action == "shutdown":
        done = await node.shutdown_trading(symbol)
        if not done:
            raise BadRequest(f"{symbol} is not trading")
        return web.json_response({"symbol": symbol, "status": "shutdown"})
    raise BadRequest(f"unknown action {action!r}: start, stop or shutdown")


async def stream(request: web.Request) -> web.Response:
    node, action = request.app[NODE], request.match_info["action"]
    symbol = _symbol(await _body(request))
    if action == "start":
        await node.exchange.symbol_filters(symbol)  # UnknownSymbol (400) before anything stored
        changed = await node.streamer.start_streaming(symbol)
    elif action == "stop":
        changed = await node.streamer.stop_streaming(symbol)
    else:
        raise BadRequest(f"unknown action {action!r}: start or stop")
    return web.json_response({"symbol": symbol, "streaming": action == "start", "changed": changed})


async def kill(request: web.Request) -> web.Response:
    node = request.app[NODE]
    data = await _body(request)
    proc = find_process(node, data.get("process"))
    described = repr(proc)
    node.rt.kill(proc)
    log.warning("control API: killed %s", described)
    return web.json_response({"killed": described, "pid": proc.pid})


async def settings_get(request: web.Request) -> web.Response:
    node = request.app[NODE]
    if node.db is None:
        raise BadRequest("this node has no database")
    from hedgehog.store import SettingsRepo

    repo = SettingsRepo(node.db)
    symbol = request.query.get("symbol")
    rows = [await repo.get(symbol)] if symbol else await repo.all()
    return web.json_response([r.as_dict() for r in rows])


async def settings_put(request: web.Request) -> web.Response:
    """`{"strategy": "grid", "params": {...}}` chooses the symbol's strategy and its settings
    (the others at its defaults); `{"params": {...}}` alone, or naive's own fields at the top
    level (as before strategies were plug-ins), change some settings of the strategy stored."""
    node = request.app[NODE]
    if node.db is None:
        raise BadRequest("this node has no database")
    from hedgehog.store import SettingsRepo

    symbol = normalize_symbol(request.match_info["symbol"])
    values = await _body(request)
    repo = SettingsRepo(node.db)
    if "strategy" in values or "params" in values:
        extra = sorted(k for k in values if k not in ("strategy", "params"))
        if extra:
            raise BadRequest(
                f'{extra[0][:40]!r}: with "strategy" or "params", settings go in "params"'
            )
        params = _params(values.get("params"))
        filters = await node.exchange.symbol_filters(symbol)
        if "strategy" in values:
            row = await repo.set(symbol, _strategy_name(values["strategy"]), params, filters)
        else:
            row = await repo.update(symbol, filters, **params)
        return web.json_response(row.as_dict())
    unknown = sorted(k for k in values if k not in FIELDS)
    if unknown:
        raise BadRequest(f"unknown setting {unknown[0][:40]!r} (known: {', '.join(FIELDS)})")
    filters = await node.exchange.symbol_filters(symbol)
    row = await repo.update(symbol, filters, **values)
    return web.json_response(row.as_dict())


def _strategy_name(value: Any) -> str:
    """A strategy the API may choose: a shipped one or one an installed package registers.
    A `package.module:Class` would make the node import what a client names: that is for
    `hedgehog settings set` on the node's machine."""
    from hedgehog.strategy.registry import SHIPPED, installed

    known = sorted({*SHIPPED, *installed()})
    if not isinstance(value, str) or value.strip() not in known:
        shown = repr(value)[:40] if isinstance(value, str) else f"a {type(value).__name__}"
        raise BadRequest(
            f'"strategy" must be one of {", ".join(known)} (got {shown}); a '
            "package.module:Class is set with `hedgehog settings set` on the node's machine"
        )
    return value.strip()


def _params(value: Any) -> dict[str, Any]:
    """A strategy's parameters from a client: an object of at most `MAX_PARAMS` short keys
    (each value is bounded by the strategy's `parse_settings`)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest('"params" must be an object of settings, e.g. {"levels": 5}')
    if len(value) > MAX_PARAMS:
        raise BadRequest(f'"params" holds {len(value)} settings; at most {MAX_PARAMS}')
    for key in value:
        if len(key) > 40:
            raise BadRequest(f"unknown setting {key[:40]!r}...")
    return dict(value)


async def warehouse(request: web.Request) -> web.Response:
    node, action = request.app[NODE], request.match_info["action"]
    if node.warehouse is None:
        raise BadRequest("this node has no database, so no warehouse")
    topic = (await _body(request)).get("topic")
    if not isinstance(topic, str):
        raise BadRequest('"topic" (e.g. "TRADE_EVENTS:XRPUSDT") is required')
    if action == "start":
        changed = await node.warehouse.start_recording(topic)
    elif action == "stop":
        changed = await node.warehouse.stop_recording(topic)
    else:
        raise BadRequest(f"unknown action {action!r}: start or stop")
    return web.json_response(
        {"topic": topic.upper(), "recording": action == "start", "changed": changed}
    )


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi())


def build_app(
    node: LiveNode,
    token: str,
    extra: dict[str, Callable[[], Any]] | None = None,
    routes: list[web.RouteDef] | None = None,
) -> web.Application:
    app = web.Application(middlewares=[_guard], client_max_size=MAX_BODY)
    app[NODE] = node
    app[TOKEN] = token
    app[EXTRA] = extra or {}
    app.add_routes(
        [
            web.get("/api/status", status),
            web.post("/api/trade/{action}", trade),
            web.post("/api/stream/{action}", stream),
            web.post("/api/kill", kill),
            web.get("/api/settings", settings_get),
            web.put("/api/settings/{symbol}", settings_put),
            web.post("/api/warehouse/{action}", warehouse),
            web.get("/api/openapi.json", openapi_json),
            *(routes or []),
        ]
    )
    return app


async def serve(
    app: web.Application, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, str]:
    """Start serving; returns the runner (cleanup() stops it) and the base URL."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return runner, f"http://{shown}:{bound}"
