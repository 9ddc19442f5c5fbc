"""End to end from Binance zips, first run (issue 14, item 7): a fresh process per run.

    python bench/zips.py [--trades 1000000] [--runs 5] [--dir DIR] [--json] [--phases]

Writes one Binance public-data daily zip (SYMBOL-trades-YYYY-MM-DD.zip holding one headerless
CSV with Binance's 7 columns, CRLF lines, 8-decimal prices and quantities) of a seeded
synthetic market, plus a matching exchangeInfo.json, then times the whole command
`python -m hedgehog backtest ZIP --exchange-info FILE --json` (start-up, imports, inflate,
parse, replay, metrics) and `python -m hedgehog --help`, each a new process, and reports the
median wall time and trades/s. Goal: >= 2,000,000 trades/s end to end for 1 M trades.
`--dir` keeps the files there (reused when present) for profiling by hand. `--phases` adds,
from one more fresh process, where the time goes (wall and CPU seconds): the command's imports,
inflate, parse, table, replay, metrics (each in turn, without the command line's read-ahead).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

SYMBOL = "BTCUSDT"
TICK, STEP = "0.01", "0.00001"


def write_data(workdir: Path, trades: int, seed: int = 14) -> tuple[Path, Path]:
    """The zip and exchangeInfo for `trades` trades (reused when already there)."""
    from hedgehog.market.synthetic import (
        binance_csv_bytes,
        synthetic_exchange_info,
        synthetic_trades,
    )

    info = workdir / "exchangeInfo.json"
    found = sorted(workdir.glob(f"{SYMBOL}-trades-*.zip"))
    if found and info.exists() and (workdir / f".trades-{trades}").exists():
        return found[0], info
    table = synthetic_trades(SYMBOL, trades, seed, start_price="27000", tick=TICK, step=STEP)
    path = workdir / f"{SYMBOL}-trades-2023-11-14.zip"
    with zipfile.ZipFile(path, "w") as zf:  # Binance's zips are deflated at the usual level
        info_ = zipfile.ZipInfo(path.stem + ".csv", (2023, 11, 14, 0, 0, 0))
        zf.writestr(info_, binance_csv_bytes(table), zipfile.ZIP_DEFLATED, compresslevel=6)
    info.write_text(json.dumps(synthetic_exchange_info(SYMBOL, TICK, STEP, "5")))
    (workdir / f".trades-{trades}").touch()
    return path, info


def wall(cmd: list[str], runs: int) -> tuple[float, str]:
    """Median wall seconds of `runs` fresh processes (after one warm-up), and the last output."""
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        walls.append(time.perf_counter() - t0)
    return statistics.median(walls), out


def measure(workdir: Path, trades: int, runs: int, with_phases: bool = False) -> dict[str, Any]:
    zip_path, info = write_data(workdir, trades)
    base = [sys.executable, "-m", "hedgehog"]
    backtest = [*base, "backtest", str(zip_path), "--exchange-info", str(info), "--json"]
    run_s, out = wall(backtest, runs)
    summary = json.loads(out)
    if summary["ticks"] != trades:
        raise SystemExit(f"the backtest saw {summary['ticks']} trades, not {trades}")
    help_s, _ = wall([*base, "--help"], runs)
    python_s, _ = wall([sys.executable, "-c", "pass"], runs)
    extra = {"phases_wall_cpu_s": phases(zip_path, info)} if with_phases else {}
    return {
        "trades": trades,
        "zip_bytes": zip_path.stat().st_size,
        "end_to_end_s": round(run_s, 3),
        "trades_per_s": round(trades / run_s),
        "replay_s": summary["elapsed_s"],
        "help_s": round(help_s, 3),
        "python_start_s": round(python_s, 3),
        "ledger_sha256": summary["ledger_sha256"][:16],
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        **extra,
    }


def phases(zip_path: Path, info: Path) -> dict[str, list[float]]:
    """[wall, cpu] seconds of each phase of a --json backtest, in one fresh process."""
    code = f"""
import asyncio, json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
marks = []
def mark(name):
    marks.append((name, time.perf_counter(), time.process_time()))
import hedgehog.cli.backtest
from hedgehog.backtest import metrics
mark("imports")
from pathlib import Path
from hedgehog.backtest.runner import BacktestConfig, run_backtest
from hedgehog.core.filters import parse_exchange_info
from hedgehog.market import csv_parse, inflate
from hedgehog.market.tables import TradeTable
from hedgehog.naive.settings import TradingSettings
data = inflate.read_csv_bytes(Path({str(zip_path)!r}))
mark("inflate")
df = csv_parse.fast_parse(data, csv_parse.BINANCE, False)
mark("parse")
columns = ("trade_id", "price", "qty", "time", "maker")
table = TradeTable({SYMBOL!r}, *(df[c].to_numpy() for c in columns))
mark("table")
filters = parse_exchange_info(json.loads(Path({str(info)!r}).read_text()))
config = BacktestConfig({{{SYMBOL!r}: TradingSettings({SYMBOL!r}, chunks=5)}}, filters)
result = asyncio.run(run_backtest({{{SYMBOL!r}: table}}, config))
mark("replay")
figures = metrics.compute(result, {{{SYMBOL!r}: table}}, config).as_json()
json.dumps({{**result.as_json(), **figures}})
mark("metrics")
out, w, c = {{}}, t0, c0
for name, w2, c2 in marks:
    out[name] = [round(w2 - w, 3), round(c2 - c, 3)]
    w, c = w2, c2
print(json.dumps(out))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(run.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, help="keep the zip and exchangeInfo here")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--phases", action="store_true", help="where the time goes")
    args = parser.parse_args()
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        result = measure(args.dir, args.trades, args.runs, args.phases)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = measure(Path(tmp), args.trades, args.runs, args.phases)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>14}: {value}")
    goal = "met" if result["trades_per_s"] >= 2_000_000 else "NOT met"
    print(f"goal >= 2,000,000 trades/s end to end: {goal}")


if __name__ == "__main__":
    main()
