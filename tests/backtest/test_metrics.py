"""Backtest metrics (`hedgehog.backtest.metrics`): a tiny ledger computed by hand, the edge
cases, and the real command line (`--json` gains keys, today's keys keep their values)."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from hedgehog.backtest import metrics
from hedgehog.backtest.ledger import summarise
from hedgehog.backtest.report_bars import interval_ends
from hedgehog.backtest.prices import histories_of
from hedgehog.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from hedgehog.core.client_ids import build
from hedgehog.core.filters import parse_exchange_info
from hedgehog.core.types import Order, OrderStatus, Side
from hedgehog.market.bars import bars_from_table
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades
from hedgehog.market.tables import SCALE, TradeTable
from hedgehog.naive.settings import TradingSettings

S = "XRPUSDT"
T0 = 472_222 * 3_600_000  # on an hour's start (UTC)
MIN = 60_000
ANNUAL = math.sqrt(24 * 365)


def _table(points: list[tuple[int, str]]) -> TradeTable:
    n = len(points)
    return TradeTable(
        S,
        trade_id=np.arange(1, n + 1, dtype=np.int64),
        price=np.array([int(Decimal(p) * SCALE) for _, p in points], dtype=np.int64),
        qty=np.full(n, SCALE, dtype=np.int64),
        time=np.array([T0 + m * MIN for m, _ in points], dtype=np.int64),
        buyer_maker=np.zeros(n, dtype=np.bool_),
    )


def _order(
    oid: int, trader: str, side: Side, price: str, placed: int, filled: int | None, qty: str = "5"
) -> Order:
    q, p = Decimal(qty), Decimal(price)
    done = filled is not None
    return Order(
        order_id=oid,
        client_order_id=build(S, trader, 0, side),
        symbol=S,
        side=side,
        price=p,
        orig_qty=q,
        executed_qty=q if done else Decimal(0),
        cumulative_quote_qty=q * p if done else Decimal(0),
        status=OrderStatus.FILLED if done else OrderStatus.NEW,
        time=T0 + placed * MIN,
        update_time=T0 + (filled if done else placed) * MIN,
    )


def _run(
    points: list[tuple[int, str]], ledger: list[Order], fee: str = "0", budget: str = "100"
) -> tuple[BacktestResult, dict[str, TradeTable], BacktestConfig]:
    table = _table(points)
    settings = TradingSettings(S, chunks=2, budget=Decimal(budget), fee=Decimal(fee))
    filters = parse_exchange_info(synthetic_exchange_info([S], "0.0001", "0.1"))
    config = BacktestConfig({S: settings}, filters)
    last = {S: Decimal(int(table.price[-1])) / SCALE}
    summary = summarise(ledger, {S: Decimal(fee)}, last)
    result = BacktestResult(len(table), summary, 0, 0, 0, 0.0, last, ledger)
    return result, {S: table}, config


# Prices (minute after T0: price) and the ledger, fee 0, capital (budget) 100:
#   0: 10   C1's buy placed at 10 (trader t1)
#  10: 10   C1's buy fills: 5 @ 10 (cost 50)
#  30: 11   C1's sell fills 5 @ 11: +5 (a win)
#  50: 11   C2's buy placed at 10 (trader t2)
#  70: 10   C2's buy fills 5 @ 10
# 100:  8   C2's sell fills 5 @ 8: -10 (a loss)
# 110:  9   C3's buy placed at 9 (t3); t4's buy placed at 7, never fills
# 120:  9   C3's buy fills 5 @ 9
# 150: 12   the last trade: C3 unsold, unrealised 5 × (12 - 9) = +15
POINTS = [(0, "10"), (10, "10"), (30, "11"), (50, "11"), (70, "10"), (100, "8"), (110, "9")]
POINTS += [(120, "9"), (150, "12")]
LEDGER = [
    _order(1, "t1", Side.BUY, "10", 0, 10),
    _order(2, "t1", Side.SELL, "11", 10, 30),
    _order(3, "t2", Side.BUY, "10", 50, 70),
    _order(4, "t2", Side.SELL, "8", 70, 100),
    _order(5, "t3", Side.BUY, "9", 110, 120),
    _order(6, "t4", Side.BUY, "7", 110, None),
]


def test_a_ledger_computed_by_hand() -> None:
    m = metrics.compute(*_run(POINTS, LEDGER)).symbols[S]
    # net = realised (5 - 10) + unrealised 15 = 10; on capital 100: 10 %
    assert m.net_pnl == Decimal(10) and m.fees == 0
    assert m.capital == Decimal(100) and m.return_pct == pytest.approx(10.0)
    # Equity per minute: 100 to minute 29, 105 from minute 30 (C1 sold), 95 from minute 100
    # (C2 sold at a loss; C2 held at 10 before, unrealised 0), C3 held at 9 from 120 (0), 110
    # at the last trade (minute 150). Peak 105 → trough 95: drawdown 10, 10 / 105 = 9.5238 %.
    assert m.max_drawdown == Decimal(10)
    assert m.max_drawdown_pct == pytest.approx(100 * 10 / 105)
    # Hourly equity: V = [100 (start), 105 (end of hour 1), 95 (hour 2), 110 (the last trade,
    # hour 3 cut there)]; r = [0.05, 95/105 - 1 = -0.0952381, 110/95 - 1 = 0.1578947].
    # mean = 0.0375522; std (ddof 1) = 0.1270236; Sharpe = 0.0375522 / 0.1270236 × 93.59487
    # = 27.67; downside = sqrt((0 + 0.0952381² + 0) / 3) = 0.0549857; Sortino = 63.92.
    r = [0.05, 95 / 105 - 1, 110 / 95 - 1]
    mean = sum(r) / 3
    std = math.sqrt(sum((x - mean) ** 2 for x in r) / 2)
    down = math.sqrt((95 / 105 - 1) ** 2 / 3)
    assert m.sharpe == pytest.approx(mean / std * ANNUAL) == pytest.approx(27.67, abs=0.01)
    assert m.sortino == pytest.approx(mean / down * ANNUAL) == pytest.approx(63.92, abs=0.01)
    # Cycles: C1 won, C2 lost → win rate 1/2. Durations from the first order to the sell fill:
    # C1 0 → 30 min (1,800 s), C2 50 → 100 min (3,000 s): average 2,400 s, median 2,400 s.
    assert m.cycles_completed == 2 and m.win_rate == 0.5
    assert m.avg_cycle_s == 2400.0 and m.median_cycle_s == 2400.0
    # Held from 10 to 30, 70 to 100, 120 to 150 min: 80 of the 150 minutes spanned.
    assert m.exposure == pytest.approx(80 / 150)
    # Buy and hold: 100 / (10 × (1 + 0)) = 10 coins, worth 120 at 12: +20, 20 %.
    assert m.buy_hold_pnl == Decimal(20) and m.buy_hold_return_pct == pytest.approx(20.0)
    assert m.null_reasons == {}
    run = metrics.compute(*_run(POINTS, LEDGER)).run  # one symbol: the run's figures are its
    assert run.as_json() == m.as_json()


def test_buy_and_hold_and_fees_with_a_fee() -> None:
    result, tables, config = _run(POINTS, LEDGER, fee="0.01")
    m = metrics.compute(result, tables, config).symbols[S]
    # 100 / (10 × 1.01) = 9.9009901 coins, sold at 12 less 1 %: 1188 / 10.1 = 117.6237624;
    # -100 → 17.6237624 (17.62 %)
    assert m.as_json()["buy_hold_pnl"] == "17.62376238"
    assert m.buy_hold_return_pct == pytest.approx(17.6237624)
    # fees: 1 % of every fill's quote amount: 50 + 55 + 50 + 40 + 45 = 240 → 2.4
    assert m.fees == Decimal("2.4")


def test_the_minute_marks_are_the_1m_bars_closes() -> None:
    """The equity curve marks positions at the last trade at or before each minute's end:
    the close of that minute's 1m bar (`bars_from_table`), or of the last bar before it."""
    rng = np.random.default_rng(5)  # 400 trades over 3 hours: some minutes without any
    minutes = np.sort(rng.integers(0, 180, 400))
    table = _table([(int(m), str(rng.integers(90, 110))) for m in minutes])
    grid = interval_ends(int(table.time[0]), int(table.time[-1]), "1m")
    bars = bars_from_table(table, "1m")
    opens = np.array([b.open_time for b in bars], dtype=np.int64)
    closes = np.array([float(b.close) for b in bars])
    expected = closes[np.searchsorted(opens, grid, "right") - 1]  # the last bar opened by then
    prices = histories_of({S: table})[S].price_at(grid)
    assert len(grid) > 10 and np.array_equal(prices, expected)


