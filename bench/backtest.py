"""Backtest benchmark (issues 3 and 6): the naive system over a seeded synthetic market.

    python bench/backtest.py [--quick] [--json]

Cases: one symbol x 1,000,000 trades and 10 symbols x 200,000 trades, 5 chunks each.
For each: the run phase (data already loaded) in the default skip-ahead mode and with every
trade through the processes (`every_tick`), checked to give the same ledger; loading the same
trades from Binance-format zips with `load_trades`; bytes per loaded trade; and the whole
`hedgehog backtest FILES --json` command end to end (a fresh process: start-up, load, run,
summary). Goals: run phase >= 5,000,000 trades/s; end to end >= 2,000,000 trades/s; <= 100
bytes per trade; every-tick >= 200,000 trades/s. `--quick` uses 10x fewer trades (CI).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hedgehog.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from hedgehog.core.filters import parse_exchange_info
from hedgehog.market.loaders import load_trades
from hedgehog.market.synthetic import (
    synthetic_exchange_info,
    synthetic_trades,
    write_binance_zip,
)
from hedgehog.naive.settings import TradingSettings


def _run(tables: dict[str, Any], names: list[str], every_tick: bool) -> BacktestResult:
    filters = parse_exchange_info(synthetic_exchange_info(names, "0.0001", "0.1"))
    settings = {s: TradingSettings(s, chunks=5) for s in names}
    config = BacktestConfig(settings, filters, every_tick=every_tick)
    return asyncio.run(run_backtest(tables, config))


def case(symbols: int, trades: int, seed: int, workdir: Path) -> dict[str, Any]:
    names = [f"SYM{i}USDT" for i in range(symbols)]
    tables = {s: synthetic_trades(s, trades, seed + i) for i, s in enumerate(names)}
    total = symbols * trades
    fast = min((_run(tables, names, False) for _ in range(3)), key=lambda r: r.elapsed_s)
    slow = _run(tables, names, True)
    if fast.summary.ledger_sha256 != slow.summary.ledger_sha256:
        raise SystemExit("skip-ahead and every-tick disagree: a bug")
    day = datetime.fromtimestamp(1_700_000_000, UTC).strftime("%Y-%m-%d")
    files = [write_binance_zip(t, workdir / f"{s}-trades-{day}.zip") for s, t in tables.items()]
    t0 = time.perf_counter()
    loaded = load_trades(files).tables
    load_s = time.perf_counter() - t0
    per_trade = sum(t.nbytes for t in loaded.values()) / total
    cmd = [
        sys.executable,
        "-m",
        "hedgehog",
        "backtest",
        *map(str, files),
        "--tick-size",
        "0.0001",
        "--step-size",
        "0.1",
        "--min-notional",
        "1",
        "--json",
    ]
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        walls.append(time.perf_counter() - t0)
    if json.loads(out)["ledger_sha256"] != fast.summary.ledger_sha256:
        raise SystemExit("the CLI's result differs from run_backtest's")
    wall = sorted(walls)[1]
    return {
        "symbols": symbols,
        "trades": total,
        "run_s": round(fast.elapsed_s, 4),
        "run_trades_per_s": round(total / fast.elapsed_s),
        "every_tick_s": round(slow.elapsed_s, 3),
        "every_tick_trades_per_s": round(total / slow.elapsed_s),
        "load_zip_s": round(load_s, 3),
        "bytes_per_trade": round(per_trade, 1),
        "cli_end_to_end_s": round(wall, 3),
        "cli_trades_per_s": round(total / wall),
        "orders": fast.summary.orders_placed,
        "cycles": fast.summary.cycles_completed,
        "ledger_sha256": fast.summary.ledger_sha256[:16],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer trades (CI)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (symbols, trades) in {"one": (1, 1_000_000), "ten": (10, 200_000)}.items():
            workdir = Path(tmp) / name
            workdir.mkdir()
            results.append(case(symbols, trades // scale, 7, workdir))
    meta = {"python": sys.version.split()[0], "machine": platform.machine()}
    if args.json:
        print(json.dumps({"cases": results, **meta}))
        return
    for r in results:
        print(json.dumps(r))
    print(meta)


if __name__ == "__main__":
    main()
