"""The chaos run's money checks, on Binance's rules (commission in the received asset, fills
in parts): liveness of sells, no sell refused for balance, balances that reconcile exactly.
Pure functions over `chaos_check.Evidence`; the ledger's fills (price, qty, commission,
commissionAsset, time) carry everything they need.

- liveness: every buy that ended executed (FILLED, or cancelled part-filled) has its sell placed
  within `LIVENESS_S` of the fill being known to a node (the last fill's time, or the moment a
  node answered again if none ran then), unless what it holds after the base-asset commission,
  floored to the step, is dust (below min qty or min notional): the reason, counted apart;
- no oversold or forgotten position: the sells of one buy cover what it holds after its
  base-asset commission, floored to the step, and no more;
- no sell refused for balance (the simulator's arrivals keep each refusal's message);
- balances: the simulator's final balance of every asset (free + locked) equals its start plus
  every fill minus every commission; none is negative; and per symbol the base asset the store's
  order rows say was bought and sold (less the exchange's base commissions) equals what the
  account gained; a stored trader's base commission equals the exchange's for its buy.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from chaos_check import OPEN, ZERO, Evidence, dec, intent_key

LIVENESS_S = 10.0
_BALANCE = "insufficient balance"


def floor_step(value: Decimal, step: Decimal) -> Decimal:
    return (value // step) * step if step > 0 else value


def base_commission(order: dict[str, Any], base: str) -> Decimal:
    return sum(
        (dec(f["commission"]) for f in order.get("fills", []) if f["commissionAsset"] == base),
        ZERO,
    )


def known_at_ns(fill_ns: int, down: list[tuple[int, int]]) -> int:
    """When a node could first know of a fill made at `fill_ns`."""
    for start, end in down:
        if start <= fill_ns < end:
            return end
    return fill_ns


def sell_due_ns(fill_ns: int, down: list[tuple[int, int]], limit_ns: int) -> int:
    """When the sell of a buy filled at `fill_ns` is due: `limit_ns` after the fill became known
    to a node that then stayed up that long. A node SIGKILLed sooner cannot be blamed: what it
    had learnt died with it, and its successor learns the fill again when it answers (the end
    of that down interval). The clock restarts only at a kill, never otherwise."""
    known = known_at_ns(fill_ns, down)
    for start, end in sorted(down):
        if end <= known:
            continue
        if start - known >= limit_ns:
            break  # this node had the whole time limit before it was killed
        known = max(known, end)
    return known + limit_ns


def check_positions(ev: Evidence, limit_s: float = LIVENESS_S) -> dict[str, int]:
    v = Counter(
        late_sells=0, missing_sells=0, orphaned_sells=0, oversold_positions=0,
        undersold_positions=0,
    )  # fmt: skip
    arrived = {r["orderId"]: r["at_ns"] for r in ev.arrivals if r.get("orderId") is not None}
    cycles: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: {"BUY": [], "SELL": []}
    )
    for o in ev.ledger:
        owner, cycle, side = intent_key(o)
        cycles[(owner, cycle)][side].append(o)
    for sides in cycles.values():
        buys, sells = sides["BUY"], sides["SELL"]
        if not buys:
            v["orphaned_sells"] += bool(sells)
            continue
        market = ev.markets.get(buys[0]["symbol"])
        if market is None:
            continue
        bought = sum((dec(b["executedQty"]) for b in buys), ZERO)
        holds = bought - sum((base_commission(b, market.base) for b in buys), ZERO)
        committed = sum(
            (dec(s["origQty"]) if s["status"] in OPEN else dec(s["executedQty"]) for s in sells),
            ZERO,
        )
        if committed > holds:
            v["oversold_positions"] += 1
        if bought == 0 or any(b["status"] in OPEN for b in buys):
            continue  # nothing bought yet, or still buying: no sell due
        sellable = floor_step(holds, market.step)
        price = dec(buys[-1]["price"])
        if sellable <= 0 or sellable < market.min_qty or sellable * price < market.min_notional:
            continue  # dust: the reason there is no sell
        if sells and committed < sellable:
            v["undersold_positions"] += 1
        fills = [f["time"] for b in buys for f in b.get("fills", [])]
        fill_ns = max(fills) * 1_000_000 if fills else buys[-1]["updateTime"] * 1_000_000
        due = sell_due_ns(fill_ns, ev.node_down, int(limit_s * 1e9))
        placed = [arrived.get(s["orderId"], s["time"] * 1_000_000) for s in sells]
        if not placed:
            v["missing_sells"] += ev.end_ns > due
        elif min(placed) > due:
            v["late_sells"] += 1
    return dict(v)


def check_rejections(ev: Evidence) -> dict[str, int]:
    refused = [r for r in ev.arrivals if r.get("error") and r["side"] == "SELL"]
    return {
        "sells_rejected_for_balance": sum(
            1 for r in refused if _BALANCE in str(r["error"].get("msg", "")).lower()
        )
    }


def rejections(ev: Evidence) -> dict[str, int]:
    """Every refused order request by side and message (for the summary)."""
    return dict(
        Counter(f"{r['side']}: {r['error'].get('msg')}" for r in ev.arrivals if r.get("error"))
    )


def check_balances(ev: Evidence) -> dict[str, int]:
    v = Counter(unreconciled_balances=0, negative_balances=0, holdings_disagree=0, fees_disagree=0)
    expected: dict[str, Decimal] = defaultdict(Decimal, ev.start_balances)
    gained: dict[str, Decimal] = defaultdict(Decimal)  # per symbol, base the store accounts for
    by_cid: dict[str, dict[str, Any]] = {}
    for o in ev.ledger:
        by_cid[o["clientOrderId"]] = o
        market = ev.markets[o["symbol"]]
        sign = 1 if o["side"] == "BUY" else -1
        for f in o.get("fills", []):
            qty, notional = dec(f["qty"]), dec(f["price"]) * dec(f["qty"])
            expected[market.base] += sign * qty
            expected[market.quote] -= sign * notional
            expected[f["commissionAsset"]] -= dec(f["commission"])
        gained[o["symbol"]] -= base_commission(o, market.base)
    for asset in set(expected) | set(ev.final_balances):
        free, locked = ev.final_balances.get(asset, (ZERO, ZERO))
        if free + locked != expected[asset]:
            v["unreconciled_balances"] += 1
        if free < 0 or locked < 0:
            v["negative_balances"] += 1
    for row in ev.rows:
        gained[row.symbol] += row.executed_qty if row.side == "BUY" else -row.executed_qty
    for symbol, market in ev.markets.items():
        free, locked = ev.final_balances.get(market.base, (ZERO, ZERO))
        if gained[symbol] != free + locked - ev.start_balances.get(market.base, ZERO):
            v["holdings_disagree"] += 1
    for t in ev.traders:
        buy = by_cid.get(t.buy.client_order_id) if t.buy is not None else None
        if buy is not None and t.buy_fee_base is not None and buy["status"] not in OPEN:
            fee = base_commission(buy, ev.markets[buy["symbol"]].base)
            v["fees_disagree"] += t.buy_fee_base != fee
    return dict(v)


def check_money(ev: Evidence, limit_s: float = LIVENESS_S) -> dict[str, int]:
    return {**check_positions(ev, limit_s), **check_rejections(ev), **check_balances(ev)}
