"""The simulated account and market: the `MatchingEngine`, its fills and the events it emits.

Every trade (replayed or injected) goes through `process_trade`: it is stamped with the wall
clock, matched by the engine first (each fill becomes an `executionReport` for the user data
streams and an entry of the ledger), then published to the trade-stream subscribers. An order
that fills at once (MARKET, or a LIMIT crossing the last price) is reported NEW then TRADE, and
its fill is published as a public trade too, as Binance prints it on the trade stream.

The money rules are Binance's by default (`Rules.binance()`: commission in the received asset,
fills up to each trade's quantity); `hedgehog exchange serve --commission/--fills` changes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from hedgehog.core.decimals import ZERO
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Fill, Order, OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.exchange.binance.wire import format_execution_report, format_order
from hedgehog.exchange.paper.engine import MatchingEngine
from hedgehog.exchange.paper.rules import Rules

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
        rules: Rules | None = None,
    ) -> None:
        rules = rules if rules is not None else Rules.binance(maker_fee=fee, taker_fee=fee)
        self.engine = MatchingEngine(filters, balances=balances, keep_ledger=True, rules=rules)
        self.rules = rules
        self.symbols = list(filters)
        self.exchange_info = exchange_info
        self.now_ms = now_ms
        self.last_price: dict[str, Decimal] = {}
        self.last_trade_id: dict[str, int] = {}
        self.trades_replayed = 0
        self.trades_injected = 0
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
            self._report(format_execution_report(update))
        for listener in self.trade_listeners:
            listener(event)
        return event, updates

    @property
    def fill_count(self) -> int:
        return self.engine.stats()["fills"]

    def next_trade_id(self, symbol: str) -> int:
        return self.last_trade_id.get(symbol, 0) + 1

    # -- orders ------------------------------------------------------------------------------
    def place(
        self,
        symbol: str,
        side: Side,
        order_type: str,
        qty: Decimal | None,
        client_order_id: str,
        price: Decimal | None = None,
        time_in_force: str = "GTC",
        quote_qty: Decimal | None = None,
    ) -> tuple[Order, list[OrderUpdate]]:
        """Place any order (engine errors propagate); report it NEW, then its immediate fills
        or expiry. (the order now, those updates)."""
        order, updates = self.engine.submit(
            symbol, side, order_type, qty, client_order_id, self.now_ms(), price,
            time_in_force, quote_qty,
        )  # fmt: skip
        new = Order(
            order.order_id, order.client_order_id, symbol, order.side, order.price,
            order.orig_qty, ZERO, ZERO, OrderStatus.NEW, order.time, order.time,
            order.order_type, order.time_in_force,
        )  # fmt: skip
        self._report(format_execution_report(OrderUpdate(new, ZERO, ZERO, ZERO, "", order.time)))
        for update in updates:
            self._report(format_execution_report(update))
            if update.last_qty > 0:
                self._print(update)
        return order, updates

    def _print(self, update: OrderUpdate) -> None:
        """Publish an immediate fill as a public trade (no matching: it is the match)."""
        symbol = update.symbol
        trade = TradeEvent(
            symbol, update.trade_id, update.last_price, update.last_qty, update.event_time,
            update.order.side is Side.SELL, update.event_time,
        )  # fmt: skip
        self.last_trade_id[symbol] = max(update.trade_id, self.last_trade_id.get(symbol, 0))
        self.last_price[symbol] = update.last_price
        for listener in self.trade_listeners:
            listener(trade)

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
        fills: dict[int, list[dict[str, Any]]] = {}
        for symbol in self.symbols:
            for fill in self.engine.fills(symbol):
                fills.setdefault(fill.order_id, []).append(format_fill(fill))
        return [
            {**format_order(o), "fills": fills.get(o.order_id, [])} for o in self.engine.ledger()
        ]

    def account(self, omit_zero: bool = False) -> dict[str, Any]:
        """The shape of `GET /api/v3/account`."""
        maker, taker = amount(self.rules.maker_fee), amount(self.rules.taker_fee)
        balances = [
            {"asset": b.asset, "free": amount(b.free), "locked": amount(b.locked)}
            for b in sorted(self.engine.balances().values(), key=lambda b: b.asset)
            if not (omit_zero and b.total == 0)
        ]
        return {
            "makerCommission": int(self.rules.maker_fee * 10_000),
            "takerCommission": int(self.rules.taker_fee * 10_000),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {"maker": maker, "taker": taker, "buyer": amount(ZERO),
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


def format_fill(fill: Fill) -> dict[str, Any]:
    """One fill as the ledger and a new order's FULL answer show it."""
    return {
        "price": format(fill.price, "f"),
        "qty": format(fill.qty, "f"),
        "commission": format(fill.commission, "f"),
        "commissionAsset": fill.commission_asset,
        "tradeId": fill.trade_id,
        "time": fill.time,
        "isMaker": fill.is_maker,
    }
