"""The live view in the terminal (rich): each symbol's traders, their orders, and PnL."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from hedgehog.live.node import FEED, LiveNode
from hedgehog.naive.context import leader_name

PHASE_STYLE = {"idle": "dim", "buying": "cyan", "selling": "yellow", "done": "green"}


def _order(ref: dict[str, Any] | None) -> str:
    if ref is None:
        return "—"
    return f"{ref['price']} x {ref['quantity']} {ref['status'].lower()}"


def snapshot(node: LiveNode) -> dict[str, Any]:
    """What the view shows, as data (tests read this too)."""
    observer = node.observer()
    views = observer.info() if observer is not None else {}
    symbols: dict[str, Any] = {}
    for symbol, status in sorted(node.naive.ctx.status.items()):
        leader = node.rt.whereis(leader_name(symbol))
        traders = []
        if leader is not None:
            for slot in sorted(leader.slots.values(), key=lambda s: s.state.number):  # type: ignore[attr-defined]
                traders.append(slot.pid.info() if slot.pid.alive else {"trader_id": "?"})
        symbols[symbol] = {"status": status, "traders": traders, **views.get(symbol, {})}
    feed = node.rt.whereis(FEED[node.settings.exchange])
    return {
        "symbols": symbols,
        "exchange": feed.info() if feed is not None else {},
        "streams": node.streamer.status(),
        "errors": list(node.rt.errors)[-3:],
    }


def render(node: LiveNode, title: str = "hedgehog") -> Group:
    data = snapshot(node)
    parts: list[Any] = []
    for symbol, s in data["symbols"].items():
        table = Table(expand=True, show_edge=False)
        for column in ("trader", "phase", "cycle", "buy", "sell", "rebuy"):
            table.add_column(column)
        for t in s["traders"]:
            phase = t.get("phase", "?")
            table.add_row(
                str(t.get("trader_id")),
                Text(phase, style=PHASE_STYLE.get(phase, "")),
                str(t.get("cycle", "")),
                _order(t.get("buy")),
                _order(t.get("sell")),
                "yes" if t.get("rebuy_notified") else "",
            )
        head = (
            f"[b]{symbol}[/b] {s['status']}  price {s.get('last_price') or '—'}  "
            f"cycles {s.get('cycles_completed', 0)}  realised {s.get('realised_pnl', '0')}  "
            f"unrealised {s.get('unrealised_pnl', '0')}  fees {s.get('fees_paid', '0')}"
        )
        parts.append(Panel(table, title=head, title_align="left"))
    ex = data["exchange"]
    conns = data["streams"].get("connections", {})
    connected = sum(1 for c in conns.values() if c.get("connected"))
    footer = f"exchange: {ex.get('exchange', '?')}  streams: {connected}/{len(conns)} connected"
    if "user_stream_connected" in ex:
        footer += f"  user stream: {'up' if ex['user_stream_connected'] else 'DOWN'}"
    if data["errors"]:
        footer += f"  last error: {data['errors'][-1]['what']} {data['errors'][-1]['error']}"
    parts.append(Text(footer + "   (Ctrl-C to stop)", style="dim"))
    return Group(Text(title, style="bold"), *parts)
