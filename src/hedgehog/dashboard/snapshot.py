"""What the dashboard shows, as plain data: built from the node's live state, read-only.

Everything here is synchronous and cheap (a few dicts per process, copies of the observer's
bounded deques). `build(node, ...)` is called at most once per interval by the dashboard's
hub and its result is shared by every open page, so open dashboards cost the node little.

Sections (each diffed on its own by the event stream):

    tree             the live supervision tree, each node with a stable `key` for /api/process
    node             clock, exchange and stream status, balances, totals, errors, warnings
    symbol:<SYMBOL>  status, PnL, settings, traders, open orders, completed cycles

Series (sent incrementally): per symbol, recent price bars `[open time, open, high, low,
close]` of `interval` ("1s" while the observer has seen less than a few minutes of trades,
then "1m"; folded from every trade by `hedgehog.market.bars.BarAggregator`, the last one in
progress), PnL `[t, realised, unrealised]` and our fills (`{time, side, price, qty,
client_order_id}`); times are the exchange's trade times in milliseconds. Orders, fills and
completed cycles are put in this shape by `hedgehog.dashboard.orders`.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from hedgehog.core.decimals import fmt
from hedgehog.dashboard.orders import FillCache, order_data
from hedgehog.exchange.base import Balance
from hedgehog.live.node import FEED, LiveNode
from hedgehog.naive.context import leader_name
from hedgehog.naive.leader import traders_of
from hedgehog.naive.observer import SymbolView

WARNINGS_KEPT = 50
TEXT_LIMIT = 500  # characters of a log message or an error kept


class RecentLog(logging.Handler):
    """Keeps the last WARNING-or-worse records of hedgehog's loggers, for the dashboard."""

    def __init__(self, maxlen: int = WARNINGS_KEPT) -> None:
        super().__init__(logging.WARNING)
        self.records: deque[dict[str, Any]] = deque(maxlen=maxlen)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break logging
            message = str(record.msg)
        self.records.append(
            {
                "time": record.created,
                "level": record.levelname,
                "logger": record.name,
                "message": message[:TEXT_LIMIT],
            }
        )


_recent: RecentLog | None = None


def recent_log() -> RecentLog:
    """The process-wide handler on the `hedgehog` logger (installed once, on first use)."""
    global _recent
    if _recent is None:
        _recent = RecentLog()
        logging.getLogger("hedgehog").addHandler(_recent)
    return _recent


Row = tuple[int, str, str, str, str]  # a price bar: open time (ms), open, high, low, close


@dataclass
class Series:
    bars: list[Row]
    pnl: list[tuple[int, str, str]]
    fills: list[dict[str, Any]]
    interval: str = "1s"


def bar_rows(view: SymbolView) -> list[Row]:
    """The view's price bars as rows of exact decimal strings, oldest first."""
    return [
        (b.time, fmt(b.open), fmt(b.high), fmt(b.low), fmt(b.close)) for b in view.prices.bars()
    ]


@dataclass
class Balances:
    """The exchange's balances, refreshed every few seconds by the hub."""

    assets: dict[str, Balance] = field(default_factory=dict)
    at: float | None = None  # wall time of the last good answer
    error: str | None = None


def _key(node: dict[str, Any], parent: dict[str, Any] | None) -> str:
    parent_name = (parent or {}).get("name") or ""
    if node.get("module") == "Trader" and parent_name.startswith("traders:"):
        return f"trader:{parent_name.removeprefix('traders:')}:{node.get('id')}"
    if node.get("name"):
        return str(node["name"])
    return str(node.get("pid", node.get("id", "?")))


