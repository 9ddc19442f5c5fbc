"""The node on Binance's money rules, end to end (issue 10's acceptance run).

    python bench/binance_rules.py [--minutes 10] [--speed 20] [--json]

Starts `hedgehog exchange serve` on the real recorded day (../shared/data, with its saved
exchangeInfo) with the commission charged in the asset bought (`--commission received`) and
orders filling in parts (`--fills volume`), and `hedgehog run --exchange binance` against it,
both as separate OS processes from the real CLI. The node's store is a scratch SQLite file
given explicitly (the user's HEDGEHOG_* variables never leak in). While it trades, the node's
status is read every few seconds through its control API; at the end, the simulator's ledger.

Checked (exit 1 on any failure):
- no order refused (the node's counters of rejected buys and sells stay 0);
- no trader blocked, no symbol errored (status);
- no stuck trader: every buy that filled (whole, or in part and then cancelled) has its sell
  placed within 10 s of its last fill, except buys filled in the last 10 s of the run;
- every sell is for the buy's executed quantity less the base-asset commission of its fills,
  floored to the step (from the ledger's fills);
- it traded: buys filled in parts were seen, and cycles completed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DAY = DATA / "XRPUSDT-trades-2019-05-25.zip"
INFO = DATA / "exchangeInfo.json"
CMD = [sys.executable, "-m", "hedgehog"]


def step_size() -> Decimal:
    """XRPUSDT's LOT_SIZE step in the saved exchangeInfo."""
    for entry in json.loads(INFO.read_text())["symbols"]:
        if entry["symbol"] == "XRPUSDT":
            lot = next(f for f in entry["filters"] if f["filterType"] == "LOT_SIZE")
            return Decimal(lot["stepSize"]).normalize()
    raise SystemExit("XRPUSDT is not in the saved exchangeInfo")


