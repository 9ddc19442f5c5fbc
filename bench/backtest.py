"""Backtest benchmark (issue 3): the naive system over a seeded synthetic market.

    python bench/backtest.py [--quick] [--json] [--uvloop]

Times `run_backtest` (data already generated and loaded) for one symbol x 1,000,000 trades and
for 10 symbols x 200,000 trades, 5 chunks each, every trade passing through the processes.
Goal: >= 200,000 trades/s (NautilusTrader runs 150,000-170,000 trades/s here on the same
strategy). `--quick` uses 10x fewer trades (CI's smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from typing import Any

from hedgehog.backtest.runner import BacktestConfig, run_backtest
from hedgehog.backtest.synthetic import synthetic_exchange_info, synthetic_trades
from hedgehog.core.filters import parse_exchange_info
from hedgehog.naive.settings import TradingSettings


def case(symbols: int, trades: int, seed: int) -> dict[str, Any]:
    names = [f"SYM{i}USDT" for i in range(symbols)]
    t0 = time.perf_counter()
    tables = {s: synthetic_trades(s, trades, seed + i) for i, s in enumerate(names)}
    generated = time.perf_counter() - t0
    filters = parse_exchange_info(synthetic_exchange_info(names, "0.0001", "0.1"))
    settings = {s: TradingSettings(s, chunks=5) for s in names}
    result = asyncio.run(run_backtest(tables, BacktestConfig(settings, filters)))
    return {
        "symbols": symbols,
        "trades": symbols * trades,
        "generate_s": round(generated, 3),
        "run_s": round(result.elapsed_s, 3),
        "trades_per_s": round(result.ticks / result.elapsed_s),
        "orders": result.summary.orders_placed,
        "cycles": result.summary.cycles_completed,
        "ledger_sha256": result.summary.ledger_sha256[:16],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer trades (CI)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        uvloop.install()
    scale = 10 if args.quick else 1
    results = [case(1, 1_000_000 // scale, 7), case(10, 200_000 // scale, 7)]
    meta = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "loop": "uvloop" if args.uvloop else "asyncio",
    }
    if args.json:
        print(json.dumps({"cases": results, **meta}))
        return
    for r in results:
        print(
            f"{r['symbols']:>2} symbol(s) x {r['trades'] // r['symbols']:>9,} trades: "
            f"{r['trades_per_s']:>9,} trades/s  ({r['run_s']} s, {r['orders']} orders, "
            f"{r['cycles']} cycles, ledger {r['ledger_sha256']})"
        )
    print(meta)


if __name__ == "__main__":
    main()
