"""CLI commands that drive a running node through its control API, and `hedgehog console`."""

from __future__ import annotations

import code
import functools
import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.tree import Tree

from hedgehog.cli.console import err, fail, out
from hedgehog.control.client import ControlClient
from hedgehog.core.errors import HedgehogError

trade_app = typer.Typer(help="Start, stop or shut down trading of a symbol on the running node.")
stream_app = typer.Typer(help="Start or stop streaming a symbol's trades on the running node.")
warehouse_app = typer.Typer(help="Record a topic's messages in the database (or stop).")
Symbol = Annotated[str, typer.Argument(help="A symbol, e.g. XRPUSDT")]
Topic = Annotated[str, typer.Argument(help="A topic: TRADE_EVENTS:XRPUSDT or ORDERS:XRPUSDT")]


def _client() -> ControlClient:
    return ControlClient.from_settings()


def _do(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    try:
        return _client().call(method, path, body)
    except HedgehogError as exc:
        fail(exc)


@trade_app.command("start")
def trade_start(symbol: Symbol) -> None:
    """Trade SYMBOL (a symbol shutting down is switched back on at once)."""
    out.print_json(json.dumps(_do("POST", "/api/trade/start", {"symbol": symbol})))


@trade_app.command("stop")
def trade_stop(
    symbol: Symbol,
    cancel_orders: Annotated[bool, typer.Option(help="Also cancel its open orders")] = False,
) -> None:
    """Stop trading SYMBOL now; its orders stay on the exchange unless --cancel-orders."""
    body = {"symbol": symbol, "cancel_orders": cancel_orders}
    out.print_json(json.dumps(_do("POST", "/api/trade/stop", body)))


@trade_app.command("shutdown")
def trade_shutdown(symbol: Symbol) -> None:
    """No new buys for SYMBOL; it stops when its last cycle ends."""
    out.print_json(json.dumps(_do("POST", "/api/trade/shutdown", {"symbol": symbol})))


@stream_app.command("start")
def stream_start(symbol: Symbol) -> None:
    """Stream SYMBOL's trades on the running node (the symbol must be listed)."""
    out.print_json(json.dumps(_do("POST", "/api/stream/start", {"symbol": symbol})))


@stream_app.command("stop")
def stream_stop(symbol: Symbol) -> None:
    """Stop streaming SYMBOL's trades on the running node."""
    out.print_json(json.dumps(_do("POST", "/api/stream/stop", {"symbol": symbol})))


@warehouse_app.command("start")
def warehouse_start(topic: Topic) -> None:
    """Record TOPIC (TRADE_EVENTS:XRPUSDT or ORDERS:XRPUSDT)."""
    out.print_json(json.dumps(_do("POST", "/api/warehouse/start", {"topic": topic})))


@warehouse_app.command("stop")
def warehouse_stop(topic: Topic) -> None:
    """Stop recording TOPIC."""
    out.print_json(json.dumps(_do("POST", "/api/warehouse/stop", {"topic": topic})))


def kill(
    process: Annotated[str, typer.Argument(help="A pid number or a registered name")],
) -> None:
    """Kill a process of the running node (chaos, demos): a pid number, "leader:XRPUSDT",
    "symbol:XRPUSDT", "trader:XRPUSDT:<id>" or any registered name."""
    out.print_json(json.dumps(_do("POST", "/api/kill", {"process": process})))


def _tree(node: dict[str, Any], into: Tree) -> None:
    for child in node.get("children", []):
        label = child.get("name") or child.get("id") or child.get("module")
        line = (
            f"[b]{label}[/b] {child.get('module', '')} #{child.get('pid', '-')} "
            f"{child.get('status', '')} restarts={child.get('restarts', 0)}"
        )
        _tree(child, into.add(line))


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON")] = False,
) -> None:
    """The running node's live tree, each symbol's traders and orders, and restarts."""
    data = _do("GET", "/api/status")
    if as_json:
        out.print_json(json.dumps(data))
        return
    if data.get("alive") is False:
        out.print(f"[red]node down:[/red] {data.get('down_reason')}")
    tree = Tree(f"[b]{data['tree'].get('name')}[/b] (restarts: {data.get('restarts', 0)})")
    _tree(data["tree"], tree)
    out.print(tree)
    for symbol, s in data["symbols"].items():
        out.print(
            f"[b]{symbol}[/b] {s.get('state', s['status'])} "
            f"strategy={s.get('strategy', 'naive')} price={s.get('last_price')} "
            f"cycles={s.get('cycles_completed', 0)} realised={s.get('realised_pnl', 0)} "
            f"unrealised={s.get('unrealised_pnl', 0)}"
        )
        if s.get("reason"):
            out.print(f"  [red]{s.get('state')}:[/red] {s['reason']} (stored as {s['status']})")
        rejected = (s.get("buy_rejections", 0), s.get("sell_rejections", 0))
        if any(rejected) or s.get("dust"):
            out.print(
                f"  rejected orders: {rejected[0]} buys, {rejected[1]} sells"
                + (f"; dust held: {s['dust']}" if s.get("dust") else "")
            )
        if s.get("errored"):
            out.print(f"  [red]errored:[/red] {s['errored']}")
        risk = s.get("risk")
        if risk:
            halted = risk.get("halted")
            out.print(
                f"  risk: max loss {risk.get('max_loss')}, realised {risk.get('realised_pnl')}"
                + (f"; [red]halted:[/red] {halted.get('reason')}" if halted else "")
            )
        for t in s["traders"]:
            buy, sell = t.get("buy") or {}, t.get("sell") or {}
            level = f" level {t['level']}" if "level" in t else ""
            out.print(
                f"  trader {t.get('trader_id')}{level}: {t.get('phase')} cycle {t.get('cycle')}"
                f"  buy {buy.get('price', '-')} {buy.get('status', '')}"
                f"  sell {sell.get('price', '-')} {sell.get('status', '')}"
            )
            if t.get("blocked"):
                out.print(f"    [red]blocked:[/red] {t['blocked']}")
    for symbol, problem in data.get("boot_errors", {}).items():
        out.print(f"[red]{symbol} failed to start:[/red] {problem}")
    for order in data.get("unknown_orders", []):
        out.print(f"[yellow]open order not hedgehog's:[/yellow] {order}")


