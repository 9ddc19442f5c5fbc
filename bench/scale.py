"""A year-sized backtest in bounded memory (issue 14, item 7).

Writes N synthetic trades into a Parquet catalog (a file per symbol and UTC day, generated a
day at a time: the writer holds one day), then runs `hedgehog backtest --catalog` over them in
a fresh process, as a user would, and records its wall time, trades per second and peak RSS.

    python bench/scale.py                                   # 500 M trades over 365 days
    python bench/scale.py --trades 100_000_000 --days 30    # the 100 M-trade goal
    python bench/scale.py --quick --json                    # the CI's small form (2 M, 3 days)

The catalog is written under --dir (default: a temporary directory, removed after) and reused
when it already holds the same data (`--dir` given twice), so the backtest can be re-timed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hedgehog.market.catalog import Catalog
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades
from hedgehog.market.tables import TradeTable, from_units

DAY = 86_400_000
FIRST_DAY = 1_704_067_200_000  # 2024-01-01T00:00:00Z
SYMBOLS = ["BTCUSDT", "ETHUSDT", "XRPUSDT", "BNBUSDT"]
_PEAK = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


def write_catalog(root: Path, trades: int, days: int, symbols: list[str], seed: int) -> float:
    """Write the synthetic catalog a day at a time; the seconds it took."""
    catalog = Catalog(root)
    started = time.perf_counter()
    per_day = trades // (days * len(symbols))
    for k, symbol in enumerate(symbols):
        price, next_id = "1.0", 1
        for d in range(days):
            n = per_day + (1 if d < trades // len(symbols) - per_day * days else 0)
            t = synthetic_trades(
                symbol, n, seed + k * 100_000 + d, start_price=price, first_id=next_id
            )
            span = max(1, int(t.time[-1] - t.time[0]))
            times = FIRST_DAY + d * DAY + (t.time - t.time[0]) * (DAY - 1) // span
            catalog.write_table(
                TradeTable(symbol, t.trade_id, t.price, t.qty, times, t.buyer_maker), "synthetic"
            )
            price, next_id = str(from_units(int(t.price[-1]))), int(t.trade_id[-1]) + 1
            if sys.stderr.isatty():
                print(f"\r{symbol} day {d + 1}/{days}", end="", file=sys.stderr, flush=True)
    info = synthetic_exchange_info(symbols, "0.0001", "0.1")
    catalog.exchange_info_path.write_text(json.dumps(info))
    if sys.stderr.isatty():
        print(file=sys.stderr)
    return time.perf_counter() - started


def backtest(root: Path, symbols: list[str]) -> dict[str, object]:
    """`hedgehog backtest --catalog` in a fresh process: its figures, wall time and peak RSS."""
    cmd = [sys.executable, "-m", "hedgehog", "backtest", "--catalog", str(root)]
    cmd += ["--symbol", ",".join(symbols), "--json"]
    started = time.perf_counter()
    # The peak is read by a small wrapper process: a child forked straight from this one
    # (which wrote the catalog) would start its high-water mark at this process's size.
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, *cmd], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"backtest failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    out = json.loads(done.stdout)
    return {
        "command": " ".join(cmd),
        "ticks": out["ticks"],
        "wall_s": round(wall, 3),
        "trades_per_s_end_to_end": round(out["ticks"] / wall),
        "replay_s": out["elapsed_s"],
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "ledger_sha256": out["ledger_sha256"],
        "orders_placed": out["orders_placed"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=lambda s: int(s.replace("_", "")), default=500_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--symbols", type=int, default=1, help=f"1 to {len(SYMBOLS)}")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, help="the catalog's directory (kept)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="2 M trades over 3 days (CI)")
    args = parser.parse_args()
    if args.quick:
        args.trades, args.days = 2_000_000, 3
    if not 1 <= args.symbols <= len(SYMBOLS) or args.days < 1 or args.trades < args.days:
        parser.error("need 1 <= --symbols <= 4, --days >= 1 and --trades >= --days")
    symbols = SYMBOLS[: args.symbols]
    root = args.dir or Path(tempfile.mkdtemp(prefix="hedgehog-scale-"))
    try:
        catalog = Catalog(root)
        have = (
            sum(catalog.rows(s) for s in catalog.symbols()) if catalog.manifest_path.exists() else 0
        )
        write_s = None
        if have != args.trades:
            if have:
                shutil.rmtree(root)
            write_s = write_catalog(root, args.trades, args.days, symbols, args.seed)
        size = sum(f.stat().st_size for f in root.rglob("*.parquet"))
        figures = {
            "trades": args.trades,
            "days": args.days,
            "symbols": symbols,
            "catalog_mb": round(size / 2**20, 1),
            "write_s": None if write_s is None else round(write_s, 1),
            "write_trades_per_s": None if write_s is None else round(args.trades / write_s),
            **backtest(root, symbols),
            "cpu": os.cpu_count(),
        }
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