def tree(live: LiveNode) -> dict[str, Any]:
    """The node's tree, each entry with a `key` (what /api/process and /api/kill accept),
    a `label`, and for traders and leaders a short `detail`."""
    rt = live.rt

    def walk(node: dict[str, Any], parent: dict[str, Any] | None) -> dict[str, Any]:
        out = dict(node)
        out["key"] = _key(node, parent)
        module = node.get("module")
        proc = rt.processes.get(node["pid"]) if "pid" in node else None
        if module == "Trader":
            out["label"] = str(node.get("id"))
            if proc is not None and proc.alive:
                info = proc.info()
                # a trader does one cycle; its `cycle` counts buys placed again after a
                # refusal or a cancellation: shown only when there were some
                retries = info.get("cycle") or 0
                tail = f" · {retries} retries" if retries else ""
                out["detail"] = f"{info.get('phase')}{tail}"
        else:
            out["label"] = node.get("name") or node.get("id") or module or "?"
        if module == "Leader" and proc is not None and proc.alive:
            symbol = getattr(proc, "symbol", "")
            out["trader_restarts"] = live.naive.ctx.restarts[symbol]
        out["children"] = [walk(child, node) for child in node.get("children", [])]
        if not out["children"]:
            del out["children"]
        return out

    return walk(live.node.tree(), None)


def symbol_names(live: LiveNode) -> list[str]:
    """Every symbol the node knows (trading or observed), sorted."""
    observer = live.observer()
    views = observer.views if observer is not None else {}
    return sorted(set(live.naive.ctx.status) | set(views))


def symbols(
    live: LiveNode, rates: dict[str, float | None], cache: FillCache | None = None
) -> dict[str, dict[str, Any]]:
    """Each known symbol's section: status, PnL, settings, traders, open orders, cycles."""
    return {s: symbol_section(live, s, rates, cache) for s in symbol_names(live)}


def symbol_section(
    live: LiveNode, symbol: str, rates: dict[str, float | None], cache: FillCache | None = None
) -> dict[str, Any]:
    """One symbol's section (see `symbols`)."""
    observer = live.observer()
    views = observer.views if observer is not None else {}
    ctx = live.naive.ctx
    view = views.get(symbol)
    leader = live.rt.whereis(leader_name(symbol))
    state, reason = live.symbol_state(symbol)
    traders: list[dict[str, Any]] = []
    settings = ctx.settings_for(symbol).as_dict()
    leader_data: dict[str, Any] | None = None
    if leader is not None:
        settings = leader.info().get("settings", settings)
        leader_data = {
            "pid": leader.pid,
            "key": f"leader:{symbol}",
            "traders_started": ctx.traders_started[symbol],
            "trader_restarts": ctx.restarts[symbol],
        }
        for trader in traders_of(leader):
            pid = trader.process
            entry: dict[str, Any] = {
                "trader_id": trader.trader_id,
                "key": f"trader:{symbol}:{trader.trader_id}",
                "pid": pid.pid,
                "alive": pid.alive,
            }
            if pid.alive:
                entry.update(pid.info())
                entry["started_at"] = pid.started_at
            traders.append(entry)
    section: dict[str, Any] = {
        "symbol": symbol,
        "status": ctx.status.get(symbol, "off"),
        "strategy": ctx.strategy_for(symbol).name,
        "state": state,  # what the tree really does: trading, shutting down, off or down
        "state_reason": reason,
        "trade_rate": rates.get(symbol),
        "settings": settings,
        "leader": leader_data,
        "traders": traders,
        "orders": [],
        "cycles": [],
        "errored": ctx.errored.get(symbol),
        "risk": book.info() if (book := ctx.risk.get(symbol)) is not None else None,
        "buy_rejections": ctx.rejections[(symbol, "BUY")],
        "sell_rejections": ctx.rejections[(symbol, "SELL")],
        "dust": str(ctx.dust[symbol]) if ctx.dust.get(symbol) else None,
    }
    if view is not None:
        section.update(view.summary())
        orders = sorted(view.open_orders(), key=lambda o: (o.side.value, -o.price))
        section["orders"] = [order_data(o) for o in orders]
        section["cycles"] = (cache or FillCache()).get(view)[1]
    return section


