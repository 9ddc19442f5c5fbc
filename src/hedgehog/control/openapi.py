"""The OpenAPI 3 description of the control API (and the dashboard's JSON routes on it).

Served at `GET /api/openapi.json`; the suite fuzzes the server with schemathesis against it
(`tests/control/test_fuzz.py`), so a route added without a line here goes unfuzzed. Request
schemas are the documented shapes; the answers are 200 or a 4xx `{"error": message}`, never 5xx.
"""

from __future__ import annotations

from typing import Any

from hedgehog.naive.settings import DECIMAL_FIELDS

_ERROR = {
    "description": "refused, with a message",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}},
                "required": ["error"],
            }
        }
    },
}
_ANY: dict[str, Any] = {"content": {"application/json": {"schema": {}}}}
_SYMBOL = {"type": "string", "example": "XRPUSDT"}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _path_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _op(summary: str, body: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            "200": {"description": "done", **_ANY},
            "400": _ERROR,
            "401": _ERROR,
            "404": _ERROR,
            "413": {"description": "body too large"},
        },
        **extra,
    }
    if body is not None:
        op["requestBody"] = body
    return op


def openapi() -> dict[str, Any]:
    """The description, as a JSON-ready dict."""
    action = {"type": "string", "enum": ["start", "stop"]}
    settings = {
        "chunks": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        **{name: {"type": "string", "example": "0.001"} for name in DECIMAL_FIELDS},
    }
    param = {"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]}
    by_strategy = {
        "type": "object",
        "properties": {
            "strategy": {"type": "string", "maxLength": 200, "example": "grid"},
            "params": {
                "type": "object",
                "additionalProperties": param,
                "maxProperties": 32,
                "example": {"lower": "0.40", "upper": "0.44", "levels": 5},
            },
        },
        "additionalProperties": False,
    }
    naive_fields = {"type": "object", "properties": settings, "additionalProperties": False}
    return {
        "openapi": "3.0.3",
        "info": {"title": "hedgehog control API", "version": "1"},
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
        "paths": {
            "/api/status": {"get": _op("the tree, each symbol's traders, PnL and errors")},
            "/api/trade/{action}": {
                "post": _op(
                    "start, stop or shut down trading of a symbol",
                    _body({"symbol": _SYMBOL, "cancel_orders": {"type": "boolean"}}, ["symbol"]),
                    parameters=[
                        _path_param(
                            "action", {"type": "string", "enum": ["start", "stop", "shutdown"]}
                        )
                    ],
                )
            },
            "/api/stream/{action}": {
                "post": _op(
                    "start or stop streaming a symbol listed by the exchange",
                    _body({"symbol": _SYMBOL}, ["symbol"]),
                    parameters=[_path_param("action", action)],
                )
            },
            "/api/kill": {
                "post": _op(
                    "kill a process by pid or name",
                    _body(
                        {"process": {"oneOf": [{"type": "integer"}, {"type": "string"}]}},
                        ["process"],
                    ),
                )
            },
            "/api/settings": {
                "get": _op(
                    "stored trading settings",
                    parameters=[
                        {"name": "symbol", "in": "query", "required": False, "schema": _SYMBOL}
                    ],
                )
            },
            "/api/settings/{symbol}": {
                "put": _op(
                    "choose a stored symbol's strategy and its settings ({strategy, params}), "
                    "or change some settings of the strategy it has ({params}, or naive's "
                    "fields as before strategies were plug-ins)",
                    {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"anyOf": [by_strategy, naive_fields]}}
                        },
                    },
                    parameters=[_path_param("symbol", _SYMBOL)],
                )
            },
            "/api/warehouse/{action}": {
                "post": _op(
                    "record a topic's messages in the database, or stop",
                    _body(
                        {"topic": {"type": "string", "example": "TRADE_EVENTS:XRPUSDT"}}, ["topic"]
                    ),
                    parameters=[_path_param("action", action)],
                )
            },
            "/api/overview": {"get": _op("the dashboard's snapshot")},
            "/api/symbol/{symbol}": {
                "get": _op("one symbol's section", parameters=[_path_param("symbol", _SYMBOL)])
            },
            "/api/process/{ref}": {
                "get": _op(
                    "one process, by pid or name",
                    parameters=[_path_param("ref", {"type": "string", "example": "root"})],
                )
            },
            "/api/openapi.json": {"get": _op("this description")},
        },
    }
