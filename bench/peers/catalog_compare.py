"""hedgehog and NautilusTrader streaming the same trades from their own Parquet catalogs (issue 14).

    bash bench/peers/setup.sh        # once: bench/peers/.venv with nautilus_trader
    python bench/peers/catalog_compare.py [--trades 10_000_000] [--days 5] [--rounds 3]
        [--dir DIR] [--chunk-size 100000] [--json]

Runs with hedgehog's Python. Writes N synthetic trades of one symbol (hedgehog.market.synthetic,
a UTC day at a time, as bench/scale.py) into a hedgehog catalog (`DIR/hedgehog`), then copies
them into a Nautilus `ParquetDataCatalog` (`DIR/nautilus`, Nautilus's own writer and a
`CurrencyPair` with our filters: bench/peers/nautilus_catalog.py `write`, in the venv). Both are
written once and reused while DIR holds them (default DIR: a temporary directory, removed after).

Then, `--rounds` times, the side that goes first alternating, each in a fresh process:
- hedgehog: `python -m hedgehog backtest --catalog DIR/hedgehog --symbol S --json` (the naive
  strategy's defaults, as compare.py), or, while the CLI has no --catalog,
  bench/peers/hedgehog_catalog.py (`run_backtest(CatalogSource(...))`, the same thing);
- Nautilus: bench/peers/nautilus_catalog.py `run` with the venv's Python: a `BacktestNode`
  streaming the catalog through `BacktestDataConfig` with `chunk_size` (`--nautilus-mode
  oneshot`: the node loads everything first), running nautilus_naive.py's strategy.
Each is timed end to end (process start to exit) with its peak RSS, both taken by a small
wrapper process (`resource.getrusage(RUSAGE_CHILDREN)` after its one child exits). The ledgers
are checked every round: the order rows of both (side, price, qty, status, placed and last ms;
hedgehog's from one untimed hedgehog_catalog.py --orders run whose ledger sha256 must equal
every timed run's), orders placed and filled, realised PnL (hedgehog's formula), final USDT.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV_PYTHON = HERE / ".venv" / "bin" / "python"
NT_SCRIPT = HERE / "nautilus_catalog.py"
HH_SCRIPT = HERE / "hedgehog_catalog.py"

Row = tuple[str, str, Decimal, Decimal, str, int, int]


# Times one command and reads its peak RSS from a small process of its own: a child forked (or
# vforked) from this big process would count this process's RSS before its exec in its own
# ru_maxrss (Linux keeps the old mm's high-water mark across exec).
MEASURE = """
import resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[1:])
wall = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write(f"\\n@measured {wall} {peak}\\n")
sys.exit(code)
"""


def measure(cmd: list[str]) -> tuple[dict[str, Any], float, float]:
    """Run `cmd` in a fresh process: its last stdout line as JSON, wall seconds, peak RSS MB."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        code = subprocess.call([sys.executable, "-c", MEASURE, *cmd], stdout=out, stderr=err)
        out.seek(0)
        err.seek(0)
        errors = err.read()
        if code:
            raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{errors[-4000:]}")
        _, wall, peak_kib = errors.strip().splitlines()[-1].split()
        result: dict[str, Any] = json.loads(out.read().strip().splitlines()[-1])
    return result, float(wall), int(peak_kib) / 1024  # ru_maxrss is in KiB on Linux


def cli_has_catalog() -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "hedgehog", "backtest", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    return "--catalog" in done.stdout