def series(live: LiveNode, cache: FillCache) -> dict[str, Series]:
    observer = live.observer()
    if observer is None:
        return {}
    return {
        symbol: Series(bar_rows(view), list(view.pnl), cache.get(view)[0], view.prices.interval)
        for symbol, view in observer.views.items()
    }


def trades_seen(live: LiveNode) -> dict[str, int]:
    observer = live.observer()
    return {s: v.trades for s, v in observer.views.items()} if observer is not None else {}


def _quote_value(asset: str, amount: Decimal, prices: dict[str, str | None]) -> Decimal | None:
    for quote in ("USDT", "BUSD", "USDC", "FDUSD"):
        if asset == quote:
            return amount
        price = prices.get(asset + quote)
        if price is not None:
            try:
                return amount * Decimal(price)
            except InvalidOperation:
                return None
    return None


def node_section(
    live: LiveNode,
    symbol_sections: dict[str, dict[str, Any]],
    balances: Balances,
    rate: float | None,
    warnings: list[dict[str, Any]],
) -> dict[str, Any]:
    """The whole node: exchange status, streams, balances, totals, recent problems."""
    feed = live.rt.whereis(FEED[live.settings.exchange])
    exchange = dict(feed.info()) if feed is not None else {}
    limits = getattr(getattr(feed, "exchange", None), "rate_limit_status", None)
    if callable(limits):
        exchange["max_weight_per_minute"] = limits().max_weight_per_minute
    streams = live.streamer.status()
    prices = {s: d.get("last_price") for s, d in symbol_sections.items()}
    rows = []
    equity = Decimal(0)
    valued = True
    for asset, b in sorted(balances.assets.items()):
        if not b.total:
            continue
        value = _quote_value(asset, b.total, prices)
        if value is None:
            valued = False
        else:
            equity += value
        rows.append(
            {
                "asset": asset,
                "free": fmt(b.free),
                "locked": fmt(b.locked),
                "total": fmt(b.total),
                "value": fmt(value) if value is not None else None,
            }
        )

    def total(name: str) -> str:
        return fmt(sum((Decimal(s.get(name) or 0) for s in symbol_sections.values()), Decimal(0)))

    return {
        "now": live.rt.clock.time(),
        "wall": time.time(),
        "exchange_kind": live.settings.exchange,
        "alive": live.health()[0],  # False once the root supervisor has died
        "down_reason": live.health()[1],
        "exchange": exchange,
        "streams": {
            "running": streams.get("running"),
            "symbols": streams.get("symbols", []),
            "connections": [
                {
                    k: c.get(k)
                    for k in (
                        "id",
                        "connected",
                        "symbols",
                        "trades",
                        "messages",
                        "last_message_at",
                        "reconnects",
                        "last_error",
                    )
                }
                for c in streams.get("connections", {}).values()
            ],
        },
        "balances": {
            "assets": rows[:50],
            "equity": fmt(equity) if rows else None,
            "equity_complete": valued,
            "at": balances.at,
            "error": balances.error,
        },
        "totals": {
            "symbols_trading": sum(
                1 for s in symbol_sections.values() if s["state"] in ("trading", "shutting down")
            ),
            "traders": sum(len(s["traders"]) for s in symbol_sections.values()),
            "open_orders": sum(len(s["orders"]) for s in symbol_sections.values()),
            "cycles_completed": sum(s.get("cycles_completed", 0) for s in symbol_sections.values()),
            "realised_pnl": total("realised_pnl"),
            "unrealised_pnl": total("unrealised_pnl"),
            "fees_paid": total("fees_paid"),
            "trades": sum(s.get("trades", 0) for s in symbol_sections.values()),
            "trade_rate": rate,
            "restarts": live.rt.restarts + sum(live.naive.ctx.restarts.values()),
        },
        "errors": [
            {**e, "error": str(e.get("error", ""))[:TEXT_LIMIT]} for e in list(live.rt.errors)[-20:]
        ],
        "warnings": warnings[-20:],
        "boot_errors": live.boot_errors,
        "unknown_orders": live.unknown_orders[:50],
    }
