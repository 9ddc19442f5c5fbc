"""Rules of the paper matching engine: fills, balances, fees, locks, rejections, memory."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from hedgehog.core.errors import OrderRejected, RejectReason, UnknownOrder, UnknownSymbol
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.exchange.base import Balance
from hedgehog.exchange.paper.engine import MatchingEngine

XRP = SymbolFilters("XRPUSDT", "XRP", "USDT", D("0.0001"), D("0.1"), min_notional=D("1"))
ETH = SymbolFilters("ETHBTC", "ETH", "BTC", D("0.00001"), D("0.001"), min_notional=D("0.0001"))
FILTERS = {"XRPUSDT": XRP, "ETHBTC": ETH}
BUY, SELL = Side.BUY, Side.SELL


def engine(**kwargs: object) -> MatchingEngine:
    kwargs.setdefault("balances", {"USDT": D(10000), "XRP": D(1000)})
    return MatchingEngine(FILTERS, **kwargs)  # type: ignore[arg-type]


def trade(price: str, time_ms: int = 1000, symbol: str = "XRPUSDT") -> TradeEvent:
    return TradeEvent(symbol, time_ms, D(price), D("1"), time_ms)


def bal(e: MatchingEngine, asset: str) -> tuple[D, D]:
    b = e.balances()[asset]
    return b.free, b.locked


def ids(updates: list[OrderUpdate]) -> list[int]:
    return [u.order.order_id for u in updates]


def test_place_returns_new_order_with_sequential_ids() -> None:
    e = engine()
    first = e.place("XRPUSDT", BUY, D("0.4307"), D("100"), "a", 5)
    second = e.place("XRPUSDT", SELL, D("0.4319"), D("100"), "b", 6)
    assert (first.order_id, second.order_id) == (1, 2)
    assert first.status is OrderStatus.NEW and first.executed_qty == 0
    assert (first.time, first.update_time, first.client_order_id) == (5, 5, "a")
    assert e.open_orders() == [first, second]
    assert e.get("XRPUSDT", client_order_id="b") == second


def test_default_balance_is_10000_usdt() -> None:
    assert MatchingEngine(FILTERS).balances() == {"USDT": Balance("USDT", D(10000), D(0))}


def test_buy_locks_notional_plus_fee_and_fills_at_its_own_price() -> None:
    e = engine()
    e.place("XRPUSDT", BUY, D("0.4307"), D("100"), "a", 1)
    assert bal(e, "USDT") == (D("9956.88693"), D("43.11307"))
    [update] = e.on_trade(trade("0.4300", 77))
    assert update.order.status is OrderStatus.FILLED
    assert (update.last_qty, update.last_price) == (D("100"), D("0.4307"))
    assert (update.commission, update.commission_asset) == (D("0.04307"), "USDT")
    assert update.event_time == 77 and update.order.update_time == 77 and update.order.time == 1
    assert update.order.cumulative_quote_qty == D("43.07")
    assert update.order.executed_qty == D("100")
    assert bal(e, "USDT") == (D("9956.88693"), D(0))
    assert bal(e, "XRP") == (D("1100"), D(0))
    assert e.open_orders() == [] and e.band("XRPUSDT") == (None, None)


def test_sell_locks_base_and_pays_commission_in_quote() -> None:
    e = engine()
    e.place("XRPUSDT", SELL, D("0.4319"), D("100"), "s", 1)
    assert bal(e, "XRP") == (D("900"), D("100"))
    [update] = e.on_trade(trade("0.4400"))
    assert (update.last_price, update.commission, update.commission_asset) == (
        D("0.4319"),
        D("0.04319"),
        "USDT",
    )
    assert bal(e, "XRP") == (D("900"), D(0))
    assert bal(e, "USDT") == (D("10043.14681"), D(0))


def test_commission_asset_is_the_quote_of_the_symbol() -> None:
    e = engine(balances={"BTC": D(1)})
    e.place("ETHBTC", BUY, D("0.05"), D("2"), "e", 1)
    [update] = e.on_trade(trade("0.05", symbol="ETHBTC"))
    assert (update.commission, update.commission_asset) == (D("0.0001"), "BTC")
    assert bal(e, "BTC") == (D("0.8999"), D(0)) and bal(e, "ETH") == (D(2), D(0))


def test_zero_fee() -> None:
    e = engine(fee=D(0))
    e.place("XRPUSDT", BUY, D("0.5"), D("10"), "a", 1)
    [update] = e.on_trade(trade("0.5"))
    assert update.commission == 0 and bal(e, "USDT") == (D("9995"), D(0))


@pytest.mark.parametrize(
    ("side", "price", "fills"),
    [
        (BUY, "0.4306", True),
        (BUY, "0.4307", True),  # equal price fills
        (BUY, "0.4308", False),
        (SELL, "0.4308", True),
        (SELL, "0.4307", True),  # equal price fills
        (SELL, "0.4306", False),
    ],
)
def test_crossing_boundaries(side: Side, price: str, fills: bool) -> None:
    e = engine()
    e.place("XRPUSDT", side, D("0.4307"), D("10"), "o", 1)
    assert len(e.on_trade(trade(price))) == (1 if fills else 0)
    assert len(e.open_orders()) == (0 if fills else 1)


def test_fills_come_in_order_of_placement_not_price() -> None:
    e = engine()
    e.place("XRPUSDT", BUY, D("0.44"), D("10"), "b1", 1)  # 1
    e.place("XRPUSDT", SELL, D("0.40"), D("10"), "s1", 1)  # 2 (the book may be crossed)
    e.place("XRPUSDT", BUY, D("0.46"), D("10"), "b2", 1)  # 3
    e.place("XRPUSDT", BUY, D("0.43"), D("10"), "b3", 1)  # 4: below the trade
    e.place("XRPUSDT", SELL, D("0.41"), D("10"), "s2", 1)  # 5
    updates = e.on_trade(trade("0.44"))
    assert ids(updates) == [1, 2, 3, 5]
    assert [u.last_price for u in updates] == [D("0.44"), D("0.40"), D("0.46"), D("0.41")]
    assert [o.order_id for o in e.open_orders()] == [4]
    assert e.band("XRPUSDT") == (D("0.43"), None)


def test_no_fill_against_a_trade_processed_before_placement() -> None:
    e = engine()
    assert e.on_trade(trade("0.40")) == []
    e.place("XRPUSDT", BUY, D("0.45"), D("10"), "late", 2)
    assert e.on_trade(trade("0.46", 3)) == []
    assert ids(e.on_trade(trade("0.45", 4))) == [1]


def test_trades_only_match_their_symbol_and_unknown_symbols_are_ignored() -> None:
    e = engine()
    e.place("XRPUSDT", BUY, D("0.45"), D("10"), "x", 1)
    assert e.on_trade(trade("0.01", symbol="ETHBTC")) == []
    assert e.on_trade(trade("0.01", symbol="NOPEUSDT")) == []
    assert len(e.open_orders("XRPUSDT")) == 1 and e.open_orders("ETHBTC") == []


def test_band_tracks_best_buy_and_best_sell() -> None:
    e = engine()
    assert e.band("XRPUSDT") == (None, None)
    e.place("XRPUSDT", BUY, D("0.40"), D("10"), "b1", 1)
    e.place("XRPUSDT", BUY, D("0.42"), D("10"), "b2", 1)
    e.place("XRPUSDT", SELL, D("0.50"), D("10"), "s1", 1)
    e.place("XRPUSDT", SELL, D("0.48"), D("10"), "s2", 1)
    assert e.band("XRPUSDT") == (D("0.42"), D("0.48"))
    e.cancel("XRPUSDT", client_order_id="b2", time_ms=2)
    assert e.band("XRPUSDT") == (D("0.40"), D("0.48"))
    e.on_trade(trade("0.49"))
    assert e.band("XRPUSDT") == (D("0.40"), D("0.50"))
    with pytest.raises(UnknownSymbol):
        e.band("NOPE")


def test_cancel_releases_the_lock_and_the_order_never_fills() -> None:
    e = engine()
    e.place("XRPUSDT", BUY, D("0.4307"), D("100"), "a", 1)
    e.place("XRPUSDT", SELL, D("0.5"), D("100"), "s", 1)
    update = e.cancel("XRPUSDT", client_order_id="a", time_ms=9)
    assert update.order.status is OrderStatus.CANCELED and update.order.update_time == 9
    assert (update.last_qty, update.commission, update.event_time) == (D(0), D(0), 9)
    assert bal(e, "USDT") == (D("10000"), D(0))
    e.cancel("XRPUSDT", order_id=2, time_ms=10)
    assert bal(e, "XRP") == (D("1000"), D(0))
    assert e.on_trade(trade("0.1")) == [] and e.on_trade(trade("0.9")) == []
    assert e.get("XRPUSDT", order_id=1).status is OrderStatus.CANCELED
    with pytest.raises(UnknownOrder, match="not open"):
        e.cancel("XRPUSDT", order_id=1, time_ms=11)


def test_cancel_of_filled_or_unknown_order_raises() -> None:
    e = engine()
    e.place("XRPUSDT", BUY, D("0.45"), D("10"), "a", 1)
    e.on_trade(trade("0.45"))
    with pytest.raises(UnknownOrder, match="FILLED"):
        e.cancel("XRPUSDT", client_order_id="a", time_ms=2)
    with pytest.raises(UnknownOrder):
        e.cancel("XRPUSDT", client_order_id="zzz", time_ms=2)
    with pytest.raises(UnknownOrder):
        e.cancel("XRPUSDT", order_id=99, time_ms=2)
    with pytest.raises(UnknownSymbol):
        e.cancel("NOPE", order_id=1, time_ms=2)


def test_get_checks_symbol_and_both_ids() -> None:
    e = engine()
    e.place("XRPUSDT", BUY, D("0.45"), D("10"), "a", 1)
    assert e.get("XRPUSDT", client_order_id="a", order_id=1).order_id == 1
    with pytest.raises(UnknownOrder):
        e.get("XRPUSDT", order_id=1, client_order_id="b")
    with pytest.raises(UnknownOrder):
        e.get("XRPUSDT", order_id=2)
    with pytest.raises(UnknownOrder):
        e.get("ETHBTC", order_id=1)
    with pytest.raises(UnknownOrder):
        e.get("ETHBTC", client_order_id="a")
    with pytest.raises(ValueError, match="client_order_id or order_id"):
        e.get("XRPUSDT")
    with pytest.raises(UnknownSymbol):
        e.get("NOPE", order_id=1)
    with pytest.raises(UnknownSymbol):
        e.open_orders("NOPE")


def rejected(e: MatchingEngine, *args: object) -> OrderRejected:
    before = (e.balances(), e.open_orders(), e.stats())
    with pytest.raises(OrderRejected) as info:
        e.place(*args)  # type: ignore[arg-type]
    assert (e.balances(), e.open_orders(), e.stats()) == before
    return info.value


def test_unknown_symbol_is_checked_first() -> None:
    with pytest.raises(UnknownSymbol, match="NOPE"):
        engine().place("NOPE", BUY, D("-1"), D("1"), "bad id!", 1)


@pytest.mark.parametrize("cid", ["", "x" * 37, "a b", "a.b", "é", "a\n"])
def test_client_order_id_format(cid: str) -> None:
    exc = rejected(engine(), "XRPUSDT", BUY, D("-1"), D("1"), cid, 1)
    assert exc.reason is RejectReason.OTHER and "client order id" in exc.detail


def test_client_order_id_of_36_allowed_characters_is_accepted() -> None:
    e = engine()
    e.place("XRPUSDT", BUY, D("0.5"), D("10"), "aZ09_-" * 6, 1)
    assert len(e.open_orders()) == 1


def test_duplicate_client_order_id_among_open_orders_is_refused() -> None:
    e = engine(balances={"USDT": D(100), "BTC": D(1)})
    e.place("XRPUSDT", BUY, D("0.5"), D("10"), "dup", 1)
    exc = rejected(e, "XRPUSDT", BUY, D("0.12345"), D("10"), "dup", 3)  # duplicate beats filter
    assert exc.reason is RejectReason.DUPLICATE_CLIENT_ORDER_ID and "dup" in exc.detail
    e.place("ETHBTC", BUY, D("0.05"), D("0.01"), "dup", 3)  # unique per symbol, like Binance


@pytest.mark.parametrize("fill", ["filled", "canceled"])
def test_client_order_id_of_a_closed_order_can_be_used_again(fill: str) -> None:
    """As on Binance: only open orders reserve their client id. Re-placing the id of a filled
    order creates a second order, which is why recovery must query before it re-places."""
    e = engine(balances={"USDT": D(100)})
    first = e.place("XRPUSDT", BUY, D("0.5"), D("10"), "dup", 1)
    if fill == "filled":
        e.on_trade(trade("0.5"))
    else:
        e.cancel("XRPUSDT", client_order_id="dup", time_ms=2)
    second = e.place("XRPUSDT", BUY, D("0.4"), D("10"), "dup", 3)
    assert second.order_id != first.order_id
    assert e.get("XRPUSDT", client_order_id="dup") == second  # the latest one
    assert e.get("XRPUSDT", order_id=first.order_id).status.value == fill.upper()


@pytest.mark.parametrize(
    ("price", "qty", "message"),
    [
        ("0", "10", "PRICE_FILTER: price below the minimum"),
        ("0.43071", "10", "PRICE_FILTER: price is not a multiple of the tick size"),
        ("0.5", "0", "LOT_SIZE: quantity below the minimum"),
        ("0.5", "10.05", "LOT_SIZE: quantity is not a multiple of the step size"),
        ("0.5", "1.9", "MIN_NOTIONAL: notional below the minimum"),
        ("0.43071", "1e9", "PRICE_FILTER"),  # filters are checked before the balance
    ],
)
def test_filter_failures(price: str, qty: str, message: str) -> None:
    exc = rejected(engine(), "XRPUSDT", BUY, D(price), D(qty), "f", 1)
    assert exc.reason is RejectReason.FILTER_FAILURE and exc.detail.startswith(message)
    assert message in str(exc)


def test_non_finite_price_is_rejected() -> None:
    exc = rejected(engine(), "XRPUSDT", BUY, D("NaN"), D("10"), "f", 1)
    assert exc.reason is RejectReason.OTHER and "finite" in exc.detail


def test_insufficient_balance_names_asset_needed_and_free() -> None:
    e = engine()
    exc = rejected(e, "XRPUSDT", BUY, D("1"), D("10000"), "big", 1)
    assert exc.reason is RejectReason.INSUFFICIENT_BALANCE
    assert exc.detail == "USDT: needed 10010, free 10000"
    exc = rejected(e, "XRPUSDT", SELL, D("1"), D("1000.1"), "big", 1)
    assert exc.detail == "XRP: needed 1000.1, free 1000"
    exc = rejected(e, "ETHBTC", BUY, D("0.05"), D("1"), "eth", 1)
    assert exc.detail == "BTC: needed 0.05005, free 0"
    e.place("XRPUSDT", BUY, D("1"), D("9990"), "fits", 1)  # 9999.99 <= 10000
    exc = rejected(e, "XRPUSDT", BUY, D("0.5"), D("10"), "more", 1)
    assert exc.detail == "USDT: needed 5.005, free 0.01"


def test_a_rejection_does_not_use_an_order_id() -> None:
    e = engine()
    rejected(e, "XRPUSDT", BUY, D("1"), D("10000"), "big", 1)
    assert e.place("XRPUSDT", BUY, D("0.5"), D("10"), "big", 1).order_id == 1


def test_closed_orders_are_forgotten_oldest_first() -> None:
    e = engine(closed_order_limit=2)
    for i in range(4):
        e.place("XRPUSDT", BUY, D("0.5"), D("10"), f"o{i}", i)
    e.place("XRPUSDT", BUY, D("0.1"), D("10"), "resting", 5)
    for i in (3, 1, 2):
        e.cancel("XRPUSDT", order_id=i, time_ms=6)
    e.on_trade(trade("0.5"))  # fills order 4
    assert e.stats() == {
        "placed": 5,
        "open": 1,
        "filled": 1,
        "canceled": 3,
        "expired": 0,
        "remembered_closed": 2,
        "fills": 1,
    }
    for forgotten in (3, 1):
        with pytest.raises(UnknownOrder):
            e.get("XRPUSDT", order_id=forgotten)
    assert e.get("XRPUSDT", order_id=2).status is OrderStatus.CANCELED
    assert e.get("XRPUSDT", client_order_id="o3").status is OrderStatus.FILLED
    assert e.get("XRPUSDT", order_id=5).status is OrderStatus.NEW
    e.place("XRPUSDT", BUY, D("0.5"), D("10"), "o0", 7)  # a forgotten id can be used again
    with pytest.raises(RuntimeError, match="keep_ledger"):
        e.ledger()


def test_open_orders_are_kept_even_with_no_closed_memory() -> None:
    e = engine(closed_order_limit=0)
    e.place("XRPUSDT", BUY, D("0.5"), D("10"), "a", 1)
    assert e.get("XRPUSDT", client_order_id="a").order_id == 1
    e.on_trade(trade("0.5"))
    with pytest.raises(UnknownOrder):
        e.get("XRPUSDT", client_order_id="a")


def test_ledger_keeps_every_order_in_its_current_state() -> None:
    e = engine(closed_order_limit=0, keep_ledger=True)
    e.place("XRPUSDT", BUY, D("0.5"), D("10"), "a", 1)
    e.place("XRPUSDT", BUY, D("0.4"), D("10"), "b", 1)
    e.place("XRPUSDT", BUY, D("0.3"), D("10"), "c", 1)
    e.cancel("XRPUSDT", order_id=2, time_ms=2)
    e.on_trade(trade("0.45", 3))
    ledger = e.ledger()
    assert [(o.order_id, o.status) for o in ledger] == [
        (1, OrderStatus.FILLED),
        (2, OrderStatus.CANCELED),
        (3, OrderStatus.NEW),
    ]
    assert [o.update_time for o in ledger] == [3, 2, 1]


def test_cancelled_orders_do_not_pile_up_in_the_book() -> None:
    e = engine(balances={"USDT": D(10**6)})
    for i in range(1000):
        e.place("XRPUSDT", BUY, D("0.1") + D(i) / 10000, D("10"), f"o{i}", i)
    for i in range(1, 999):  # cancel everything but the lowest and the best buy
        e.cancel("XRPUSDT", order_id=i + 1, time_ms=i)
    book = e._books["XRPUSDT"]
    assert len(book.buys) < 200
    assert e.band("XRPUSDT") == (D("0.1999"), None)
    assert ids(e.on_trade(trade("0.1"))) == [1, 1000]


def test_assets_fall_back_to_splitting_the_symbol() -> None:
    bare = SymbolFilters("ADAUSDT", "", "", D("0.0001"), D("1"))
    e = MatchingEngine({"ADAUSDT": bare}, balances={"ADA": D(5)})
    assert e.assets("ADAUSDT") == ("ADA", "USDT")
    assert e.filters("ADAUSDT") is bare
    e.place("ADAUSDT", SELL, D("1"), D("5"), "a", 1)
    [update] = e.on_trade(trade("1", symbol="ADAUSDT"))
    assert update.commission_asset == "USDT" and bal(e, "USDT") == (D("4.995"), D(0))


@pytest.mark.parametrize(
    "kwargs",
    [{"fee": D("-0.1")}, {"balances": {"USDT": D(-1)}}, {"closed_order_limit": -1}],
)
def test_invalid_construction(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MatchingEngine(FILTERS, **kwargs)  # type: ignore[arg-type]


def test_non_crossing_trades_leave_a_deep_book_untouched() -> None:
    """Trades inside a band of resting orders fill nothing and change no order. (That they
    cost the same however deep the book is, the O(1) hot path, is `bench/hot_paths.py`'s
    `engine_deep_book_trades_per_s`: a speed is not asserted in the unit suite.)"""
    e = engine(balances={"USDT": D(10**9), "XRP": D(10**9)})
    for i in range(2_000):
        e.place("XRPUSDT", BUY, D("0.2") + D(i % 1000) / 10000, D("10"), f"b{i}", 0)
        e.place("XRPUSDT", SELL, D("0.6") + D(i % 1000) / 10000, D("10"), f"s{i}", 0)
    before = e.open_orders()
    balances = e.balances()
    for i in range(10_000):
        assert e.on_trade(trade(f"0.{4000 + i % 1000}", i)) == []
    assert e.stats()["filled"] == 0
    assert e.open_orders() == before and e.balances() == balances
    # the band's edges still fill: the book was live all along
    updates = e.on_trade(trade("0.2999", 10_001))
    assert {u.order.client_order_id for u in updates} == {"b999", "b1999"}  # the band's top


# --- Property tests: random placements, cancels and trades against a naive model -----------

FEE = D("0.001")
START = {"USDT": D(1000), "XRP": D(500), "ADA": D(500)}
PROP_FILTERS = {
    s: SymbolFilters(s, s[:3], "USDT", D("0.01"), D("0.1"), min_notional=D("1"))
    for s in ("XRPUSDT", "ADAUSDT")
}
MEMORY = 5  # closed orders remembered
symbols = st.sampled_from(sorted(PROP_FILTERS))
prices = st.integers(80, 120).map(lambda cents: D(cents) / 100)  # 0.80 .. 1.20
odd_prices = prices | st.sampled_from([D("0.905"), D("0")])  # these break the tick filter
quantities = st.integers(1, 600).map(lambda tenths: D(tenths) / 10)


class EngineMachine(RuleBasedStateMachine):
    """The engine against a naive model: open orders in a dict, every fill's flows summed."""

    def __init__(self) -> None:
        super().__init__()
        self.engine = MatchingEngine(
            PROP_FILTERS, fee=FEE, balances=START, closed_order_limit=MEMORY, keep_ledger=True
        )
        self.open: dict[int, tuple[str, Side, D, D]] = {}
        self.status: dict[int, OrderStatus] = {}
        self.keys: dict[int, tuple[str, str]] = {}  # order id -> (symbol, client order id)
        self.closed: list[int] = []
        self.flows = dict.fromkeys(START, D(0))
        self.clock = 0

    def locked(self) -> dict[str, D]:
        locked = dict.fromkeys(START, D(0))
        for symbol, side, price, qty in self.open.values():
            if side is BUY:
                locked["USDT"] += price * qty * (1 + FEE)
            else:
                locked[symbol[:3]] += qty
        return locked

    def expected_rejection(self, key: tuple[str, str], side: Side, price: D, qty: D) -> object:
        if key in {self.keys[oid] for oid in self.open}:  # unique among open orders only
            return RejectReason.DUPLICATE_CLIENT_ORDER_ID
        if price in (D("0.905"), D("0")) or price * qty < 1:
            return RejectReason.FILTER_FAILURE
        asset = "USDT" if side is BUY else key[0][:3]
        need = price * qty * (1 + FEE) if side is BUY else qty
        free = START[asset] + self.flows[asset] - self.locked()[asset]
        return RejectReason.INSUFFICIENT_BALANCE if need > free else None

    def close(self, oid: int, status: OrderStatus) -> None:
        del self.open[oid]
        self.status[oid] = status
        self.closed.append(oid)

    @rule(
        symbol=symbols,
        side=st.sampled_from(Side),
        price=odd_prices,
        qty=quantities,
        reuse=st.none() | st.integers(0, 10**6),
    )
    def place(self, symbol: str, side: Side, price: D, qty: D, reuse: int | None) -> None:
        self.clock += 1
        used = sorted(self.keys)
        cid = (
            f"c{self.clock}" if reuse is None or not used else self.keys[used[reuse % len(used)]][1]
        )
        expected = self.expected_rejection((symbol, cid), side, price, qty)
        before = (self.engine.balances(), self.engine.open_orders())
        try:
            order = self.engine.place(symbol, side, price, qty, cid, self.clock)
        except OrderRejected as exc:
            assert exc.reason is expected
            assert (self.engine.balances(), self.engine.open_orders()) == before
            return
        assert expected is None
        assert order.order_id == len(self.status) + 1 and order.status is OrderStatus.NEW
        self.open[order.order_id] = (symbol, side, price, qty)
        self.status[order.order_id] = OrderStatus.NEW
        self.keys[order.order_id] = (symbol, cid)

    @precondition(lambda self: bool(self.open))
    @rule(pick=st.integers(0, 10**6), by_client=st.booleans())
    def cancel(self, pick: int, by_client: bool) -> None:
        oid = sorted(self.open)[pick % len(self.open)]
        symbol, cid = self.keys[oid]
        self.clock += 1
        if by_client:
            update = self.engine.cancel(symbol, client_order_id=cid, time_ms=self.clock)
        else:
            update = self.engine.cancel(symbol, order_id=oid, time_ms=self.clock)
        assert update.order.order_id == oid and update.order.status is OrderStatus.CANCELED
        self.close(oid, OrderStatus.CANCELED)

    @rule(symbol=symbols, price=prices)
    def trade(self, symbol: str, price: D) -> None:
        self.clock += 1
        expected = sorted(
            oid
            for oid, (sym, side, limit, _) in self.open.items()
            if sym == symbol and (limit >= price if side is BUY else limit <= price)
        )
        updates = self.engine.on_trade(TradeEvent(symbol, self.clock, price, D(1), self.clock))
        assert ids(updates) == expected  # every crossing order, in order id order
        for update in updates:
            _, side, limit, qty = self.open[update.order.order_id]
            assert limit >= price if side is BUY else limit <= price  # never the wrong side
            assert (update.last_price, update.last_qty) == (limit, qty)  # own limit price, full
            assert update.commission == limit * qty * FEE and update.commission_asset == "USDT"
            assert update.order.status is OrderStatus.FILLED and update.event_time == self.clock
            sign = 1 if side is BUY else -1
            self.flows[symbol[:3]] += sign * qty
            self.flows["USDT"] -= sign * limit * qty + update.commission
            self.close(update.order.order_id, OrderStatus.FILLED)

    @invariant()
    def balances_are_conserved_and_locks_match_open_orders(self) -> None:
        balances, locked = self.engine.balances(), self.locked()
        for asset, start in START.items():
            b = balances[asset]
            assert b.free >= 0
            assert b.locked == locked[asset]
            assert b.total == start + self.flows[asset]

    @invariant()
    def book_matches_the_model(self) -> None:
        assert [o.order_id for o in self.engine.open_orders()] == sorted(self.open)
        ledger = [o.status for o in self.engine.ledger()]
        assert ledger == [self.status[oid] for oid in sorted(self.status)]
        for symbol in PROP_FILTERS:
            orders = [(side, p) for s, side, p, _ in self.open.values() if s == symbol]
            best_buy = max((p for side, p in orders if side is BUY), default=None)
            best_sell = min((p for side, p in orders if side is SELL), default=None)
            assert self.engine.band(symbol) == (best_buy, best_sell)


EngineMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_engine_rules = EngineMachine.TestCase


# -- MARKET orders ---------------------------------------------------------------------------
def test_a_market_order_fills_whole_at_the_last_trade_price_as_taker() -> None:
    e = engine(keep_fills=True)
    e.on_trade(trade("0.5", 7))
    order, (fill,) = e.submit("XRPUSDT", SELL, "MARKET", D("100"), "m", 8)
    assert (order.status, order.executed_qty, order.cumulative_quote_qty) == (
        OrderStatus.FILLED, D(100), D(50))  # fmt: skip
    assert (fill.last_price, fill.trade_id, fill.is_maker, fill.commission) == (
        D("0.5"), 8, False, D("0.05"))  # fmt: skip
    assert bal(e, "XRP") == (D(900), D(0)) and bal(e, "USDT") == (D("10049.95"), D(0))
    assert e.stats()["filled"] == 1 and e.open_orders() == []


@settings(max_examples=150, deadline=None)
@given(
    prices=st.lists(st.integers(4000, 6000), min_size=1, max_size=30),
    resting=st.lists(st.tuples(st.sampled_from(Side), st.integers(4000, 6000)), max_size=4),
    side=st.sampled_from(Side),
)
def test_a_market_order_fills_the_same_when_the_trades_inside_the_band_are_skipped(
    prices: list[int], resting: list[tuple[Side, int]], side: Side
) -> None:
    """The skip-ahead replay delivers only the trades outside the engine's band (and the one a
    trader reacts to): a MARKET order placed then fills exactly as with every trade."""
    every, skipping = engine(keep_ledger=True), engine(keep_ledger=True)
    for e in (every, skipping):
        for n, (rest_side, units) in enumerate(resting):
            e.place("XRPUSDT", rest_side, D(units) / 10000, D("10"), f"r{n}", 0)
    for n, units in enumerate(prices, 1):
        t = TradeEvent("XRPUSDT", n, D(units) / 10000, D("1"), n)
        every.on_trade(t)
        low, high = skipping.band("XRPUSDT")
        inside = (low is None or low < t.price) and (high is None or t.price < high)
        if not inside or n == len(prices):  # the last trade is the one a trader reacts to
            skipping.on_trade(t)
    placed = [e.submit("XRPUSDT", side, "MARKET", D("10"), "m", 99) for e in (every, skipping)]
    assert placed[0] == placed[1]
    order, (fill,) = placed[0]
    assert fill.last_price == D(prices[-1]) / 10000 and order.executed_qty == D(10)
    assert every.ledger() == skipping.ledger() and every.balances() == skipping.balances()
    assert every.fills("XRPUSDT") == skipping.fills("XRPUSDT")


def test_a_market_order_is_not_held_to_the_tick_only_to_the_lot_and_the_notional() -> None:
    """Binance applies PRICE_FILTER to prices sent; a MARKET order sends none. Old trades (the
    real day's) lie off today's tick: a MARKET order still fills at such a price."""
    e = engine()
    e.on_trade(trade("0.38535"))  # off XRP's tick of 0.0001
    order, (fill,) = e.submit("XRPUSDT", SELL, "MARKET", D("10"), "m", 2)
    assert order.status is OrderStatus.FILLED and fill.last_price == D("0.38535")
    for qty, problem in (("10.05", "step size"), ("2", "MIN_NOTIONAL"), ("0", "LOT_SIZE")):
        with pytest.raises(OrderRejected, match=problem):
            e.submit("XRPUSDT", SELL, "MARKET", D(qty), "n", 3)
