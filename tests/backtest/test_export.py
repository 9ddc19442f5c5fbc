"""Backtest exports (`hedgehog.backtest.export`): the hand-made ledger of test_metrics written
out and every row checked, CSV and Parquet holding the same content, and the real day."""

from __future__ import annotations

import asyncio
import csv
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hedgehog.backtest import export, metrics
from hedgehog.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from hedgehog.core.errors import ConfigError
from hedgehog.core.filters import load_exchange_info
from hedgehog.core.types import Fill, OrderStatus, Side
from hedgehog.market.loaders import load_trades
from hedgehog.naive.settings import TradingSettings
from tests.backtest.test_metrics import LEDGER, MIN, POINTS, T0, _run
from tests.conftest import shared_data_dir

NAMES = [f"{t}.{x}" for t in ("orders", "fills", "cycles", "equity") for x in ("parquet", "csv")]


def iso(minute: int) -> str:
    """T0 (2023-11-14T22:00:00Z) + `minute` minutes, as the exports write it."""
    at = datetime(2023, 11, 14, 22, tzinfo=UTC) + timedelta(minutes=minute)
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _csv(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _parquet_as_csv(path: Path) -> list[list[str]]:
    table = pq.read_table(path)
    return [table.column_names] + [[_as_text(v) for v in row.values()] for row in table.to_pylist()]


def _fills() -> list[Fill]:
    """The fills of LEDGER's five filled orders, fee 0.001 paid in USDT, given out of order."""

    def fill(oid: int, trade: int, side: Side, price: str, minute: int) -> Fill:
        quote = Decimal(5) * Decimal(price)
        return Fill(
            "XRPUSDT", oid, trade, side, Decimal(price), Decimal(5), quote,
            quote * Decimal("0.001"), "USDT", T0 + minute * MIN, is_maker=oid != 3,
        )  # fmt: skip

    return [
        fill(5, 8, Side.BUY, "9", 120),
        fill(1, 2, Side.BUY, "10", 10),
        fill(2, 3, Side.SELL, "11", 30),
        fill(4, 6, Side.SELL, "8", 100),
        fill(3, 5, Side.BUY, "10", 70),
    ]


@pytest.fixture
def written(tmp_path: Path) -> Path:
    result, tables, config = _run(POINTS, LEDGER)
    result.fills = _fills()
    paths = export.write_exports(result, config, tmp_path / "out", tables)
    assert [p.name for p in paths] == NAMES
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(NAMES)  # no scratch
    return tmp_path / "out"


def test_orders_by_hand(written: Path) -> None:
    rows = _csv(written / "orders.csv")
    assert rows[0] == [
        "order_id", "client_order_id", "symbol", "side", "type", "price", "orig_qty",
        "executed_qty", "cumulative_quote_qty", "status", "time_ms", "time", "update_time_ms",
        "update_time", "trader", "cycle",
    ]  # fmt: skip

    def row(
        oid: int, trader: str, side: str, price: str, placed: int, filled: int | None
    ) -> list[str]:
        done = filled is not None
        quote = str(5 * int(price)) if done else "0"
        cid = f"XRPUSDT-{trader}-0{side[0]}"
        at = placed if filled is None else filled
        return [
            str(oid), cid, "XRPUSDT", side, "LIMIT", price, "5", "5" if done else "0", quote,
            "FILLED" if done else "NEW", str(T0 + placed * MIN), iso(placed),
            str(T0 + at * MIN), iso(at), trader, f"{trader}-0",
        ]  # fmt: skip

    assert rows[1:] == [
        row(1, "t1", "BUY", "10", 0, 10),
        row(2, "t1", "SELL", "11", 10, 30),
        row(3, "t2", "BUY", "10", 50, 70),
        row(4, "t2", "SELL", "8", 70, 100),
        row(5, "t3", "BUY", "9", 110, 120),
        row(6, "t4", "BUY", "7", 110, None),
    ]
    assert rows[1][11] == "2023-11-14T22:00:00.000Z"  # T0, spelled out once


def test_fills_in_time_order(written: Path) -> None:
    rows = _csv(written / "fills.csv")
    assert rows[0] == [
        "order_id", "trade_id", "symbol", "side", "price", "qty", "quote_qty", "commission",
        "commission_asset", "time_ms", "time", "is_maker",
    ]  # fmt: skip
    assert rows[1:] == [
        ["1", "2", "XRPUSDT", "BUY", "10", "5", "50", "0.05", "USDT", str(T0 + 10 * MIN),
         iso(10), "true"],
        ["2", "3", "XRPUSDT", "SELL", "11", "5", "55", "0.055", "USDT", str(T0 + 30 * MIN),
         iso(30), "true"],
        ["3", "5", "XRPUSDT", "BUY", "10", "5", "50", "0.05", "USDT", str(T0 + 70 * MIN),
         iso(70), "false"],
        ["4", "6", "XRPUSDT", "SELL", "8", "5", "40", "0.04", "USDT", str(T0 + 100 * MIN),
         iso(100), "true"],
        ["5", "8", "XRPUSDT", "BUY", "9", "5", "45", "0.045", "USDT", str(T0 + 120 * MIN),
         iso(120), "true"],
    ]  # fmt: skip


def test_cycles_by_hand(written: Path) -> None:
    rows = _csv(written / "cycles.csv")
    assert rows[0] == [
        "symbol", "trader", "cycle", "status", "start_ms", "start", "buy_order_id", "buy_price",
        "buy_qty", "buy_filled_ms", "buy_filled", "sell_order_id", "sell_price", "sell_qty",
        "sell_filled_ms", "sell_filled", "pnl", "duration_ms",
    ]  # fmt: skip

    def t(m: int) -> list[str]:
        return [str(T0 + m * MIN), iso(m)]

    none = ["", "", "", "", ""]
    # fee 0: C1 5 × (11 - 10) = 5 in 30 min; C2 5 × (8 - 10) = -10 in 50 min (from 50 to 100)
    assert rows[1:] == [
        ["XRPUSDT", "t1", "t1-0", "completed", *t(0), "1", "10", "5", *t(10), "2", "11", "5",
         *t(30), "5", str(30 * MIN)],
        ["XRPUSDT", "t2", "t2-0", "completed", *t(50), "3", "10", "5", *t(70), "4", "8", "5",
         *t(100), "-10", str(50 * MIN)],
        ["XRPUSDT", "t3", "t3-0", "holding", *t(110), "5", "9", "5", *t(120), *none, "", ""],
        ["XRPUSDT", "t4", "t4-0", "open", *t(110), "6", "7", "5", "", "", *none, "", ""],
    ]  # fmt: skip


def test_cycle_pnl_with_a_fee_and_a_cancelled_buy(tmp_path: Path) -> None:
    cancelled = replace(LEDGER[-1], status=OrderStatus.CANCELED)
    result, _, config = _run(POINTS, [*LEDGER[:-1], cancelled], fee="0.01")
    cols = export.cycles_columns(result, config)
    # C1: 5 × 11 × 0.99 - 5 × 10 × 1.01 = 54.45 - 50.5 = 3.95; C2: 39.6 - 50.5 = -10.9
    assert cols["pnl"] == ["3.95", "-10.9", None, None]
    assert cols["status"] == ["completed", "completed", "holding", "cancelled"]


def test_equity_per_minute_by_hand(written: Path) -> None:
    """test_metrics' curve: capital 100 at the first trade; each minute's end: 100 to minute
    29, 105 from 30 (C1 sold), 95 from 100 (C2 sold at a loss), 110 at the last trade
    (minute 150: C3 held at 12)."""
    rows = _csv(written / "equity.csv")
    assert rows[0] == ["time_ms", "time", "XRPUSDT", "total"]
    times = [T0] + [T0 + m * MIN + MIN - 1 for m in range(150)] + [T0 + 150 * MIN]
    values = [100.0] * 31 + [105.0] * 70 + [95.0] * 50 + [110.0]
    assert [int(r[0]) for r in rows[1:]] == times
    assert [float(r[2]) for r in rows[1:]] == values == [float(r[3]) for r in rows[1:]]
    assert rows[1][1] == iso(0) and rows[2][1] == "2023-11-14T22:00:59.999Z"
    # the very curve of the metrics (per symbol and total)
    result, tables, config = _run(POINTS, LEDGER)
    curve = metrics.equity_curve(result, config, tables)
    assert curve.start == T0 and curve.times.tolist() == times[1:]
    assert curve.total().tolist() == values[1:] == curve.equity("XRPUSDT").tolist()


def test_csv_and_parquet_hold_the_same(written: Path) -> None:
    for name in ("orders", "fills", "cycles", "equity"):
        assert _parquet_as_csv(written / f"{name}.parquet") == _csv(written / f"{name}.csv")
        # polars reads both alike: the CSV's text is the Parquet's values
        frame = pl.read_parquet(written / f"{name}.parquet")
        text = pl.read_csv(written / f"{name}.csv", infer_schema=False)
        floats = [c for c, t in frame.schema.items() if t == pl.Float64]
        assert frame.drop(floats).cast(pl.String).equals(text.drop(floats))
        assert all(frame[c].to_list() == [float(v) for v in text[c].to_list()] for c in floats)
    schema = pq.read_schema(written / "cycles.parquet")
    assert schema.field("pnl").type == pa.string()  # exact Decimal text
    assert schema.field("buy_filled_ms").type == pa.int64()
    assert pq.read_schema(written / "fills.parquet").field("is_maker").type == pa.bool_()
    assert pq.read_schema(written / "equity.parquet").field("total").type == pa.float64()


def test_nothing_traded_and_a_bad_directory(tmp_path: Path) -> None:
    result, tables, config = _run([(0, "10"), (5, "11")], [])
    paths = export.write_exports(result, config, tmp_path / "a" / "b", tables)
    assert [len(_csv(p)) for p in paths if p.suffix == ".csv"] == [1, 1, 1, 8]
    assert pq.read_table(tmp_path / "a" / "b" / "orders.parquet").num_rows == 0
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="cannot write the exports into"):
        export.write_exports(result, config, tmp_path / "file" / "x", tables)


