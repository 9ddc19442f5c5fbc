"""hedgehog and NautilusTrader on the same trades and strategy, side by side in one run (issue 6).

    bash bench/peers/setup.sh              # once: bench/peers/.venv with nautilus_trader
    python bench/peers/compare.py [--quick] [--rounds 3] [--json]

Runs with hedgehog's Python. For each case of bench/backtest.py (1 symbol x 1,000,000 trades,
10 symbols x 200,000; `--quick`: 10x fewer) and each round, alternately (the side that goes
first swaps every round):
- hedgehog's run phase via `run_backtest` on the exported trades, in the default skip-ahead
  mode and with `every_tick=True` (every trade through the processes); both must give the same
  ledger;
- bench/peers/nautilus_naive.py in a subprocess with the venv's Python: the same trades as
  Nautilus TradeTicks (building them timed apart), the same strategy in a BacktestEngine;
  "engine run" is `engine.run()` alone.
Prints trades/s of each, the ratios hedgehog / Nautilus per round and their medians, the work
each side did (orders, fills, cycles), and whether the two order ledgers (side, price, qty,
status, placed and last update) and final USDT balances are the same. Nothing here is a
dependency of hedgehog or of CI.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from export import STEP, TICK, Case, cases, export, load

from hedgehog.backtest.runner import BacktestConfig, run_backtest
from hedgehog.core.filters import parse_exchange_info
from hedgehog.market.synthetic import synthetic_exchange_info
from hedgehog.naive.settings import TradingSettings

HERE = Path(__file__).resolve().parent
VENV_PYTHON = HERE / ".venv" / "bin" / "python"
NAUTILUS = HERE / "nautilus_naive.py"


Row = tuple[str, str, Decimal, Decimal, str, int, int]


def hedgehog_run(case: Case, tables: dict[str, Any], every_tick: bool) -> dict[str, Any]:
    filters = parse_exchange_info(synthetic_exchange_info(case.names, TICK, STEP))
    settings = {s: TradingSettings(s, chunks=5) for s in case.names}
    config = BacktestConfig(settings, filters, every_tick=every_tick)
    gc.collect()
    result = asyncio.run(run_backtest(tables, config))
    s = result.summary
    fee = settings[case.names[0]].fee
    quote = sum((x.budget * (1 + x.fee) * 2 for x in settings.values()), Decimal(0))
    rows: list[Row] = []
    for o in result.ledger:
        rows.append(
            (o.symbol, o.side.value, o.price, o.orig_qty, o.status.value, o.time, o.update_time)
        )
        if o.status.value == "FILLED":
            notional = o.price * o.executed_qty
            quote += -notional * (1 + fee) if o.side.value == "BUY" else notional * (1 - fee)
    return {
        "run_s": round(result.elapsed_s, 3),
        "trades_per_s": round(result.ticks / result.elapsed_s),
        "orders": s.orders_placed,
        "fills": s.buys_filled + s.sells_filled,
        "cycles": s.cycles_completed,
        "traders_started": result.traders_started,
        "ledger": s.ledger_sha256[:16],
        "quote_balance": str(quote),
        "rows": sorted(rows),
    }


def nautilus_run(case: Case) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        orders = Path(tmp) / "orders.txt"
        cmd = [str(VENV_PYTHON), str(NAUTILUS), str(case.path), "--orders", str(orders)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(
                f"nautilus_naive.py failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
            )
        out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        rows: list[Row] = []
        for line in orders.read_text().splitlines():
            symbol, side, price, qty, _filled, status, placed, last = line.split()
            status = {"ACCEPTED": "NEW"}.get(status, status)
            rows.append(
                (symbol, side, Decimal(price), Decimal(qty), status, int(placed), int(last))
            )
    out["rows"] = sorted(rows)
    return out


def ledger_diff(a: list[Row], b: list[Row]) -> int:
    """How many orders are in one ledger and not in the other (0: the same orders)."""
    ca, cb = Counter(a), Counter(b)
    return sum(((ca - cb) + (cb - ca)).values())


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{mem_kb / 2**20:.0f} GiB"
    except OSError:
        mem = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "arch": platform.machine()}


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer trades")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON too")
    args = parser.parse_args()
    if not VENV_PYTHON.exists():
        raise SystemExit(f"no {VENV_PYTHON}: run `bash bench/peers/setup.sh` first")

    started = datetime.now(UTC)
    load_before = load_average()
    todo = cases(args.quick)
    tables = {}
    for case in todo:
        export(case)
        tables[case.name] = load(case)

    rows: dict[str, list[dict[str, Any]]] = {case.name: [] for case in todo}
    for r in range(args.rounds):
        for case in todo:
            nautilus_first = r % 2 == 1
            nt = nautilus_run(case) if nautilus_first else None
            skip = hedgehog_run(case, tables[case.name], every_tick=False)
            every = hedgehog_run(case, tables[case.name], every_tick=True)
            if skip["ledger"] != every["ledger"]:
                raise SystemExit("hedgehog: skip-ahead and every-tick disagree (a bug)")
            if nt is None:
                nt = nautilus_run(case)
            diff = ledger_diff(skip.pop("rows"), nt.pop("rows"))
            every.pop("rows")
            row = {
                "round": r + 1,
                "first": "nautilus" if nautilus_first else "hedgehog",
                "hedgehog_skip": skip,
                "hedgehog_every_tick": every,
                "nautilus": nt,
                "ratio_skip": skip["trades_per_s"] / nt["trades_per_s"],
                "ratio_every_tick": every["trades_per_s"] / nt["trades_per_s"],
                "orders_differing": diff,
            }
            rows[case.name].append(row)
            print(
                f"  round {r + 1} {case.name}: hedgehog {skip['trades_per_s']:,} /"
                f" {every['trades_per_s']:,} trades/s, nautilus {nt['trades_per_s']:,}",
                file=sys.stderr,
                flush=True,
            )
    nt0 = next(iter(rows.values()))[0]["nautilus"]
    report = {
        "command": " ".join(["python", "bench/peers/compare.py", *sys.argv[1:]]),
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "python": sys.version.split()[0],
        "nautilus_trader": nt0["version"],
        "nautilus_python": nt0["python"],
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "cases": rows,
    }
    print_table(report)
    if args.json:
        print(json.dumps(report))


def print_table(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"command: {report['command']}")
    print(f"date:    {report['date']}")
    print(
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, {m['arch']}; "
        f"load average {report['load_average_before']} -> {report['load_average_after']}"
    )
    print(
        f"hedgehog: CPython {report['python']}, asyncio;  nautilus_trader "
        f"{report['nautilus_trader']} (CPython {report['nautilus_python']}, own venv)"
    )
    print()
    head = (
        f"{'case':<16}{'round':>6}  {'hh skip':>10}  {'hh every':>10}  {'NT run':>10}  "
        f"{'skip/NT':>8}  {'every/NT':>8}  {'NT ticks':>9}  {'NT total':>9}"
    )
    print("trades/s (run phase; NT run = engine.run() alone); NT ticks / total in seconds")
    print(head)
    print("-" * len(head))
    for name, rows in report["cases"].items():
        for row in rows:
            nt = row["nautilus"]
            print(
                f"{name:<16}{row['round']:>6}  {row['hedgehog_skip']['trades_per_s']:>10,}  "
                f"{row['hedgehog_every_tick']['trades_per_s']:>10,}  {nt['trades_per_s']:>10,}  "
                f"{row['ratio_skip']:>7.2f}x  {row['ratio_every_tick']:>7.2f}x  "
                f"{nt['build_ticks_s']:>9.2f}  {nt['total_s']:>9.2f}"
            )
        med = {
            "skip": median([r["hedgehog_skip"]["trades_per_s"] for r in rows]),
            "every": median([r["hedgehog_every_tick"]["trades_per_s"] for r in rows]),
            "nt": median([r["nautilus"]["trades_per_s"] for r in rows]),
            "rs": median([r["ratio_skip"] for r in rows]),
            "re": median([r["ratio_every_tick"] for r in rows]),
            "ticks": median([r["nautilus"]["build_ticks_s"] for r in rows]),
            "total": median([r["nautilus"]["total_s"] for r in rows]),
        }
        print(
            f"{name:<16}{'median':>6}  {med['skip']:>10,.0f}  {med['every']:>10,.0f}  "
            f"{med['nt']:>10,.0f}  {med['rs']:>7.2f}x  {med['re']:>7.2f}x  "
            f"{med['ticks']:>9.2f}  {med['total']:>9.2f}"
        )
        print("-" * len(head))
    print()
    nt0 = next(iter(report["cases"].values()))[0]["nautilus"]
    print(
        f"work done (last round; hedgehog's counts are the same in both modes; Nautilus fill "
        f"model {nt0['fill_model']!r}, risk engine {nt0['risk_engine']!r}):"
    )
    for name, rows in report["cases"].items():
        hh, nt = rows[-1]["hedgehog_every_tick"], rows[-1]["nautilus"]
        usdt = nt["final_balances"].get("USDT", "?")
        print(
            f"  {name}: hedgehog {hh['orders']} orders, {hh['fills']} filled, "
            f"{hh['cycles']} cycles, {hh['traders_started']} traders, "
            f"USDT {Decimal(hh['quote_balance']):.8f}"
        )
        print(
            f"  {'':<{len(name)}}  nautilus {nt['orders']} orders, "
            f"{nt['buys_filled'] + nt['sells_filled']} filled ({nt['fill_events']} fill events, "
            f"{nt['partial_fills']} partial), {nt['cycles']} cycles, "
            f"{nt['traders_started']} traders, USDT {Decimal(usdt):.8f}; "
            f"{nt['denied']} denied, {nt['rejected']} rejected"
        )
        diffs = [r["orders_differing"] for r in rows]
        same = "the same orders" if not any(diffs) else f"orders differing per round: {diffs}"
        cash = "equal" if Decimal(usdt) == Decimal(hh["quote_balance"]) else "different"
        print(
            f"  {'':<{len(name)}}  ledgers (side, price, qty, status, placed and last ms): "
            f"{same}; final USDT {cash}"
        )


if __name__ == "__main__":
    main()
