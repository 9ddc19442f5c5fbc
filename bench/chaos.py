"""Chaos run (issue 5): the simulator and the node as separate OS processes; the node is
killed with SIGKILL and restarted, and traders, leaders and symbol supervisors are killed
through the control API, at random (seeded) moments. At the end the simulator's ledger is
checked against the node's store.

    python bench/chaos.py [--seed S] [--node-kills N] [--process-kills M] [--json]

Violations counted: duplicate orders (one trader cycle side placed twice), orphaned positions
(a filled buy without exactly one sell from its owner), lost fills (the store believes open
what the exchange filled), orders the store lost (on the exchange, not in the store), and
states that disagree (a trader's saved order status differs from the exchange's). Exits
non-zero on any violation; with --json the last line is the JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

SYMBOLS = ("AAAUSDT", "BBBUSDT", "CCCUSDT")
CMD = [sys.executable, "-m", "hedgehog"]
FINAL = {"FILLED", "CANCELED", "REJECTED", "EXPIRED"}


def log(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Chaos:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.workdir = workdir
        self.sim: subprocess.Popen[str] | None = None
        self.node: subprocess.Popen[bytes] | None = None
        self.sim_url = ""
        self.node_kills = 0
        self.process_kills = 0
        self.kinds: Counter[str] = Counter()
        self.http: aiohttp.ClientSession | None = None
        self.env = dict(
            os.environ, HEDGEHOG_DATA_DIR=str(workdir / "node"), HEDGEHOG_LOG_LEVEL="ERROR"
        )

    # -- processes ----------------------------------------------------------------------
    def start_simulator(self) -> None:
        self.sim = subprocess.Popen(
            [
                *CMD,
                "exchange",
                "serve",
                "--synthetic",
                ",".join(SYMBOLS),
                "--speed",
                str(self.args.speed),
                "--seed",
                str(self.args.seed),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
        )
        assert self.sim.stdout is not None
        key = secret = None
        while not (self.sim_url and key and secret):
            line = self.sim.stdout.readline()
            if not line:
                raise RuntimeError("the simulator exited at start")
            if m := re.search(r"REST\s+(http://127\.0\.0\.1:\d+)", line):
                self.sim_url = m.group(1)
            if m := re.search(r"API key\s+(\S+)", line):
                key = m.group(1)
            if m := re.search(r"API secret\s+(\S+)", line):
                secret = m.group(1)
        self.env.update(HEDGEHOG_BINANCE_API_KEY=key, HEDGEHOG_BINANCE_API_SECRET=secret)
        log(f"simulator at {self.sim_url}")

    def start_node(self, first: bool) -> None:
        ws = self.sim_url.replace("http", "ws")
        args = [
            *CMD,
            "run",
            "--exchange",
            "binance",
            "--rest-url",
            self.sim_url,
            "--stream-url",
            ws,
            "--ws-api-url",
            f"{ws}/ws-api/v3",
            "--no-view",
        ]
        if first:
            args += ["--symbols", ",".join(SYMBOLS), "--budget", "100", "--chunks", "5"]
        out = open(self.workdir / "node.log", "ab")  # noqa: SIM115 - handed to the child
        self.node = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=out, env=self.env)
        out.close()

    async def control(self) -> tuple[str, str]:
        """Wait until the current node answers on its control API; its (url, token)."""
        assert self.node is not None and self.http is not None
        data_dir = Path(self.env["HEDGEHOG_DATA_DIR"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.node.poll() is not None:
                raise RuntimeError(f"the node exited ({self.node.returncode}); see node.log")
            try:
                address = json.loads((data_dir / "control.json").read_text())
                token = (data_dir / "control.token").read_text().strip()
                if address["pid"] == self.node.pid:
                    url = address["url"]
                    async with self.http.get(
                        f"{url}/api/status", headers={"Authorization": f"Bearer {token}"}
                    ) as r:
                        if r.status == 200:
                            return url, token
            except (OSError, ValueError, KeyError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError("the node did not come up within 60 s")

    async def kill_node(self) -> None:
        assert self.node is not None
        self.node.send_signal(signal.SIGKILL)
        self.node.wait()
        self.node_kills += 1
        self.start_node(first=False)
        await self.control()

    async def kill_process(self) -> None:
        assert self.http is not None
        url, token = await self.control()
        auth = {"Authorization": f"Bearer {token}"}
        async with self.http.get(f"{url}/api/status", headers=auth) as r:
            status = await r.json()
        symbol = self.rng.choice(SYMBOLS)
        kind = self.rng.choices(["trader", "leader", "symbol"], [7, 2, 1])[0]
        traders = status["symbols"].get(symbol, {}).get("traders", [])
        if kind == "trader" and traders:
            target = f"trader:{symbol}:{self.rng.choice(traders)['trader_id']}"
        else:
            kind = "leader" if kind == "trader" else kind
            target = f"{kind}:{symbol}"
        async with self.http.post(f"{url}/api/kill", json={"process": target}, headers=auth) as r:
            if r.status == 200:
                self.process_kills += 1
                self.kinds[kind] += 1

    # -- the run --------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        self.http = aiohttp.ClientSession()
        try:
            self.start_simulator()
            self.start_node(first=True)
            await self.control()
            events = ["node"] * self.args.node_kills + ["process"] * self.args.process_kills
            self.rng.shuffle(events)
            for i, event in enumerate(events):
                await asyncio.sleep(self.rng.uniform(0, self.args.gap * 2))
                if event == "node":
                    await self.kill_node()
                else:
                    await self.kill_process()
                if (i + 1) % 50 == 0:
                    log(
                        f"{i + 1}/{len(events)} events: {self.node_kills} node kills, "
                        f"{self.process_kills} process kills"
                    )
            await asyncio.sleep(self.args.settle)  # let recovery finish, then stop cleanly
            assert self.node is not None
            self.node.send_signal(signal.SIGTERM)
            self.node.wait(timeout=60)
            async with self.http.get(f"{self.sim_url}/_sim/ledger") as r:
                ledger = (await r.json())["orders"]
        finally:
            if self.node is not None and self.node.poll() is None:
                self.node.kill()
            if self.sim is not None:
                self.sim.send_signal(signal.SIGTERM)
                self.sim.communicate(timeout=30)
            await self.http.close()
        stored = await read_store(Path(self.env["HEDGEHOG_DATA_DIR"]))
        violations = check(ledger, *stored)
        return {
            "seed": self.args.seed,
            "node_kills": self.node_kills,
            "process_kills": self.process_kills,
            "process_kills_by_kind": dict(self.kinds),
            "orders": len(ledger),
            "fills": sum(1 for o in ledger if o["status"] == "FILLED"),
            "violations": violations,
        }


async def read_store(data_dir: Path) -> tuple[dict[str, Any], list[Any]]:
    from hedgehog.store import Database, OrderRepo, SqlTraderStore

    db = Database(None, data_dir)
    try:
        orders = {o.client_order_id: o for o in await OrderRepo(db).all()}
        store = SqlTraderStore(db)
        states = [s for symbol in SYMBOLS for s in await store.load(symbol)]
    finally:
        await db.close()
    return orders, states


def check(
    ledger: list[dict[str, Any]], orders: dict[str, Any], states: list[Any]
) -> dict[str, int]:
    v: Counter[str] = Counter(
        duplicate_orders=0,
        orphaned_positions=0,
        lost_fills=0,
        orders_lost_by_store=0,
        states_disagree=0,
    )
    by_cid: dict[str, dict[str, Any]] = {}
    intents: Counter[str] = Counter()
    for o in ledger:
        cid = o["clientOrderId"]
        if cid in by_cid:
            v["duplicate_orders"] += 1
        by_cid[cid] = o
        intents[cid] += 1
    cycles: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for cid, o in by_cid.items():
        cycles.setdefault(cid[:-1], {}).setdefault(o["side"], []).append(o)
    for sides in cycles.values():
        buys, sells = sides.get("BUY", []), sides.get("SELL", [])
        if len(buys) > 1 or len(sells) > 1:
            v["duplicate_orders"] += 1
        if buys and buys[0]["status"] == "FILLED" and len(sells) != 1:
            v["orphaned_positions"] += 1
        if sells and not buys:
            v["orphaned_positions"] += 1
    for cid, o in by_cid.items():
        mine = orders.get(cid)
        if mine is None:
            v["orders_lost_by_store"] += 1
        elif o["status"] == "FILLED" and mine.status != "FILLED":
            v["lost_fills"] += 1
    for state in states:
        for ref in (state.buy, state.sell):
            if ref is None:
                continue
            there = by_cid.get(ref.client_order_id)
            if there is None:
                if ref.status != "PENDING":
                    v["states_disagree"] += 1
            elif there["status"] != ref.status:
                v["states_disagree"] += 1
    return dict(v)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--node-kills", type=int, default=10)
    parser.add_argument("--process-kills", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.4, help="mean seconds between events")
    parser.add_argument("--speed", type=float, default=30, help="market pace (x10 trades/s)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before the check")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hedgehog-chaos-") as tmp:
        started = time.monotonic()
        try:
            summary = asyncio.run(Chaos(args, Path(tmp)).run())
        except RuntimeError as exc:
            node_log = Path(tmp, "node.log")
            tail = node_log.read_text()[-3000:] if node_log.exists() else ""
            print(f"chaos run failed: {exc}\n{tail}", file=sys.stderr)
            raise SystemExit(2) from None
        summary["elapsed_s"] = round(time.monotonic() - started, 1)
    bad = sum(summary["violations"].values())
    print(json.dumps(summary) if args.json else json.dumps(summary, indent=2))
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