def log(message: str) -> None:
    print(f"[rules {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def get(url: str, token: str | None = None) -> Any:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def post(url: str) -> None:
    request = urllib.request.Request(url, data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10):
        pass


def clean_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEHOG_")}
    env.update(
        HEDGEHOG_DATA_DIR=str(workdir / "node"),
        HEDGEHOG_DATABASE_URL=f"sqlite:///{workdir / 'node.sqlite'}",
        HEDGEHOG_LOG_LEVEL="WARNING",
    )
    return env


def start_simulator(args: argparse.Namespace, env: dict[str, str], logfile: Any) -> tuple:
    cmd = [*CMD, "exchange", "serve", str(DAY), "--exchange-info", str(INFO),
           "--speed", str(args.speed), "--commission", "received", "--fills", "volume",
           "--port", "0", "--balance", "USDT=10000"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=logfile, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    url = key = secret = ""
    while time.monotonic() < deadline and not (url and key and secret):
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the simulator exited before it was ready")
        if m := re.search(r"(http://127\.0\.0\.1:\d+)", line):
            url = url or m.group(1)
        if m := re.search(r"API key\W+(\S+)", line, re.IGNORECASE):
            key = m.group(1)
        if m := re.search(r"secret\W+(\S+)", line, re.IGNORECASE):
            secret = m.group(1)
    if not url:
        raise SystemExit("the simulator printed no URL")
    return proc, url, key, secret


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--budget", default="1000")
    parser.add_argument("--chunks", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--node-src",
        type=Path,
        help="run the node from this source tree (e.g. a worktree of an older commit: the "
        "checks must fail for traders that ignore the base-asset commission)",
    )
    args = parser.parse_args()
    if not DAY.exists() or not INFO.exists():
        log(f"skipped: the recorded day is not in {DATA}")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="hedgehog-rules-"))
    env = clean_env(workdir)
    sim_log = (workdir / "simulator.log").open("w")
    node_log = (workdir / "node.log").open("w")
    sim, url, key, secret = start_simulator(args, env, sim_log)
    ws = url.replace("http://", "ws://")
    node_env = dict(env, HEDGEHOG_BINANCE_API_KEY=key, HEDGEHOG_BINANCE_API_SECRET=secret)
    if args.node_src is not None:
        node_env["PYTHONPATH"] = str(args.node_src.resolve())
    duration = args.minutes * 60
    node = subprocess.Popen(
        [*CMD, "run", "--exchange", "binance", "--symbols", "XRPUSDT", "--rest-url", url,
         "--stream-url", ws, "--ws-api-url", f"{ws}/ws-api/v3", "--budget", args.budget,
         "--chunks", str(args.chunks), "--no-view", "--duration", str(duration)],
        env=node_env, stdout=node_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log(f"simulator {url} (speed {args.speed:g}), node pid {node.pid}, {args.minutes:g} min")
    worst: dict[str, Any] = {"buy_rejections": 0, "sell_rejections": 0, "blocked": [],
                             "errored": None}  # fmt: skip
    started = time.monotonic()
    polls = 0
    try:
        while node.poll() is None:
            time.sleep(5)
            try:
                control = json.loads((workdir / "node" / "control.json").read_text())
                token = (workdir / "node" / "control.token").read_text().strip()
                status = get(control["url"] + "/api/status", token)
            except (OSError, ValueError, KeyError):
                continue
            polls += 1
            sym = status.get("symbols", {}).get("XRPUSDT", {})
            for side in ("buy", "sell"):
                name = f"{side}_rejections"
                worst[name] = max(worst[name], int(sym.get(name) or 0))
            worst["blocked"] += [t["blocked"] for t in sym.get("traders", []) if t.get("blocked")]
            worst["errored"] = worst["errored"] or sym.get("errored")
            if polls % 12 == 0:
                log(f"{time.monotonic() - started:.0f} s: cycles {sym.get('cycles_completed')}"
                    f", traders {len(sym.get('traders', []))}, rejections "
                    f"{worst['buy_rejections']}/{worst['sell_rejections']}")  # fmt: skip
        post(url + "/_sim/pause")  # nothing fills while the ledger is read
        ledger = get(url + "/_sim/ledger")["orders"]
    finally:
        for proc in (node, sim):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    summary = check(ledger, worst, node.returncode)
    summary.update(minutes=args.minutes, speed=args.speed, polls=polls, workdir=str(workdir))
    print(json.dumps(summary) if args.json else json.dumps(summary, indent=2))
    return 1 if summary["failures"] else 0


def check(ledger: list[dict[str, Any]], worst: dict[str, Any], node_code: int | None) -> dict:
    """The acceptance checks over the simulator's ledger and the node's worst status."""
    failures: list[str] = []
    if worst["buy_rejections"] or worst["sell_rejections"]:
        failures.append(f"orders refused: {worst['buy_rejections']} buys, "
                        f"{worst['sell_rejections']} sells")  # fmt: skip
    if worst["blocked"]:
        failures.append(f"traders blocked: {sorted(set(worst['blocked']))[:3]}")
    if worst["errored"]:
        failures.append(f"symbol errored: {worst['errored']}")
    if node_code not in (0, None):
        failures.append(f"the node exited with {node_code}")
    sells = {o["clientOrderId"].rstrip("0123456789")[:-1]: o for o in ledger if o["side"] == "SELL"}
    end = max((o["updateTime"] for o in ledger), default=0)
    step = step_size()
    parts = late = bought = 0
    for buy in (o for o in ledger if o["side"] == "BUY"):
        fills = buy["fills"]
        parts += len(fills) > 1
        if not fills or buy["status"] in ("NEW", "PARTIALLY_FILLED"):
            continue
        bought += 1
        last_fill = max(f["time"] for f in fills)
        sell = sells.get(buy["clientOrderId"][:-1])
        if sell is None:
            if end - last_fill > 10_000:
                failures.append(f"{buy['clientOrderId']} bought at {last_fill}, no sell")
            continue
        if sell["time"] - last_fill > 10_000:
            late += 1
            failures.append(f"{buy['clientOrderId']}: sell {sell['time'] - last_fill} ms late")
        fee = sum(Decimal(f["commission"]) for f in fills if f["commissionAsset"] == "XRP")
        held = Decimal(buy["executedQty"]) - fee
        if Decimal(sell["origQty"]) != held - held % step:
            failures.append(f"{sell['clientOrderId']}: sells {sell['origQty']}, holds {held}")
    cycles = sum(1 for o in ledger if o["side"] == "SELL" and o["status"] == "FILLED")
    if not cycles:
        failures.append("no cycle completed")
    return {"orders": len(ledger), "buys_bought": bought, "buys_filled_in_parts": parts,
            "cycles_completed": cycles, "late_sells": late, **worst,
            "blocked": sorted(set(worst["blocked"])), "failures": failures}  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
