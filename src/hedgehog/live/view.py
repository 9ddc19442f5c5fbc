"""The live view in the terminal (rich): each symbol's traders, their orders, and PnL."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hedgehog.live.node import FEED, LiveNode
from hedgehog.naive.context import leader_name
from hedgehog.naive.leader import traders_of

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
        traders = [
            t.process.info() if t.alive else {"trader_id": "?"}
            for t in traders_of(node.rt.whereis(leader_name(symbol)))
        ]
        book = node.naive.ctx.risk.get(symbol)  # max_loss on: its limits, realised PnL, halt
        symbols[symbol] = {
            "status": status,
            "strategy": node.naive.ctx.strategy_for(symbol).name,
            "traders": traders,
            **views.get(symbol, {}),
            **({"risk": book.info()} if book is not None else {}),
        }
    feed = node.rt.whereis(FEED[node.settings.exchange])
    return {
        "symbols": symbols,
        "exchange": feed.info() if feed is not None else {},
        "streams": node.streamer.status(),
        "errors": list(node.rt.errors)[-3:],
    }


def render(
    node: LiveNode, title: str = "hedgehog", *, exchange: str | None = None, height: int = 24
) -> Group:
    """The live view of `node`, `height` lines at most; `exchange` names where it trades
    (default: the feed's own name, e.g. binance or paper)."""
    return render_snapshot(snapshot(node), title, exchange=exchange, height=height)


def render_snapshot(
    data: dict[str, Any], title: str = "hedgehog", *, exchange: str | None = None, height: int = 24
) -> Group:
    """Lay out a `snapshot()` in `height` lines: a title, per symbol one summary line and its
    traders (the last rows folded into "+N more" when they do not fit), one table header, a
    footer. Lines never wrap: long cells end in an ellipsis.

    Each trader does one buy-then-sell cycle and is replaced when it completes, so the
    symbol's line counts completed cycles; a trader's own counter (`cycle` in its state)
    counts its buys that were refused or cancelled and placed again: the "retries" column."""
    symbols = data["symbols"]
    spare = max(len(symbols), height - 3 - len(symbols))  # title, table header, footer
    share = max(1, spare // max(1, len(symbols)))
    parts: list[Any] = [Text(title, style="bold", no_wrap=True, overflow="ellipsis")]
    for index, (symbol, s) in enumerate(symbols.items()):
        parts.append(_symbol_line(symbol, s))
        parts.append(_traders(s["traders"], share, header=index == 0))
    ex = data["exchange"]
    conns = data["streams"].get("connections", {})
    connected = sum(1 for c in conns.values() if c.get("connected"))
    where = exchange or ex.get("exchange", "?")
    footer = f"exchange: {where}  streams: {connected}/{len(conns)} connected"
    if "user_stream_connected" in ex:
        footer += f"  user stream: {'up' if ex['user_stream_connected'] else 'DOWN'}"
    if data["errors"]:
        footer += f"  last error: {data['errors'][-1]['what']} {data['errors'][-1]['error']}"
    parts.append(Text(footer + "  (Ctrl-C stops)", style="dim", no_wrap=True, overflow="ellipsis"))
    return Group(*parts)


# fixed widths: every symbol's table lines up, and the whole fits 80 columns
COLUMNS = (("trader", 9), ("phase", 7), ("retries", 7), ("buy", 20), ("sell", 20), ("rebuy", 5))


def _traders(traders: list[dict[str, Any]], rows: int, *, header: bool) -> Table:
    """A symbol's traders in `rows` lines at most (the last one "+N more" when cut)."""
    table = Table(box=None, pad_edge=False, show_edge=False, show_header=header)
    for column, width in COLUMNS:
        table.add_column(column, width=width, no_wrap=True, overflow="ellipsis")
    shown = traders if len(traders) <= rows else traders[: rows - 1]
    for t in shown:
        phase = t.get("phase", "?")
        table.add_row(
            str(t.get("trader_id")),
            Text(phase, style=PHASE_STYLE.get(phase, "")),
            str(t.get("cycle", "")),
            _order(t.get("buy")),
            _order(t.get("sell")),
            "yes" if t.get("rebuy_notified") else "",
        )
    if len(shown) < len(traders):
        table.add_row(Text(f"+{len(traders) - len(shown)} more", style="dim"))
    return table


def _symbol_line(symbol: str, s: dict[str, Any]) -> Text:
    """A symbol's summary on one line (cut with an ellipsis on a narrow terminal); its
    strategy is named unless it is the default, naive."""
    name = s.get("strategy")
    strategy = f" {escape(name)}" if name and name != "naive" else ""
    line = Text.from_markup(
        f"[b]{symbol}[/b] {s['status']}{strategy}  price {s.get('last_price') or '—'}  "
        f"cycles {s.get('cycles_completed', 0)}  realised {s.get('realised_pnl', '0')}  "
        f"unrealised {s.get('unrealised_pnl', '0')}  fees {s.get('fees_paid', '0')}",
        overflow="ellipsis",
    )
    line.no_wrap = True
    return line