def prepare(root: Path, trades: int, days: int, symbol: str, seed: int) -> dict[str, Any]:
    """The two catalogs under `root`, written unless they already hold these trades."""
    sys.path.insert(0, str(HERE.parent))
    from hedgehog.market.catalog import Catalog
    from scale import write_catalog  # type: ignore[import-not-found]

    hh, nt = root / "hedgehog", root / "nautilus"
    marker = nt / "written.json"
    spec = {"trades": trades, "days": days, "symbol": symbol, "seed": seed}
    figures: dict[str, Any] = {}
    have = Catalog(hh).rows(symbol) if (hh / "manifest.json").exists() else 0
    if have != trades or not marker.exists() or json.loads(marker.read_text())["spec"] != spec:
        shutil.rmtree(hh, ignore_errors=True)
        shutil.rmtree(nt, ignore_errors=True)
        print(f"writing {trades:,} trades into {hh} ...", file=sys.stderr, flush=True)
        figures["hedgehog_write_s"] = round(write_catalog(hh, trades, days, [symbol], seed), 2)
        print(f"copying them into Nautilus's catalog {nt} ...", file=sys.stderr, flush=True)
        cmd = [str(VENV_PYTHON), str(NT_SCRIPT), "write", str(hh), str(nt), "--symbol", symbol]
        written, wall, rss = measure(cmd)
        figures["nautilus_write"] = {**written, "wall_s": round(wall, 2), "peak_rss_mb": rss}
        marker.write_text(json.dumps({"spec": spec, "figures": figures}))
    else:
        figures = json.loads(marker.read_text())["figures"]
        figures["reused"] = True
    figures["hedgehog_catalog_mb"] = round(
        sum(f.stat().st_size for f in hh.rglob("*.parquet")) / 2**20, 1
    )
    figures["nautilus_catalog_mb"] = round(
        sum(f.stat().st_size for f in nt.rglob("*.parquet")) / 2**20, 1
    )
    return figures


def read_rows(path: Path, nautilus: bool) -> list[Row]:
    rows: list[Row] = []
    for line in path.read_text().splitlines():
        f = line.split()
        if nautilus:  # symbol side price qty filled status placed last
            f = [*f[:4], {"ACCEPTED": "NEW"}.get(f[5], f[5]), f[6], f[7]]
        rows.append((f[0], f[1], Decimal(f[2]), Decimal(f[3]), f[4], int(f[5]), int(f[6])))
    return sorted(rows)


def ledger_diff(a: list[Row], b: list[Row]) -> int:
    """How many orders are in one ledger and not in the other (0: the same orders)."""
    ca, cb = Counter(a), Counter(b)
    return sum(((ca - cb) + (cb - ca)).values())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trades", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    parser.add_argument("--days", type=int, default=5, help="UTC days the trades span")
    parser.add_argument("--symbol", default="SYMUSDT")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="where the two catalogs are kept (reused)")
    parser.add_argument("--chunk-size", type=int, default=100_000, help="Nautilus's chunk_size")
    parser.add_argument("--nautilus-mode", choices=("stream", "oneshot"), default="stream")
    parser.add_argument(
        "--hedgehog",
        choices=("auto", "cli", "script"),
        default="auto",
        help="time `hedgehog backtest --catalog` (cli), hedgehog_catalog.py (script), or the "
        "CLI when it has --catalog (auto)",
    )
    parser.add_argument(
        "--every-tick",
        action="store_true",
        help="also time hedgehog with --every-tick (every trade through its processes)",
    )
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON too")
    args = parser.parse_args()
    if not VENV_PYTHON.exists():
        raise SystemExit(f"no {VENV_PYTHON}: run `bash bench/peers/setup.sh` first")
    if args.trades < args.days or args.days < 1 or args.rounds < 1:
        parser.error("need --days >= 1, --trades >= --days and --rounds >= 1")

    from compare import load_average, machine  # hedgehog's Python, after --help

    started = datetime.now(UTC)
    load_before = load_average()
    root = args.dir or Path(tempfile.mkdtemp(prefix="hedgehog-nt-catalogs-"))
    try:
        report = compare(args, root)
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)
    report = {
        "command": " ".join(["python", "bench/peers/catalog_compare.py", *sys.argv[1:]]),
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "python": sys.version.split()[0],
        "load_average_before": load_before,
        "load_average_after": load_average(),
        **report,
    }
    print_report(report)
    if args.json:
        print(json.dumps(report))


