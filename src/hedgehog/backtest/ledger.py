"""The summary of a backtest, computed from the exchange's order ledger.

- realised PnL: over completed cycles, q*sell*(1-fee) - q*buy*(1+fee) when the buy's commission
  was paid in the quote asset (the default); q*sell*(1-fee) - buy's quote cost when it was taken
  from the coins bought (`--commission received`: the sell is then for fewer coins);
- unrealised PnL: positions whose buy filled and sell did not, valued at the last price net of
  the selling fee (and of the buy's commission when it was taken in coins), minus their cost;
- the ledger digest: sha256 of the canonical JSON lines of every order, in order id order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from hedgehog.core import client_ids
from hedgehog.core.decimals import ZERO, fmt
from hedgehog.core.pnl import buy_cost, cycle_pnl, sell_proceeds
from hedgehog.core.types import Order, OrderStatus, Side


def canonical_line(order: Order) -> str:
    return json.dumps(
        [
            order.order_id,
            order.client_order_id,
            order.symbol,
            order.side.value,
            fmt(order.price),
            fmt(order.orig_qty),
            fmt(order.executed_qty),
            fmt(order.cumulative_quote_qty),
            order.status.value,
            order.time,
            order.update_time,
        ],
        separators=(",", ":"),
    )


def ledger_sha256(orders: Iterable[Order]) -> str:
    digest = hashlib.sha256()
    for order in sorted(orders, key=lambda o: o.order_id):
        digest.update(canonical_line(order).encode())
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass
class LedgerSummary:
    orders_placed: int = 0
    buys_filled: int = 0
    sells_filled: int = 0
    cycles_completed: int = 0
    open_buy_orders: int = 0
    open_sell_orders: int = 0
    realised_pnl: Decimal = ZERO
    unrealised_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    ledger_sha256: str = ""

    def as_json(self) -> dict[str, str | int | dict[str, dict[str, str | int]]]:
        return {
            "orders_placed": self.orders_placed,
            "buys_filled": self.buys_filled,
            "sells_filled": self.sells_filled,
            "cycles_completed": self.cycles_completed,
            "open_buy_orders": self.open_buy_orders,
            "open_sell_orders": self.open_sell_orders,
            "realised_pnl": fmt(self.realised_pnl),
            "unrealised_pnl": fmt(self.unrealised_pnl),
            "fees_paid": fmt(self.fees_paid),
            "ledger_sha256": self.ledger_sha256,
        }


def cycle_key(order: Order) -> str:
    """The part of a client order id shared by a cycle's buy and sell (drops the side, and the
    attempt number of a sell placed again after a refusal)."""
    return f"{order.symbol}:{client_ids.cycle_key(order.client_order_id)}"


def summarise(
    orders: list[Order],
    fees: Mapping[str, Decimal],
    last_prices: Mapping[str, Decimal],
    paid_in_coins: Collection[int] = frozenset(),
) -> LedgerSummary:
    """Summarise a ledger; `fees` and `last_prices` are per symbol; `paid_in_coins` the ids of
    the buys whose commission was taken from the coins bought."""
    s = LedgerSummary(orders_placed=len(orders), ledger_sha256=ledger_sha256(orders))
    filled_buys: dict[str, Order] = {}
    filled_sells: dict[str, Order] = {}
    for o in orders:
        fee = fees[o.symbol]
        if o.status == OrderStatus.FILLED:
            s.fees_paid += o.cumulative_quote_qty * fee
            if o.side == Side.BUY:
                s.buys_filled += 1
                filled_buys[cycle_key(o)] = o
            else:
                s.sells_filled += 1
                filled_sells[cycle_key(o)] = o
        elif o.status.is_open:
            if o.side == Side.BUY:
                s.open_buy_orders += 1
            else:
                s.open_sell_orders += 1
    for key, buy in filled_buys.items():
        fee = fees[buy.symbol]
        sell = filled_sells.get(key)
        in_coins = buy.order_id in paid_in_coins
        if sell is not None:
            q = sell.executed_qty
            cost = buy.cumulative_quote_qty if in_coins else buy_cost(q, buy.price, fee)
            s.realised_pnl += sell_proceeds(q, sell.price, fee) - cost
            s.cycles_completed += 1
        else:
            q = buy.executed_qty
            last = last_prices[buy.symbol]
            if in_coins:
                held = q - q * fee
                s.unrealised_pnl += sell_proceeds(held, last, fee) - buy.cumulative_quote_qty
            else:
                s.unrealised_pnl += cycle_pnl(q, buy.price, last, fee)
    return s
