"""The matching engine on Binance's money rules (`Rules.binance()`): examples of each rule,
then a hypothesis state machine checking that money is conserved exactly, nothing goes
negative, a trade never fills more than its quantity per side, and price-time priority holds.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from hedgehog.core.errors import OrderRejected, RejectReason
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import OrderStatus, Side, TradeEvent
from hedgehog.exchange.paper.engine import MatchingEngine
from hedgehog.exchange.paper.rules import Commission, FillMode, Rules

XRP = SymbolFilters("XRPUSDT", "XRP", "USDT", D("0.01"), D("0.1"), min_notional=D("1"))
BNB = SymbolFilters("BNBUSDT", "BNB", "USDT", D("0.01"), D("0.001"), min_notional=D("1"))
BUY, SELL = Side.BUY, Side.SELL


def engine(**rules: object) -> MatchingEngine:
    start = {"USDT": D(1000), "XRP": D(100), "BNB": D(0)}
    return MatchingEngine(
        {"XRPUSDT": XRP, "BNBUSDT": BNB}, balances=start, keep_ledger=True,
        rules=Rules.binance(**rules),  # type: ignore[arg-type]
    )  # fmt: skip


def trade(price: str, qty: str, tid: int = 1, symbol: str = "XRPUSDT") -> TradeEvent:
    return TradeEvent(symbol, tid, D(price), D(qty), 1000 + tid)


def free(e: MatchingEngine, asset: str) -> D:
    return e.balances()[asset].free


def test_a_buy_pays_in_the_coins_bought_a_sell_in_the_quote_asset() -> None:
    e = engine()
    e.submit("XRPUSDT", BUY, "LIMIT", D("10"), "b", 1, D("1"))
    assert e.balances()["USDT"].locked == D("10")  # no fee locked: it is paid in XRP
    (fill,) = e.on_trade(trade("1", "50"))
    assert (fill.commission, fill.commission_asset, fill.is_maker) == (D("0.010"), "XRP", True)
    assert free(e, "XRP") == D("109.990") and free(e, "USDT") == D("990")
    e.submit("XRPUSDT", SELL, "LIMIT", D("9.9"), "s", 2, D("2"))
    (sold,) = e.on_trade(trade("2", "50", 2))
    assert (sold.commission, sold.commission_asset) == (D("0.0198"), "USDT")
    assert free(e, "USDT") == D("990") + D("19.8") - D("0.0198")


def test_volume_fills_in_parts_best_price_first_then_oldest() -> None:
    e = engine()
    a = e.submit("XRPUSDT", BUY, "LIMIT", D("5"), "a", 1, D("1.00"))[0]
    b = e.submit("XRPUSDT", BUY, "LIMIT", D("5"), "b", 2, D("1.01"))[0]
    c = e.submit("XRPUSDT", BUY, "LIMIT", D("5"), "c", 3, D("1.00"))[0]
    fills = e.on_trade(trade("1.00", "7"))
    assert [(u.order.order_id, u.last_qty, u.order.status) for u in fills] == [
        (b.order_id, D("5"), OrderStatus.FILLED),
        (a.order_id, D("2"), OrderStatus.PARTIALLY_FILLED),
    ]
    assert e.get("XRPUSDT", order_id=c.order_id).executed_qty == 0
    canceled = e.cancel("XRPUSDT", order_id=a.order_id, time_ms=5).order
    assert (canceled.status, canceled.executed_qty) == (OrderStatus.CANCELED, D("2"))
    assert e.balances()["USDT"].locked == D("5.00")  # only c's lock is left


def test_market_and_crossing_limit_orders_fill_at_once_at_the_last_price() -> None:
    e = engine()
    with pytest.raises(OrderRejected, match="no trade yet"):
        e.submit("XRPUSDT", BUY, "MARKET", D("1"), "m0", 1)
    e.on_trade(trade("0.50", "1"))
    order, (fill,) = e.submit("XRPUSDT", BUY, "MARKET", None, "m", 2, quote_qty=D("10.04"))
    assert order.status is OrderStatus.FILLED and fill.last_qty == D("20.0")  # floored
    assert (fill.last_price, fill.is_maker, fill.trade_id) == (D("0.50"), False, 2)
    order, (fill,) = e.submit("XRPUSDT", SELL, "LIMIT", D("10"), "x", 3, D("0.40"))
    assert order.status is OrderStatus.FILLED and fill.last_price == D("0.50")  # taker


def test_ioc_and_fok_expire_limit_maker_refuses_to_take() -> None:
    e = engine()
    e.on_trade(trade("0.50", "1"))
    order, (update,) = e.submit("XRPUSDT", BUY, "LIMIT", D("10"), "i", 1, D("0.40"), "IOC")
    assert order.status is OrderStatus.EXPIRED and update.last_qty == 0
    assert e.balances()["USDT"].locked == 0
    with pytest.raises(OrderRejected) as refused:
        e.submit("XRPUSDT", BUY, "LIMIT_MAKER", D("10"), "mk", 2, D("0.50"))
    assert refused.value.reason is RejectReason.WOULD_TAKE
    order, fills = e.submit("XRPUSDT", BUY, "LIMIT_MAKER", D("10"), "mk", 3, D("0.49"))
    assert order.status is OrderStatus.NEW and fills == []


def test_bnb_pays_when_held_and_priced_else_the_received_asset() -> None:
    e = engine(commission="bnb")
    e.submit("XRPUSDT", BUY, "LIMIT", D("10"), "b1", 1, D("1"))
    (fill,) = e.on_trade(trade("1", "10"))
    assert fill.commission_asset == "XRP"  # no BNB held, no BNB price: as received
    e.on_trade(trade("500", "1", 1, "BNBUSDT"))
    _, (bnb,) = e.submit("BNBUSDT", BUY, "LIMIT", D("0.010"), "bnb", 2, D("500"))  # crosses
    assert (bnb.commission, bnb.commission_asset) == (D("0.000010"), "BNB")  # none held yet
    _, (fill,) = e.submit("XRPUSDT", BUY, "LIMIT", D("10"), "b2", 3, D("1"))  # taker at 1
    assert (fill.commission, fill.commission_asset) == (D("0.00002"), "BNB")  # 0.01 USDT / 500
    assert free(e, "BNB") == D("0.00997")


def test_a_sell_above_the_free_coins_is_refused() -> None:
    e = engine()
    with pytest.raises(OrderRejected) as refused:
        e.submit("XRPUSDT", SELL, "LIMIT", D("100.1"), "s", 1, D("1"))
    assert refused.value.reason is RejectReason.INSUFFICIENT_BALANCE


# --- Property tests ---------------------------------------------------------------------------
prices = st.integers(80, 120).map(lambda c: D(c) / 100)
quantities = st.integers(10, 300).map(lambda t: D(t) / 10)


class BinanceRulesMachine(RuleBasedStateMachine):
    """Random orders and trades; the books checked against the fills the engine reported."""

    def __init__(self) -> None:
        super().__init__()
        self.start = {"USDT": D(500), "XRP": D(300)}
        self.engine = MatchingEngine(
            {"XRPUSDT": XRP}, balances=self.start, keep_ledger=True,
            rules=Rules(Commission.RECEIVED, FillMode.VOLUME, D("0.001"), D("0.002"), True),
        )  # fmt: skip
        self.flows = dict.fromkeys(self.start, D(0))
        self.n = 0

    def _account(self, updates: list) -> None:  # type: ignore[type-arg]
        for u in updates:
            if u.last_qty <= 0:
                continue
            notional = u.last_qty * u.last_price
            sign = 1 if u.order.side is BUY else -1
            self.flows["XRP"] += sign * u.last_qty
            self.flows["USDT"] -= sign * notional
            self.flows[u.commission_asset] -= u.commission

    @rule(side=st.sampled_from(Side), kind=st.sampled_from(["LIMIT", "MARKET", "IOC"]),
          price=prices, qty=quantities)  # fmt: skip
    def place(self, side: Side, kind: str, price: D, qty: D) -> None:
        self.n += 1
        tif = "IOC" if kind == "IOC" else "GTC"
        order_type = "MARKET" if kind == "MARKET" else "LIMIT"
        try:
            _, updates = self.engine.submit(
                "XRPUSDT", side, order_type, qty, f"o{self.n}", self.n,
                None if order_type == "MARKET" else price, tif,
            )  # fmt: skip
        except OrderRejected:
            return
        self._account(updates)

    @precondition(lambda self: bool(self.engine.open_orders()))
    @rule(pick=st.integers(0, 10**6))
    def cancel(self, pick: int) -> None:
        open_orders = self.engine.open_orders()
        order = open_orders[pick % len(open_orders)]
        self.n += 1
        self.engine.cancel("XRPUSDT", order_id=order.order_id, time_ms=self.n)

    @rule(price=prices, qty=quantities)
    def trade(self, price: D, qty: D) -> None:
        self.n += 1
        before = {o.order_id: o for o in self.engine.open_orders()}
        updates = self.engine.on_trade(TradeEvent("XRPUSDT", self.n, price, qty, self.n))
        self._account(updates)
        for side in Side:
            mine = [u for u in updates if u.order.side is side]
            assert sum((u.last_qty for u in mine), D(0)) <= qty  # never more than the trade
            filled = {u.order.order_id for u in mine}
            partly = any(u.order.status is OrderStatus.PARTIALLY_FILLED for u in mine)
            for oid, o in before.items():  # price-time priority: none better left waiting
                if o.side is not side or oid in filled or not mine:
                    continue
                worst = mine[-1].order
                better = o.price > worst.price if side is BUY else o.price < worst.price
                assert not better, f"{o} waited while {worst} filled"
                if o.price == worst.price:
                    assert oid > worst.order_id or partly

    @invariant()
    def money_is_conserved_and_never_negative(self) -> None:
        for asset, b in self.engine.balances().items():
            assert b.free >= 0 and b.locked >= 0, (asset, b)
            assert b.free + b.locked == self.start.get(asset, D(0)) + self.flows.get(asset, D(0))

    @invariant()
    def locks_match_open_orders(self) -> None:
        open_orders = self.engine.open_orders()
        balances = self.engine.balances()
        remaining = {o.order_id: o.orig_qty - o.executed_qty for o in open_orders}
        assert balances["XRP"].locked == sum(
            (remaining[o.order_id] for o in open_orders if o.side is SELL), D(0)
        )
        assert balances["USDT"].locked == sum(
            (o.price * remaining[o.order_id] for o in open_orders if o.side is BUY), D(0)
        )

    @invariant()
    def fills_add_up_to_what_each_order_executed(self) -> None:
        for order in self.engine.ledger():
            fills = self.engine.fills("XRPUSDT", order.order_id)
            assert sum((f.qty for f in fills), D(0)) == order.executed_qty <= order.orig_qty


test_binance_rules = BinanceRulesMachine.TestCase
test_binance_rules.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
