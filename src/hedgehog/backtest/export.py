"""A backtest's orders, fills, cycles and equity curve as files (`hedgehog backtest --export`):
each table as Parquet and as CSV with the very same content.

- `orders`: every order of the ledger, in order id order; `trader` and `cycle` are read from
  its client order id (empty for an order that is not a trader's).
- `fills`: every fill the paper exchange made (`BacktestResult.fills`), in time order.
- `cycles`: one row per trader cycle (`report_model.group_cycles`): status `completed` (buy and
  sell filled), `holding` (buy filled, sell not), `cancelled` (the buy died unfilled) or
  `open` (the buy still on the book); `pnl` is `core.pnl.cycle_pnl` of a completed cycle and
  `duration_ms` runs from its first order to its sell fill (both null otherwise).
- `equity`: the curve the metrics read (`metrics.equity_curve`): the capital at the first
  trade, then every minute's end; a column per symbol (its capital + PnL) and `total`, in the
  quote asset.

Money (prices, quantities, quote amounts, commissions, PnL) is Decimal text in both formats:
Parquet `string`, not `decimal128`, because exactness comes first: decimal128 holds one fixed
scale per column, and a PnL (qty × price × (1 ± fee)) can need more than 18 decimals, so it
would have to be rounded; text keeps every digit, and reads back with `Decimal(text)`. The
equity curve alone is float64: the metrics compute it in floats (marked at the trades'
prices), and the CSV holds each float's shortest exact text (`repr`). Times are given twice:
`*_ms` (epoch milliseconds, int64) and ISO UTC text (`2019-05-25T00:00:01.234Z`).

The files are written into a scratch directory inside `out_dir`, then moved over the final
names one by one (`os.replace`), so a stopped run never leaves half a file under those names.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hedgehog.backtest.metrics import equity_curve
from hedgehog.backtest.report_model import Cycle, Data, group_cycles
from hedgehog.backtest.runner import BacktestConfig, BacktestResult
from hedgehog.core import client_ids
from hedgehog.core.decimals import fmt
from hedgehog.core.errors import ConfigError
from hedgehog.core.pnl import cycle_pnl
from hedgehog.core.types import OrderStatus
from hedgehog.runtime import interrupt

TABLES = ("orders", "fills", "cycles", "equity")
Columns = dict[str, list[Any]]


def write_exports(
    result: BacktestResult, config: BacktestConfig, out_dir: Path, data: Data = None
) -> list[Path]:
    """Write the four tables as `<name>.parquet` and `<name>.csv` into `out_dir` (created);
    return the eight paths. `data` as for `metrics.compute` (None: the result's prices). A
    directory that cannot be written is a `ConfigError`."""
    tables = {
        "orders": orders_columns(result),
        "fills": fills_columns(result),
        "cycles": cycles_columns(result, config),
        "equity": equity_columns(result, config, data),
    }
    written: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".export-", dir=out_dir) as scratch:
            parts = []
            for name, columns in tables.items():
                for suffix, write in ((".parquet", _write_parquet), (".csv", _write_csv)):
                    part = Path(scratch) / f"{name}{suffix}"
                    write(columns, part)
                    parts.append(part)
            with interrupt.deferred():
                for part in parts:
                    os.replace(part, out_dir / part.name)
                    written.append(out_dir / part.name)
    except OSError as exc:
        raise ConfigError(f"cannot write the exports into {out_dir}: {exc}") from None
    return written


def orders_columns(result: BacktestResult) -> Columns:
    """The ledger, one row per order."""
    rows = sorted(result.ledger, key=lambda o: o.order_id)
    cids = [o.client_order_id for o in rows]
    return {
        "order_id": [o.order_id for o in rows],
        "client_order_id": cids,
        "symbol": [o.symbol for o in rows],
        "side": [str(o.side) for o in rows],
        "type": [o.order_type for o in rows],
        "price": [fmt(o.price) for o in rows],
        "orig_qty": [fmt(o.orig_qty) for o in rows],
        "executed_qty": [fmt(o.executed_qty) for o in rows],
        "cumulative_quote_qty": [fmt(o.cumulative_quote_qty) for o in rows],
        "status": [str(o.status) for o in rows],
        **_times("time", [o.time for o in rows]),
        **_times("update_time", [o.update_time for o in rows]),
        "trader": [client_ids.trader_of(c) for c in cids],
        "cycle": [client_ids.cycle_key(c) for c in cids],
    }


def fills_columns(result: BacktestResult) -> Columns:
    """Every fill, in time order (then symbol, trade and order id)."""
    rows = sorted(result.fills, key=lambda f: (f.time, f.symbol, f.trade_id, f.order_id))
    return {
        "order_id": [f.order_id for f in rows],
        "trade_id": [f.trade_id for f in rows],
        "symbol": [f.symbol for f in rows],
        "side": [str(f.side) for f in rows],
        "price": [fmt(f.price) for f in rows],
        "qty": [fmt(f.qty) for f in rows],
        "quote_qty": [fmt(f.quote_qty) for f in rows],
        "commission": [fmt(f.commission) for f in rows],
        "commission_asset": [f.commission_asset for f in rows],
        **_times("time", [f.time for f in rows]),
        "is_maker": [f.is_maker for f in rows],
    }


def cycles_columns(result: BacktestResult, config: BacktestConfig) -> Columns:
    """One row per cycle, by symbol then by its first order."""
    rows = [c for _, cs in sorted(group_cycles(result.ledger).items()) for c in cs]
    cols: Columns = {
        "symbol": [_symbol(c) for c in rows],
        "trader": [c.trader for c in rows],
        "cycle": [_cycle(c) for c in rows],
        "status": [cycle_status(c) for c in rows],
        **_times("start", [c.start_ms for c in rows]),
    }
    for leg in ("buy", "sell"):
        orders = [getattr(c, leg) for c in rows]
        filled = [o.update_time if o and o.status == OrderStatus.FILLED else None for o in orders]
        cols[f"{leg}_order_id"] = [o.order_id if o else None for o in orders]
        cols[f"{leg}_price"] = [fmt(o.price) if o else None for o in orders]
        cols[f"{leg}_qty"] = [fmt(o.orig_qty) if o else None for o in orders]
        cols.update(_times(f"{leg}_filled", filled))
    pnl: list[str | None] = []
    took: list[int | None] = []
    for c in rows:
        if c.completed and c.buy is not None and c.sell is not None:
            fee = config.settings[c.buy.symbol].fee
            pnl.append(fmt(cycle_pnl(c.sell.executed_qty, c.buy.price, c.sell.price, fee)))
            took.append(c.sell.update_time - c.start_ms)
        else:
            pnl.append(None)
            took.append(None)
    cols["pnl"], cols["duration_ms"] = pnl, took
    return cols


def cycle_status(cycle: Cycle) -> str:
    """completed, holding, cancelled or open (see the module's docstring)."""
    if cycle.completed:
        return "completed"
    if cycle.bought:
        return "holding"
    if cycle.buy is not None and cycle.buy.status.is_dead:
        return "cancelled"
    return "open"


def equity_columns(result: BacktestResult, config: BacktestConfig, data: Data = None) -> Columns:
    """The per-minute equity curve, from the capital at the first trade."""
    curve = equity_curve(result, config, data)
    times: list[int | None] = []
    values: dict[str, list[float]] = {s: [] for s in curve.pnl}
    if curve.start is not None:
        times = [curve.start, *(int(t) for t in curve.times)]
        values = {s: [float(curve.capital[s] or 0), *curve.equity(s).tolist()] for s in curve.pnl}
    total = [sum(row, 0.0) for row in zip(*values.values(), strict=True)] if values else []
    return {**_times("time", times), **values, "total": total or [0.0] * len(times)}


def _times(name: str, ms: Sequence[int | None]) -> Columns:
    """`<name>_ms` and `<name>` (ISO UTC text) columns of epoch-ms times (None: null)."""
    stamps = np.array([0 if t is None else t for t in ms], dtype="datetime64[ms]")
    texts = np.datetime_as_string(stamps, unit="ms").tolist() if len(ms) else []
    return {
        f"{name}_ms": list(ms),
        name: [None if t is None else f"{x}Z" for t, x in zip(ms, texts, strict=True)],
    }


def _cycle(cycle: Cycle) -> str:
    order = cycle.buy or cycle.sell
    return client_ids.cycle_key(order.client_order_id) if order is not None else ""


def _symbol(cycle: Cycle) -> str:
    order = cycle.buy or cycle.sell
    return order.symbol if order is not None else ""


def _write_parquet(columns: Columns, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [pa.field(name, _arrow_type(name, path.stem)) for name in columns]
    table = pa.Table.from_pydict(columns, schema=pa.schema(fields))
    pq.write_table(table, path)


def _arrow_type(name: str, table: str) -> Any:
    """int64 for times in ms and ids, bool for is_maker, float64 for the equity values,
    string (Decimal text, names, ISO times) for the rest."""
    import pyarrow as pa

    if name.endswith("_ms") or name in ("order_id", "trade_id", "buy_order_id", "sell_order_id"):
        return pa.int64()
    if name == "is_maker":
        return pa.bool_()
    return pa.float64() if table == "equity" and name != "time" else pa.string()


def _write_csv(columns: Columns, path: Path) -> None:
    names = list(columns)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(
            [_text(v) for v in row] for row in zip(*(columns[n] for n in names), strict=True)
        )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


__all__ = [
    "TABLES",
    "cycle_status",
    "cycles_columns",
    "equity_columns",
    "fills_columns",
    "orders_columns",
    "write_exports",
]