BANNER = """hedgehog console — attached to {url}
  start_trading("XRPUSDT")   stop_trading("XRPUSDT", cancel_orders=False)
  shutdown_trading("XRPUSDT")   start_streaming(s)   stop_streaming(s)
  status()   kill("leader:XRPUSDT")   settings("XRPUSDT")   update_settings(s, budget="500")
Ctrl-D leaves (the node keeps running)."""


def console_namespace(client: ControlClient) -> dict[str, Any]:
    """The console's functions: each one request to the node."""

    def start_trading(symbol: str) -> Any:
        return client.call("POST", "/api/trade/start", {"symbol": symbol})

    def stop_trading(symbol: str, cancel_orders: bool = False) -> Any:
        return client.call(
            "POST", "/api/trade/stop", {"symbol": symbol, "cancel_orders": cancel_orders}
        )

    def shutdown_trading(symbol: str) -> Any:
        return client.call("POST", "/api/trade/shutdown", {"symbol": symbol})

    def start_streaming(symbol: str) -> Any:
        return client.call("POST", "/api/stream/start", {"symbol": symbol})

    def stop_streaming(symbol: str) -> Any:
        return client.call("POST", "/api/stream/stop", {"symbol": symbol})

    def status() -> Any:
        return client.call("GET", "/api/status")

    def kill(process: str | int) -> Any:
        return client.call("POST", "/api/kill", {"process": process})

    def settings(symbol: str | None = None) -> Any:
        return client.call("GET", "/api/settings" + (f"?symbol={symbol}" if symbol else ""))

    def update_settings(symbol: str, **values: Any) -> Any:
        return client.call("PUT", f"/api/settings/{symbol}", values)

    return {
        f.__name__: _one_line(f)
        for f in (
            start_trading,
            stop_trading,
            shutdown_trading,
            start_streaming,
            stop_streaming,
            status,
            kill,
            settings,
            update_settings,
        )
    }


def _one_line(function: Callable[..., Any]) -> Callable[..., Any]:
    """A console function whose refusals (a bad value, a node that cannot be reached) print one
    line, as the CLI's do, instead of an interactive traceback through asyncio's frames."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except HedgehogError as exc:
            err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
            return None

    return wrapper


def console() -> None:
    """An interactive console attached to the running node (like `iex -S mix`)."""
    try:
        client = _client()
        client.call("GET", "/api/status")
    except HedgehogError as exc:
        fail(exc)
    shell = code.InteractiveConsole(console_namespace(client))
    shell.interact(banner=BANNER.format(url=client.url), exitmsg="bye (the node keeps running)")