def test_no_trades_no_cycles_and_one_hour() -> None:
    nothing = metrics.compute(*_run([(0, "10"), (5, "11")], [])).run
    assert nothing.net_pnl == 0 and nothing.cycles_completed == 0
    assert nothing.win_rate is None and nothing.avg_cycle_s is None
    assert nothing.null_reasons["win_rate"] == "no completed cycle"
    assert nothing.exposure == 0 and nothing.max_drawdown == 0
    # one hour only: one hourly return, Sharpe and Sortino undefined, with the reason
    assert nothing.sharpe is None and nothing.sortino is None
    assert "at least 2" in nothing.null_reasons["sharpe"]
    data = nothing.as_json()
    assert data["sharpe"] is None and "sharpe" in data["null_reasons"]
    # open orders only: no cycle either; buy and hold still computed (10 → 11: +10 %)
    opened = metrics.compute(*_run([(0, "10"), (5, "11")], [LEDGER[-1]])).run
    assert opened.cycles_completed == 0 and opened.buy_hold_return_pct == pytest.approx(10.0)
    # flat equity over hours: zero deviation
    flat = metrics.compute(*_run([(0, "10"), (200, "10")], [])).run
    assert flat.sharpe is None and "zero deviation" in flat.null_reasons["sharpe"]


