"""Backtests on the project's own synthetic market: exact, repeatable, chaos-invariant, and
the summary agrees with the ledger."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from hedgehog.backtest.ledger import summarise
from hedgehog.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from hedgehog.core.errors import ConfigError
from hedgehog.core.filters import parse_exchange_info
from hedgehog.core.types import OrderStatus, Side
from hedgehog.market.merge import merge_order
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades
from hedgehog.naive.settings import TradingSettings

SYMBOLS = ["AAAUSDT", "BBBUSDT"]


def _run(n: int = 20_000, **extra: object) -> BacktestResult:
    tables = {s: synthetic_trades(s, n, seed=i + 3) for i, s in enumerate(SYMBOLS)}
    filters = parse_exchange_info(synthetic_exchange_info(SYMBOLS, "0.0001", "0.1"))
    settings = {s: TradingSettings(s, chunks=3, budget=Decimal(300)) for s in SYMBOLS}
    return asyncio.run(run_backtest(tables, BacktestConfig(settings, filters, **extra)))  # type: ignore[arg-type]


def _stable(result: BacktestResult) -> dict[str, object]:
    data = result.as_json()
    for key in ("elapsed_s", "ticks_per_s", "restarts"):
        data.pop(key)
    return data


@pytest.fixture(scope="module")
def baseline() -> BacktestResult:
    return _run()


def test_two_symbols_trade_and_repeat_exactly(baseline: BacktestResult) -> None:
    assert baseline.ticks == 40_000
    assert {o.symbol for o in baseline.ledger} == set(SYMBOLS)
    assert baseline.summary.cycles_completed > 0
    assert _stable(_run()) == _stable(baseline)


def test_chaos_invariance_across_traders_leaders_and_symbols(baseline: BacktestResult) -> None:
    chaotic = _run(chaos_kills=30, chaos_seed=5, chaos_targets=("trader", "leader", "symbol"))
    assert chaotic.kills == 30
    assert _stable(chaotic) == _stable(baseline)


def test_no_duplicate_or_orphan_orders(baseline: BacktestResult) -> None:
    ids = [o.client_order_id for o in baseline.ledger]
    assert len(ids) == len(set(ids))
    sells = {o.client_order_id[:-1] for o in baseline.ledger if o.side == Side.SELL}
    for o in baseline.ledger:
        if o.side == Side.BUY and o.status == OrderStatus.FILLED:
            assert o.client_order_id[:-1] in sells  # every filled buy has its sell
        if o.side == Side.SELL:
            assert o.client_order_id[:-1] + "B" in ids  # every sell has its buy


def test_summary_matches_the_ledger(baseline: BacktestResult) -> None:
    fees = dict.fromkeys(SYMBOLS, Decimal("0.001"))
    again = summarise(baseline.ledger, fees, baseline.last_prices)
    assert again.as_json() == baseline.summary.as_json()
    s = baseline.summary
    assert s.orders_placed == len(baseline.ledger)
    filled = [o for o in baseline.ledger if o.status == OrderStatus.FILLED]
    assert s.fees_paid == sum(
        (o.price * o.executed_qty * Decimal("0.001") for o in filled), Decimal(0)
    )


def test_merge_order_interleaves_by_time_then_symbol_then_id() -> None:
    a = synthetic_trades("AAAUSDT", 500, seed=1)
    b = synthetic_trades("BBBUSDT", 500, seed=2)
    _, which, rows = merge_order({"AAAUSDT": a, "BBBUSDT": b})
    keys = [
        (int((a if w == 0 else b).time[r]), int(w), int((a if w == 0 else b).trade_id[r]))
        for w, r in zip(which.tolist(), rows.tolist(), strict=True)
    ]
    assert keys == sorted(keys)
    assert len(keys) == 1000


def test_missing_filters_is_a_clear_error() -> None:
    tables = {"AAAUSDT": synthetic_trades("AAAUSDT", 10, seed=1)}
    config = BacktestConfig({"AAAUSDT": TradingSettings("AAAUSDT")}, {})
    with pytest.raises(ConfigError, match="AAAUSDT"):
        asyncio.run(run_backtest(tables, config))


def test_commission_in_the_coins_bought_sells_fewer_coins_and_is_chaos_invariant() -> None:
    """`--commission received` (Binance's rule): each sell is the buy's quantity less its
    commission, floored to the step; repeatable, and the same under chaos."""
    received = _run(10_000, commission="received")
    assert received.summary.cycles_completed > 0
    buys = {o.client_order_id[:-1]: o for o in received.ledger if o.side == Side.BUY}
    fee = Decimal("0.001")
    for sell in (o for o in received.ledger if o.side == Side.SELL):
        bought = buys[sell.client_order_id[:-1]].executed_qty
        held = bought - bought * fee
        assert sell.orig_qty == held - held % Decimal("0.1") < bought
    quote = _run(10_000)
    assert received.summary.realised_pnl < quote.summary.realised_pnl  # fewer coins sold
    chaotic = _run(10_000, commission="received", chaos_kills=10, chaos_seed=2)
    assert _stable(chaotic) == _stable(received)


def test_the_summary_of_buys_paid_in_coins() -> None:
    """Realised PnL of a cycle whose buy paid its commission in coins: the sell's quote net of
    its fee, less the buy's whole quote cost."""
    from hedgehog.core.types import Order

    buy = Order(1, "S-1-0B", "XRPUSDT", Side.BUY, Decimal("1"), Decimal("10"), Decimal("10"),
                Decimal("10"), OrderStatus.FILLED)  # fmt: skip
    sell = Order(2, "S-1-0S", "XRPUSDT", Side.SELL, Decimal("1.1"), Decimal("9.9"),
                 Decimal("9.9"), Decimal("10.89"), OrderStatus.FILLED)  # fmt: skip
    fees, last = {"XRPUSDT": Decimal("0.001")}, {"XRPUSDT": Decimal("1")}
    coins = summarise([buy, sell], fees, last, paid_in_coins={1})
    assert coins.realised_pnl == Decimal("9.9") * Decimal("1.1") * Decimal("0.999") - 10
    quote = summarise([buy, sell], fees, last)
    assert quote.realised_pnl == Decimal("9.9") * (
        Decimal("1.1") * Decimal("0.999") - Decimal("1.001")
    )
