"""One chaos run: start the simulator and the node, strike (node SIGKILLs at random and aimed
moments, process kills through the control API), let the node settle, pause the market, wait
for quiet, stop the node, read the evidence, check it."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from chaos_aim import MOMENTS, IntentWatch, Strike, aim_summary, strike
from chaos_check import Evidence, check_order_path
from chaos_evidence import balances, read_exchange, read_markets, read_store
from chaos_money import check_money, rejections
from chaos_procs import SYMBOLS, Procs, simulator_options

QUIET_S = 3.0  # no order request for this long: the node has nothing left to do


def log(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def schedule(args: argparse.Namespace, rng: random.Random) -> list[str]:
    """The events in order: "process", or a node kill's moment (moments in equal shares)."""
    moments = [MOMENTS[i % len(MOMENTS)] for i in range(args.node_kills)]
    if args.moments != "all":
        moments = [args.moments] * args.node_kills
    events = moments + ["process"] * args.process_kills
    rng.shuffle(events)
    return events


class Run:
    def __init__(self, args: argparse.Namespace, workdir: Path, database_url: str) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.url = database_url
        self.procs = Procs(workdir, database_url, args.mutant)
        self.strikes: list[Strike] = []
        self.kinds: Counter[str] = Counter()
        self.ignored: dict[str, str] = {}

    async def run(self) -> dict[str, Any]:
        args, procs = self.args, self.procs
        extra, self.ignored = simulator_options(
            {"commission": args.commission, "fills": args.fills}
        )
        if self.ignored:
            log(f"the simulator does not know {self.ignored} yet: running on its defaults")
        procs.http = aiohttp.ClientSession()
        watch = IntentWatch(self.url)
        ev = Evidence()
        try:
            procs.start_simulator(args.speed, args.seed, extra)
            log(f"simulator at {procs.sim_url}; store {mask(self.url)}")
            ev.markets = await read_markets(procs)
            ev.start_balances = {
                a: free + locked
                for a, (free, locked) in balances(await procs.sim_get("/_sim/account")).items()
            }
            procs.start_node(first=True)
            await procs.control()
            await asyncio.sleep(args.warmup)
            events = schedule(args, self.rng)
            for i, event in enumerate(events):
                if event == "process":
                    await asyncio.sleep(self.rng.uniform(0, args.gap * 2))
                    await self.kill_process()
                else:
                    hit = await strike(procs, event, watch, self.rng, args.gap)
                    self.strikes.append(hit)
                    await procs.restart_node(hit.killed_at)
                if (i + 1) % 50 == 0:
                    log(
                        f"{i + 1}/{len(events)} events: {len(self.strikes)} node kills, "
                        f"{sum(self.kinds.values())} process kills"
                    )
            await asyncio.sleep(args.settle)  # trading and recovery go on
            await procs.sim_post("/_sim/pause")  # no trade, so no fill, from here on
            await self.quiet()
            procs.stop_node()
            ev.end_ns = time.time_ns()
            await read_exchange(procs, ev)
            ev.node_down = procs.down
            ev.rows, ev.traders = await read_store(self.url)
        finally:
            watch.close()
            procs.stop_node()
            procs.stop_simulator()
            await procs.http.close()
        if args.keep is not None:
            dump(ev, args.keep / "evidence.json")
        violations = {**check_order_path(ev), **check_money(ev, args.liveness)}
        return self.summary(ev, violations)

    async def kill_process(self) -> None:
        symbol = self.rng.choice(SYMBOLS)
        kind = self.rng.choices(["trader", "leader", "symbol"], [7, 2, 1])[0]
        done = await self.procs.kill_process(kind, symbol, self.rng.choice)
        if done is not None:
            self.kinds[done] += 1

    async def quiet(self) -> None:
        """Wait (market paused) until no order request came for QUIET_S and at least the
        final wait passed (the node's order poller runs every 10 s), at most 90 s."""
        started = time.monotonic()
        count, since = -1, time.monotonic()
        while time.monotonic() - started < 90:
            now = (await self.procs.sim_get("/_sim/arrivals?since=1000000000"))["count"]
            if now != count:
                count, since = now, time.monotonic()
            elif time.monotonic() - since >= QUIET_S and time.monotonic() - started >= (
                self.args.final_wait
            ):
                return
            await asyncio.sleep(0.5)
        log("the node never went quiet (still placing orders 90 s after the pause)")

    def summary(self, ev: Evidence, violations: dict[str, int]) -> dict[str, Any]:
        args = self.args
        by_moment = Counter(s.moment for s in self.strikes)
        return {
            "seed": args.seed,
            "database": mask(self.url).split("?")[0],
            "simulator": {
                "commission": args.commission,
                "fills": args.fills,
                "not_supported_yet": self.ignored,
            },
            "mutant": args.mutant,
            "node_kills": len(self.strikes),
            "node_kills_by_moment": {m: by_moment[m] for m in MOMENTS},
            "aimed": aim_summary(self.strikes, ev.arrivals),
            "process_kills": sum(self.kinds.values()),
            "process_kills_by_kind": dict(self.kinds),
            "orders": len(ev.ledger),
            "filled_orders": sum(1 for o in ev.ledger if o["status"] == "FILLED"),
            "fills": sum(len(o.get("fills", [])) for o in ev.ledger),
            "order_requests": len(ev.arrivals),
            "refused_requests": rejections(ev),
            "store_rows": len(ev.rows),
            "violations": violations,
        }


def dump(ev: Evidence, path: Path) -> None:
    """The evidence as JSON, to look into a failed check."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dataclasses.asdict(ev), default=str, indent=1))


def mask(url: str) -> str:
    from hedgehog.store.db import mask_url

    return mask_url(url)
