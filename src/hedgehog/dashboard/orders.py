"""Orders, fills and completed cycles as the dashboard shows them: an order as plain data, the
newest completed cycles of a symbol (a filled sell paired with its filled buy, and its profit),
and each symbol's de-duplicated fills and cycles, cached until a fill arrives.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hedgehog.core import client_ids
from hedgehog.core.decimals import fmt
from hedgehog.core.pnl import cycle_pnl
from hedgehog.core.types import Order, OrderStatus, Side
from hedgehog.naive.observer import SymbolView

CYCLES_SHOWN = 50  # completed cycles listed per symbol


def order_data(order: Order) -> dict[str, Any]:
    """An open order as the page lists it."""
    return {
        "client_order_id": order.client_order_id,
        "trader_id": client_ids.trader_of(order.client_order_id),
        "side": order.side.value,
        "price": fmt(order.price),
        "quantity": fmt(order.orig_qty),
        "executed": fmt(order.executed_qty),
        "status": order.status.value,
        "time": order.time,
    }


def cycles(view: SymbolView, limit: int = CYCLES_SHOWN) -> list[dict[str, Any]]:
    """The newest completed cycles (a filled sell whose filled buy is still known)."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for fill in reversed(view.fills):
        cid = fill["client_order_id"]
        if fill["side"] != "SELL" or cid in seen:
            continue
        seen.add(cid)
        parsed = client_ids.parse(cid)
        if parsed is None:
            continue
        sell = view.orders.get(cid)
        buy = view.orders.get(
            client_ids.build(sell.symbol, parsed.trader_id, parsed.cycle, Side.BUY)
            if sell is not None
            else ""
        )
        if sell is None or buy is None or sell.status != OrderStatus.FILLED:
            continue
        if buy.side != Side.BUY or buy.status != OrderStatus.FILLED:
            continue
        q = sell.executed_qty
        profit = cycle_pnl(q, buy.price, sell.price, view.fee)
        out.append(
            {
                "time": sell.update_time or fill["time"],
                "trader_id": parsed.trader_id,
                "cycle": str(parsed.cycle),
                "quantity": fmt(q),
                "buy_price": fmt(buy.price),
                "sell_price": fmt(sell.price),
                "profit": fmt(profit),
            }
        )
        if len(out) >= limit:
            break
    return out


def unique_fills(fills: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fills without repeats: the same fill can be reported twice (by the user data stream
    and by the order poller), and the observer keeps both."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for fill in fills:
        key = (fill["client_order_id"], fill["time"], fill["qty"], fill["price"])
        if key not in seen:
            seen.add(key)
            out.append(fill)
    return out


class FillCache:
    """Each symbol's de-duplicated fills and completed cycles, recomputed only when a fill
    arrives (the observer's fills deque gains an entry) or a cycle completes."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[int, int, int], list[Any], list[Any]]] = {}

    def get(self, view: SymbolView) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        key = (len(view.fills), id(view.fills[-1]) if view.fills else 0, view.cycles)
        entry = self._entries.get(view.symbol)
        if entry is None or entry[0] != key:
            entry = (key, unique_fills(view.fills), cycles(view))
            self._entries[view.symbol] = entry
        return entry[1], entry[2]
