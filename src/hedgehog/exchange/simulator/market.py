"""The simulated account and market: the `MatchingEngine`, its fills and the events it emits.

Every trade (replayed or injected) goes through `process_trade`: it is stamped with the wall
clock, matched by the engine first (each fill becomes an `executionReport` for the user data
streams and an entry of the ledger), then published to the trade-stream subscribers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from hedgehog.core.decimals import ZERO
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Order, OrderUpdate, Side, TradeEvent
from hedgehog.exchange.binance.wire import format_execution_report, format_order
from hedgehog.exchange.paper.engine import MatchingEngine

TradeListener = Callable[[TradeEvent], None]
ReportListener = Callable[[dict[str, Any]], None]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def amount(value: Decimal) -> str:
    """An amount as Binance writes it: 8 decimals (more only when the value needs them)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -8:
        return format(value.normalize(), "f")
    return f"{value:.8f}"


class Market:
    """The engine of one simulated account, the fills ledger and the listeners of its events."""

    def __init__(
        self,
        filters: Mapping[str, SymbolFilters],
        exchange_info: dict[str, Any],
        balances: Mapping[str, Decimal] | None = None,
        fee: Decimal = Decimal("0.001"),
        now_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.engine = MatchingEngine(filters, fee=fee, balances=balances, keep_ledger=True)
        self.symbols = list(filters)
        self.exchange_info = exchange_info
        self.now_ms = now_ms
        self.fills: dict[int, list[dict[str, Any]]] = {}
        self.last_price: dict[str, Decimal] = {}
        self.last_trade_id: dict[str, int] = {}
        self.trades_replayed = 0
        self.trades_injected = 0
        self.fill_count = 0
        self.trade_listeners: list[TradeListener] = []
        self.report_listeners: list[ReportListener] = []
        kinds = {
            str(e.get("symbol")): {f.get("filterType") for f in e.get("filters", [])}
            for e in exchange_info.get("symbols", [])
        }
        self._notional = {
            s: "NOTIONAL" if "NOTIONAL" in k and "MIN_NOTIONAL" not in k else "MIN_NOTIONAL"
            for s, k in kinds.items()
        }

    # -- trades ------------------------------------------------------------------------------
    def process_trade(
        self, trade: TradeEvent, injected: bool = False
    ) -> tuple[TradeEvent, list[OrderUpdate]]:
        """Stamp a trade with now, fill what it crosses, then publish it: (trade, fills)."""
        now = self.now_ms()
        symbol = trade.symbol
        last_id = self.last_trade_id.get(symbol, 0)
        trade_id = trade.trade_id if trade.trade_id > last_id else last_id + 1
        event = TradeEvent(
            symbol, trade_id, trade.price, trade.quantity, now, trade.buyer_market_maker, now
        )
        self.last_trade_id[symbol] = trade_id
        self.last_price[symbol] = trade.price
        if injected:
            self.trades_injected += 1
        else:
            self.trades_replayed += 1
        updates = self.engine.on_trade(event)
        for update in updates:
            self._record_fill(update, trade_id)
            self._report(format_execution_report(update, trade_id))
        for listener in self.trade_listeners:
            listener(event)
        return event, updates

    def next_trade_id(self, symbol: str) -> int:
        return self.last_trade_id.get(symbol, 0) + 1

    def _record_fill(self, update: OrderUpdate, trade_id: int) -> None:
        self.fill_count += 1
        self.fills.setdefault(update.order.order_id, []).append(
            {
                "price": format(update.last_price, "f"),
                "qty": format(update.last_qty, "f"),
                "commission": format(update.commission, "f"),
                "commissionAsset": update.commission_asset,
                "tradeId": trade_id,
                "time": update.event_time,
            }
        )

    # -- orders ------------------------------------------------------------------------------
    def place(
        self, symbol: str, side: Side, price: Decimal, qty: Decimal, client_order_id: str
    ) -> Order:
        """Rest a LIMIT GTC order (engine errors propagate) and report it NEW."""
        order = self.engine.place(symbol, side, price, qty, client_order_id, self.now_ms())
        self._report(format_execution_report(OrderUpdate(order, ZERO, ZERO, ZERO, "", order.time)))
        return order

    def cancel(
        self,
        symbol: str,
        cancel_id: str,
        client_order_id: str | None = None,
        order_id: int | None = None,
    ) -> Order:
        """Cancel an open order and report it CANCELED (`c` = the cancel's own client id)."""
        update = self.engine.cancel(
            symbol, client_order_id=client_order_id, order_id=order_id, time_ms=self.now_ms()
        )
        report = format_execution_report(
            OrderUpdate(update.order, ZERO, ZERO, ZERO, "", update.event_time)
        )
        report["c"], report["C"] = cancel_id, update.order.client_order_id
        self._report(report)
        return update.order

    def _report(self, report: dict[str, Any]) -> None:
        for listener in self.report_listeners:
            listener(report)

    def filter_name(self, symbol: str, detail: str) -> str:
        """Binance's name of the filter that the engine's message `detail` names."""
        name = detail.split(":", 1)[0].strip()
        return self._notional.get(symbol, name) if name == "MIN_NOTIONAL" else name

    # -- views -------------------------------------------------------------------------------
    def ledger(self) -> list[dict[str, Any]]:
        """Every order ever placed, as Binance shows it, each with its fills."""
        return [
            {**format_order(o), "fills": self.fills.get(o.order_id, [])}
            for o in self.engine.ledger()
        ]

    def account(self, omit_zero: bool = False) -> dict[str, Any]:
        """The shape of `GET /api/v3/account`."""
        rate = amount(self.engine.fee)
        balances = [
            {"asset": b.asset, "free": amount(b.free), "locked": amount(b.locked)}
            for b in sorted(self.engine.balances().values(), key=lambda b: b.asset)
            if not (omit_zero and b.total == 0)
        ]
        bps = int(self.engine.fee * 10_000)
        return {
            "makerCommission": bps,
            "takerCommission": bps,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {"maker": rate, "taker": rate, "buyer": amount(ZERO),
                                "seller": amount(ZERO)},
            "canTrade": True,
            "canWithdraw": False,
            "canDeposit": False,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self.now_ms(),
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": 1,
        }  # fmt: skip