def compare(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    catalogs = prepare(root, args.trades, args.days, args.symbol, args.seed)
    hh_root, nt_root = root / "hedgehog", root / "nautilus"
    use_cli = args.hedgehog == "cli" or (args.hedgehog == "auto" and cli_has_catalog())
    if use_cli:
        hh_cmd = [sys.executable, "-m", "hedgehog", "backtest", "--catalog", str(hh_root)]
        hh_cmd += ["--symbol", args.symbol, "--json"]
    else:
        hh_cmd = [sys.executable, str(HH_SCRIPT), str(hh_root), "--symbol", args.symbol]
    # hedgehog's orders, once, untimed (every timed run must give the same ledger sha256)
    hh_orders = root / "hedgehog-orders.txt"
    reference, _, _ = measure([*hh_cmd[:1], str(HH_SCRIPT), str(hh_root), "--symbol",
                               args.symbol, "--orders", str(hh_orders)])  # fmt: skip
    hh_rows = read_rows(hh_orders, nautilus=False)
    nt_orders = root / "nautilus-orders.txt"
    nt_cmd = [str(VENV_PYTHON), str(NT_SCRIPT), "run", str(nt_root), "--symbol", args.symbol]
    nt_cmd += ["--mode", args.nautilus_mode, "--chunk-size", str(args.chunk_size)]
    nt_cmd += ["--orders", str(nt_orders)]
    cmds = {"hedgehog": hh_cmd, "nautilus": nt_cmd}
    if args.every_tick:  # hedgehog with every trade through its processes, as Nautilus does
        cmds = {"hedgehog": hh_cmd, "hedgehog_every_tick": [*hh_cmd, "--every-tick"], **cmds}

    rounds = []
    for r in range(args.rounds):
        first_nt = r % 2 == 1
        runs: dict[str, Any] = {}
        for side in reversed(cmds) if first_nt else cmds:
            out, wall, rss = measure(cmds[side])
            trades: int = out["ticks"] if "ticks" in out else out["trades"]
            runs[side] = {
                "wall_s": round(wall, 3),
                "trades_per_s": round(trades / wall),
                "peak_rss_mb": round(rss, 1),
                "out": out,
            }
        hh, nt = runs["hedgehog"]["out"], runs["nautilus"]["out"]
        for side in cmds:
            out = runs[side]["out"]
            if side != "nautilus" and (
                out["ledger_sha256"] != reference["ledger_sha256"] or out["ticks"] != args.trades
            ):
                raise SystemExit(f"{side}: a timed run's ledger differs from the reference run")
        nt_rows = read_rows(nt_orders, nautilus=True)
        agree: dict[str, Any] = {
            "orders_differing": ledger_diff(hh_rows, nt_rows),
            "orders_placed": [reference["orders_placed"], nt["orders"]],
            "filled": [reference["fills"], nt["buys_filled"] + nt["sells_filled"]],
            "cycles": [reference["cycles"], nt["cycles"]],
            "realised_pnl": [reference["realised_pnl"], nt["realised_pnl"]],
            "final_usdt": [reference["quote_balance"], nt["final_balances"].get("USDT")],
            "trades_seen": [hh["ticks"], nt["trades"]],
        }
        pairs: list[list[Any]] = [v for k, v in agree.items() if k != "orders_differing"]
        agree["same"] = agree["orders_differing"] == 0 and all(
            Decimal(str(a)) == Decimal(str(b)) for a, b in pairs
        )
        ratio = runs["hedgehog"]["trades_per_s"] / runs["nautilus"]["trades_per_s"]
        rounds.append({"round": r + 1, "first": "nautilus" if first_nt else "hedgehog",
                       **runs, "ratio": ratio, "ledgers": agree})  # fmt: skip
        if args.every_tick:
            every = runs["hedgehog_every_tick"]["trades_per_s"]
            rounds[-1]["ratio_every_tick"] = every / runs["nautilus"]["trades_per_s"]
        print(
            f"  round {r + 1}: hedgehog {runs['hedgehog']['wall_s']:.2f} s "
            f"{runs['hedgehog']['peak_rss_mb']:.0f} MB, nautilus {runs['nautilus']['wall_s']:.2f}"
            f" s {runs['nautilus']['peak_rss_mb']:.0f} MB, ratio {ratio:.1f}x, "
            f"ledgers {'agree' if agree['same'] else 'DIFFER'}",
            file=sys.stderr,
            flush=True,
        )
    return {
        "trades": args.trades,
        "days": args.days,
        "symbol": args.symbol,
        "catalogs": catalogs,
        "hedgehog_command": " ".join(hh_cmd),
        "hedgehog_via": "cli"
        if use_cli
        else "hedgehog_catalog.py"
        + (" (the CLI had no --catalog)" if args.hedgehog == "auto" else ""),
        "nautilus_command": " ".join(nt_cmd),
        "nautilus_trader": rounds[0]["nautilus"]["out"]["version"],
        "nautilus_python": rounds[0]["nautilus"]["out"]["python"],
        "rounds": rounds,
    }


def print_report(report: dict[str, Any]) -> None:
    m, rounds = report["machine"], report["rounds"]
    print(f"command: {report['command']}")
    print(f"date:    {report['date']}")
    print(
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, {m['arch']}; "
        f"load average {report['load_average_before']} -> {report['load_average_after']}"
    )
    print(
        f"hedgehog: CPython {report['python']} via {report['hedgehog_via']};  nautilus_trader "
        f"{report['nautilus_trader']} (CPython {report['nautilus_python']}, own venv)"
    )
    print(f"catalogs: {json.dumps(report['catalogs'])}")
    print(f"hedgehog: {report['hedgehog_command']}")
    print(f"nautilus: {report['nautilus_command']}")
    print()
    head = (
        f"{'round':>6}  {'first':>8}  {'hh wall s':>9}  {'hh trades/s':>12}  {'hh RSS MB':>9}  "
        f"{'NT wall s':>9}  {'NT trades/s':>11}  {'NT RSS MB':>9}  {'NT run s':>8}  {'hh/NT':>6}"
    )
    print(f"{report['trades']:,} trades of {report['symbol']} over {report['days']} days, "
          "end to end (process start to exit)")  # fmt: skip
    print(head)
    print("-" * len(head))

    Side = dict[str, Any]

    def line(label: str, first: str, hh: Side, nt: Side, run_s: float, ratio: float) -> None:
        print(
            f"{label:>6}  {first:>8}  {hh['wall_s']:>9.2f}  {hh['trades_per_s']:>12,.0f}  "
            f"{hh['peak_rss_mb']:>9.0f}  {nt['wall_s']:>9.2f}  {nt['trades_per_s']:>11,.0f}  "
            f"{nt['peak_rss_mb']:>9.0f}  {run_s:>8.2f}  {ratio:>5.1f}x"
        )

    for r in rounds:
        line(str(r["round"]), r["first"], r["hedgehog"], r["nautilus"],
             r["nautilus"]["out"]["run_s"], r["ratio"])  # fmt: skip

    def med(side: str, key: str) -> float:
        return float(statistics.median(r[side][key] for r in rounds))

    keys = ("wall_s", "trades_per_s", "peak_rss_mb")
    line(
        "median",
        "",
        {k: med("hedgehog", k) for k in keys},
        {k: med("nautilus", k) for k in keys},
        statistics.median(r["nautilus"]["out"]["run_s"] for r in rounds),
        statistics.median(r["ratio"] for r in rounds),
    )
    print(
        "hedgehog replay s (its JSON's elapsed_s), per round: "
        + ", ".join(f"{r['hedgehog']['out']['elapsed_s']:.2f}" for r in rounds)
    )
    if "hedgehog_every_tick" in rounds[0]:
        print("hedgehog --every-tick (every trade through the processes), per round:")
        for r in rounds:
            e = r["hedgehog_every_tick"]
            print(
                f"  round {r['round']}: {e['wall_s']:.2f} s, {e['trades_per_s']:,} trades/s, "
                f"{e['peak_rss_mb']:.0f} MB; / Nautilus {r['ratio_every_tick']:.2f}x"
            )
        print(
            f"  median: {med('hedgehog_every_tick', 'wall_s'):.2f} s, "
            f"{med('hedgehog_every_tick', 'trades_per_s'):,.0f} trades/s, "
            f"{med('hedgehog_every_tick', 'peak_rss_mb'):.0f} MB; / Nautilus "
            f"{statistics.median(r['ratio_every_tick'] for r in rounds):.2f}x"
        )
    print()
    last = rounds[-1]["ledgers"]
    print("ledgers (hedgehog, nautilus), last round:")
    for key, value in last.items():
        print(f"  {key}: {value}")
    every = all(r["ledgers"]["same"] for r in rounds)
    print(f"  every round the same orders, fills, realised PnL and USDT: {every}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