def test_a_stopped_export_leaves_no_half_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped while writing (here: the cycles' Parquet fails): none of the final names
    holds a partial file, and the scratch directory is gone."""
    result, tables, config = _run(POINTS, LEDGER)
    write = export._write_parquet

    def failing(columns: export.Columns, path: Path) -> None:
        if path.stem == "cycles":
            raise KeyboardInterrupt
        write(columns, path)

    monkeypatch.setattr(export, "_write_parquet", failing)
    with pytest.raises(KeyboardInterrupt):
        export.write_exports(result, config, tmp_path, tables)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.shared_data
def test_the_real_day(tmp_path: Path) -> None:
    data = shared_data_dir("XRPUSDT-trades-2019-05-25.zip", "exchangeInfo.json")
    tables = load_trades([data / "XRPUSDT-trades-2019-05-25.zip"], symbol="XRPUSDT").tables
    filters = load_exchange_info(data / "exchangeInfo.json")
    config = BacktestConfig(
        {"XRPUSDT": TradingSettings("XRPUSDT")}, {"XRPUSDT": filters["XRPUSDT"]}
    )
    result: BacktestResult = asyncio.run(run_backtest(tables, config))
    export.write_exports(result, config, tmp_path)
    summary = result.summary
    orders = pl.read_parquet(tmp_path / "orders.parquet")
    assert len(orders) == summary.orders_placed > 50
    fills = pl.read_parquet(tmp_path / "fills.parquet")
    assert len(fills) == summary.buys_filled + summary.sells_filled  # one fill an order
    # each order's executed quantity is its fills' sum, exactly
    executed = {r["order_id"]: Decimal(r["executed_qty"]) for r in orders.iter_rows(named=True)}
    per_order: dict[int, Decimal] = {}
    for r in fills.iter_rows(named=True):
        per_order[r["order_id"]] = per_order.get(r["order_id"], Decimal(0)) + Decimal(r["qty"])
    assert per_order == {k: v for k, v in executed.items() if v}
    m = metrics.compute(result, None, config)
    cycles = pl.read_csv(tmp_path / "cycles.csv", infer_schema=False)
    completed = cycles.filter(pl.col("status") == "completed")
    assert len(completed) == m.run.cycles_completed == summary.cycles_completed
    assert sum(Decimal(p) for p in completed["pnl"]) == summary.realised_pnl
    equity = pl.read_parquet(tmp_path / "equity.parquet")
    assert m.run.capital is not None
    assert equity["total"][-1] == pytest.approx(float(m.run.capital + m.run.net_pnl), abs=1e-6)
    assert equity["time_ms"][-1] == int(tables["XRPUSDT"].time[-1])
    assert len(equity) == 1 + 24 * 60  # the capital, then every minute of the day
    assert np.all(np.diff(equity["time_ms"].to_numpy()) > 0)
