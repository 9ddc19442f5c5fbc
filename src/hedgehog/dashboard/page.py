"""The dashboard's page and its JavaScript modules (`static/`: no build step, nothing fetched
from the internet).

    GET /  and  GET /dashboard     the page: HTML with its CSS inlined and its script loaded as
                                   native ES modules from /dashboard/js/ (entry `main.js`)
    GET /dashboard/js/{name}       one module of `static/js/`, as text/javascript

Every request needs the node's token, and a browser cannot add a header to a module's import:
the page therefore names each module with `?token=...` in an import map (the token the page was
asked with). Its Content-Security-Policy allows scripts from the node itself ('self') and the
import map and the stylesheet by their hashes only.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from functools import cache, lru_cache
from importlib import resources
from urllib.parse import quote

from aiohttp import web

MODULES = "/dashboard/js/"  # where the modules are served
ENTRY = "main.js"
_NAME = re.compile(r"[a-z][a-z0-9_-]*\.js")
_STATIC = resources.files("hedgehog.dashboard") / "static"
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@cache
def modules() -> dict[str, bytes]:
    """Every module of `static/js/`, by file name (nothing else is ever served from there)."""
    folder = _STATIC / "js"
    return {f.name: f.read_bytes() for f in folder.iterdir() if _NAME.fullmatch(f.name)}


@cache
def _template() -> tuple[str, str]:
    return (_STATIC / "index.html").read_text("utf-8"), (_STATIC / "dashboard.css").read_text(
        "utf-8"
    )


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@lru_cache(maxsize=4)
def page(token: str) -> tuple[bytes, str]:
    """The page for a token, and a Content-Security-Policy that allows exactly its inline
    blocks (the import map and the stylesheet) and scripts from the node."""
    template, css = _template()
    query = "?token=" + quote(token, safe="")
    imports = {MODULES + name: MODULES + name + query for name in sorted(modules())}
    # JSON inside <script>: "<" escaped, so no text can close the element
    importmap = json.dumps({"imports": imports}, indent=1).replace("<", "\\u003c")
    body = (
        template.replace("/*{{css}}*/", css)
        .replace("/*{{importmap}}*/", importmap)
        .replace("{{entry}}", html.escape(MODULES + ENTRY + query))
    )
    csp = (
        f"default-src 'none'; script-src 'self' {_digest(importmap)}; style-src {_digest(css)}; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return body.encode(), csp


def _token(request: web.Request) -> str:
    """The token the request was let in with (the control API's guard checked it)."""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return given or request.query.get("token", "")


async def serve_page(request: web.Request) -> web.Response:
    body, csp = page(_token(request))
    return web.Response(
        body=body,
        content_type="text/html",
        charset="utf-8",
        headers={**_HEADERS, "Content-Security-Policy": csp, "Referrer-Policy": "no-referrer"},
    )


async def serve_module(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    source = modules().get(name)
    if source is None:
        return web.json_response({"error": f"no module {name!r}"}, status=404)
    return web.Response(
        body=source, content_type="text/javascript", charset="utf-8", headers=_HEADERS
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/", serve_page),
        web.get("/dashboard", serve_page),
        web.get(MODULES + "{name}", serve_module),
    ]