def test_the_formulas_alone() -> None:
    assert metrics.max_drawdown(np.array([100.0, 120, 90, 130, 100])) == (30.0, 25.0)
    assert metrics.exposure([(0, 10), (5, 20), (30, 40)], 0, 100) == 0.3
    assert metrics.sharpe(np.array([0.01]))[0] is None
    assert metrics.sortino(np.array([0.01, 0.02]))[1] == (
        "no negative hourly return (zero downside deviation)"
    )


def _cli(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "hedgehog", "backtest", *args, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_the_command_line_json() -> None:
    data = _cli("--synthetic", "XRPUSDT", "--trades", "20000")
    # today's keys, in today's order and with today's values (the same run through the runner)
    tables = {S: synthetic_trades(S, 20_000, 1)}
    filters = parse_exchange_info(synthetic_exchange_info([S], "0.0001", "0.1"))
    config = BacktestConfig({S: TradingSettings(S)}, filters)
    today = asyncio.run(run_backtest(tables, config)).as_json()
    new = ["symbols", "settings", "metrics", "skipped_rows"]
    assert list(data) == [*today, *new]
    for key in today:
        if key not in ("elapsed_s", "ticks_per_s"):
            assert data[key] == today[key], key
    assert data["ledger_sha256"] == today["ledger_sha256"]
    run = data["metrics"]
    assert isinstance(run, dict) and isinstance(data["symbols"], dict)
    assert data["symbols"][S] == run  # one symbol
    assert Decimal(run["net_pnl"]) == Decimal(today["realised_pnl"]) + Decimal(  # type: ignore[arg-type]
        today["unrealised_pnl"]  # type: ignore[arg-type]
    )
    assert run["capital"] == "1000" and run["fees"] == today["fees_paid"]
    assert data["settings"] == {"strategy": "naive", "symbols": {S: TradingSettings(S).as_dict()}}
    assert data["skipped_rows"] == {}  # synthetic: no files


@pytest.mark.parametrize("commission", ["quote", "received"])
def test_two_symbols(commission: str) -> None:
    data = _cli("--synthetic", "AAAUSDT,BBBUSDT", "--trades", "3000", "--commission", commission)
    run, symbols = data["metrics"], data["symbols"]
    assert isinstance(run, dict) and isinstance(symbols, dict)
    assert set(symbols) == {"AAAUSDT", "BBBUSDT"} and run["capital"] == "2000"
    assert Decimal(run["net_pnl"]) == sum(Decimal(m["net_pnl"]) for m in symbols.values())
    net = Decimal(data["realised_pnl"]) + Decimal(data["unrealised_pnl"])  # type: ignore[arg-type]
    assert Decimal(run["net_pnl"]) == net.quantize(metrics.MONEY)
    assert run["cycles_completed"] == sum(m["cycles_completed"] for m in symbols.values())


def test_skipped_rows_per_file(tmp_path: Path) -> None:
    rows = "".join(f"{i},0.5,10,5,{1700000000000 + i},True,True\n" for i in range(1, 4))
    one = tmp_path / "ABCUSDT-trades-2024-01-02.csv"
    one.write_text(rows + "4,oops,10,5,1700000000004,True,True\n5,x,1,1,1,True,True\n")
    two = tmp_path / "ABCUSDT-trades-2024-01-03.csv"
    two.write_text(rows.replace("17000", "17001") + "9,0.5,zz,5,1700100000009,True,True\n")
    clean = tmp_path / "ABCUSDT-trades-2024-01-04.csv"
    clean.write_text(rows.replace("17000", "17002"))
    filters = ["--tick-size", "0.0001", "--step-size", "0.1", "--skip-bad-rows"]
    data = _cli(str(one), str(two), str(clean), *filters)
    assert data["skipped_rows"] == {str(one): 2, str(two): 1, str(clean): 0}
    alone = _cli(str(clean), *filters)
    assert alone["skipped_rows"] == {str(clean): 0}


def test_the_report_shows_the_metrics(tmp_path: Path) -> None:
    from hedgehog.backtest.report import write_report

    page = write_report(*_run(POINTS, LEDGER), tmp_path).read_text()
    metrics_part = page[page.index("<h2>Metrics</h2>") : page.index("<h2>Data and settings")]
    for shown in ("max drawdown", "9.5238 %", "Sharpe", "27.6694", "50.00 %", "40 min 00 s"):
        assert shown in metrics_part, shown
    assert "<script" not in page and "http" not in metrics_part
