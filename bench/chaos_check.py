"""The chaos run's checks of the order path: what the node's store says against what the
exchange saw, and when. Pure functions over the evidence (`Evidence`), so that each check can
be shown to fire on a crafted case (tests/reliability/test_chaos_checks.py).

The evidence: the simulator's ledger (`GET /_sim/ledger`: every order it accepted, with its
fills, NOT de-duplicated by client order id), its order arrivals (`GET /_sim/arrivals`: every
order request, accepted or refused, with the time it arrived), the store's order rows (with the
time each intent committed) and its trader states. The money checks are in `chaos_money`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
OPEN = ("NEW", "PARTIALLY_FILLED")
PENDING = "PENDING"
_CID = re.compile(r"^(?P<owner>.+)-(?P<cycle>\d+)(?P<side>[BS])(?P<retry>.*)$")


@dataclass(frozen=True)
class Row:
    """One row of the store's order ledger (`orders`)."""

    client_order_id: str
    symbol: str = ""
    side: str = "BUY"
    status: str = PENDING
    executed_qty: Decimal = ZERO
    exchange_order_id: int | None = None
    trader_id: str | None = None
    intent_ns: int | None = None  # intent_committed_at_ns


@dataclass(frozen=True)
class Ref:
    """A stored trader's view of one of its orders."""

    client_order_id: str
    status: str
    executed_qty: Decimal = ZERO


@dataclass(frozen=True)
class Trader:
    """A stored trader state (the parts the checks read)."""

    symbol: str
    trader_id: str
    buy: Ref | None = None
    sell: Ref | None = None
    buy_fee_base: Decimal | None = None  # None: this state does not say


@dataclass(frozen=True)
class Market:
    """A served symbol's assets and the filters that decide whether a position is dust."""

    base: str
    quote: str
    step: Decimal = Decimal("0.1")
    min_qty: Decimal = ZERO
    min_notional: Decimal = ZERO


@dataclass
class Evidence:
    ledger: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[dict[str, Any]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    traders: list[Trader] = field(default_factory=list)
    markets: dict[str, Market] = field(default_factory=dict)
    start_balances: dict[str, Decimal] = field(default_factory=dict)
    final_balances: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    node_down: list[tuple[int, int]] = field(default_factory=list)  # ns, no node answering
    end_ns: int = 0  # when the final read began (the market paused before)


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def intent_key(order: dict[str, Any]) -> tuple[str, str, str]:
    """(owner = symbol and trader, cycle, side) of an exchange order: one trader intent.
    A retry of a refused sell (a suffix after the side letter) belongs to the same intent."""
    m = _CID.match(order["clientOrderId"])
    if m is None:
        return (order["clientOrderId"], "", order["side"])
    return (m["owner"], m["cycle"], order["side"])


def _live(order: dict[str, Any]) -> bool:
    """Still open, or executed something: an order that holds or moved money."""
    return order["status"] in OPEN or dec(order["executedQty"]) > 0


def check_call_order(ev: Evidence) -> dict[str, int]:
    """Every order request reached the exchange after its intent was durable."""
    v = Counter(call_before_intent=0, call_without_intent=0, orders_without_arrival=0)
    rows = {r.client_order_id: r for r in ev.rows}
    for record in ev.arrivals:
        row = rows.get(record["clientOrderId"])
        if row is None or row.intent_ns is None:
            v["call_without_intent"] += 1
        elif record["at_ns"] < row.intent_ns:
            v["call_before_intent"] += 1
    accepted = {r["orderId"] for r in ev.arrivals if r.get("orderId") is not None}
    v["orders_without_arrival"] = sum(1 for o in ev.ledger if o["orderId"] not in accepted)
    return dict(v)


def check_rows(ev: Evidence) -> dict[str, int]:
    """Every store row against the exchange, and every exchange order against the store."""
    v = Counter(
        phantom_rows=0, pending_left=0, orders_lost_by_store=0, lost_fills=0, rows_disagree=0
    )
    by_cid: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in ev.ledger:
        by_cid[o["clientOrderId"]].append(o)
    rows = {r.client_order_id: r for r in ev.rows}
    for row in ev.rows:
        seen = by_cid.get(row.client_order_id, [])
        if row.status == PENDING:
            v["pending_left"] += 1
        elif row.status != "REJECTED" and not seen:
            v["phantom_rows"] += 1  # claims an exchange answer for an order never accepted
        elif (
            row.exchange_order_id is not None
            and seen
            and all(o["orderId"] != row.exchange_order_id for o in seen)
        ):
            v["phantom_rows"] += 1  # names an exchange order id that is not this order's
    for cid, orders in by_cid.items():
        row = rows.get(cid)
        if row is None:
            v["orders_lost_by_store"] += len(orders)
            continue
        last = max(orders, key=lambda o: o["orderId"])
        executed = max(dec(o["executedQty"]) for o in orders)
        if executed > row.executed_qty or (last["status"] == "FILLED" != row.status):
            v["lost_fills"] += 1  # the exchange executed more than the store knows
        elif row.status not in (PENDING, last["status"]):
            v["rows_disagree"] += 1
    return dict(v)


def check_duplicates(ev: Evidence) -> dict[str, int]:
    """One exchange order per trader intent (trader, cycle, side), re-placed ids included."""
    v = Counter(duplicate_orders=0, reused_client_ids=0)
    per_cid = Counter(o["clientOrderId"] for o in ev.ledger)
    v["reused_client_ids"] = sum(n - 1 for n in per_cid.values() if n > 1)
    intents: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for o in ev.ledger:
        intents[intent_key(o)].append(o)
    for orders in intents.values():
        live = [o for o in orders if _live(o)]
        v["duplicate_orders"] += max(0, len(live) - 1)
    return dict(v)


def check_ownership(ev: Evidence) -> dict[str, int]:
    """Every open exchange order is owned by a stored trader, who sees it as the exchange does."""
    v = Counter(unowned_open_orders=0, states_disagree=0)
    owned: dict[str, Ref] = {}
    for t in ev.traders:
        for ref in (t.buy, t.sell):
            if ref is not None:
                owned[ref.client_order_id] = ref
    latest: dict[str, dict[str, Any]] = {}
    for o in sorted(ev.ledger, key=lambda o: o["orderId"]):
        latest[o["clientOrderId"]] = o
        if o["status"] in OPEN and o["clientOrderId"] not in owned:
            v["unowned_open_orders"] += 1
    for cid, ref in owned.items():
        there = latest.get(cid)
        if there is None:
            if ref.status not in ("REJECTED",):
                v["states_disagree"] += 1  # PENDING after recovery, or an order never accepted
        elif there["status"] != ref.status or dec(there["executedQty"]) != ref.executed_qty:
            v["states_disagree"] += 1
    return dict(v)


def check_order_path(ev: Evidence) -> dict[str, int]:
    """All the order-path checks, one counter each."""
    out: dict[str, int] = {}
    for check in (check_call_order, check_rows, check_duplicates, check_ownership):
        out.update(check(ev))
    return out
