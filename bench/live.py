"""Live benchmark (issue 4): a node trading 100 symbols x 5 traders against the simulator.

    python bench/live.py [--quick] [--json] [--uvloop] [--symbols N] [--phases a,b]

The simulator (a synthetic market, `start_simulator(..., trace_latency=True)`) runs in its own
OS process: this script started again with `--simulator`. The node runs in this process: the
real Binance REST client, trade streamer and user data stream over loopback (exchange "binance",
the simulator's demo keys), `TradingSettings(chunks=5, budget=50)` on every symbol (one trader
at first, up to 5 on rebuys). Each phase gets a fresh simulator and node:

- `saturation`: `--speed 0 --wait-for-clients`, the feed as fast as the node takes it;
- `steady`: a moderate, steady feed (5,000 trades/s in all; the synthetic market prints one trade
  per symbol per step, so it comes as 50 bursts a second of one trade per symbol);
- `dropping`: `--speed 0` without waiting: a client 10,000 frames behind is cut off (full run).

The node runs on CPU 0, the simulator on CPU 1 (`--no-pin` to let the OS place them).

Throughput: trade events the node's stream connection received and published (`info()`
`trades`) per second over a fixed window after a warm-up, beside what the simulator sent
(`/_sim/stats` `trades_replayed`), and each process's share of the window on a CPU and
runnable but waiting for one (/proc/<pid>/schedstat: on a shared machine the wait shows it).
Latency: for every BUY a trade made a trader place in the window (`NaiveContext.on_order_intent`
gives the trade and the client order id), the time from the simulator writing that trade's
frame to a socket to the simulator receiving the order (`POST /api/v3/order` handler), both
stamped in the simulator with `time.time_ns()` (`/_sim/latency`); split at the trader's
decision (stamped here, same clock). The node's garbage collections in the window are counted.

The simulator runs without a request-weight limit and the client's own weight budget is lifted:
with 100 symbols the order poller alone (openOrders, weight 6, per symbol every 10 s) uses
3,600 of Binance's 6,000 a minute, and above 90% the client holds every request until the
next minute, which would measure Binance's rate limit, not the node.

Goals: >= 50,000 trade events/s into the node; p99 trade-to-order <= 5 ms.
`--quick` (CI): 10 symbols, two short phases, nothing asserted. `--json`: one JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import math
import os
import platform
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from hedgehog.config import Settings
from hedgehog.core.types import Side, TradeEvent
from hedgehog.exchange.binance.rest import BinanceExchange
from hedgehog.live.feeds import WatchedExchange
from hedgehog.live.node import LiveNode
from hedgehog.naive.context import leader_name
from hedgehog.naive.settings import TradingSettings
from hedgehog.naive.strategy import OrderRef

GOAL_TRADES_PER_S = 50_000
GOAL_P99_MS = 5.0
BUDGET = Decimal(50)  # per symbol: 5 chunks of 10 USDT; 100 symbols fit the 10,000 USDT account


class CountingHandler(logging.Handler):
    """Counts the node's warnings and errors by logger instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = f"{record.levelname} {record.name}"
        self.counts[key] = self.counts.get(key, 0) + 1


class GcWatch:
    """The node's garbage collections (count and longest pause per generation) while on."""

    def __init__(self) -> None:
        self.on = False
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if not self.on:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def start(self) -> None:
        self.pauses, self.on = [], True

    def stop(self) -> dict[str, Any]:
        self.on = False
        out: dict[str, Any] = {}
        for gen in (0, 1, 2):
            times = [t for g, t in self.pauses if g == gen]
            out[f"gen{gen}"] = len(times)
            out[f"gen{gen}_max_ms"] = round(max(times) * 1000, 1) if times else 0.0
        return out


GC = GcWatch()


def names(n: int) -> list[str]:
    return [f"SYM{i}USDT" for i in range(n)]


# -- the simulator process -------------------------------------------------------------------
def serve_simulator(args: argparse.Namespace) -> None:
    """Child mode: serve the simulator, paused, until stdin closes or SIGTERM."""
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})

    async def main() -> None:
        from hedgehog.simulator import start_simulator

        sim = await start_simulator(
            synthetic=names(args.symbols),
            speed=args.speed,
            paused=True,
            weight_limit=0,
            wait_for_clients=5.0 if args.wait_for_clients else None,
            trace_latency=True,
        )
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)

        def stdin_ready() -> None:
            if not os.read(sys.stdin.fileno(), 4096):
                stop.set()  # our parent is gone or done

        loop.add_reader(sys.stdin.fileno(), stdin_ready)
        print(json.dumps({"url": sim.url, "ws_url": sim.ws_url, "ws_api_url": sim.ws_api_url,
                          "key": sim.api_key, "secret": sim.api_secret}), flush=True)  # fmt: skip
        await stop.wait()
        await sim.close()

    run(main(), args.uvloop)


def run(coro: Any, uvloop: bool) -> Any:
    if uvloop:
        import uvloop as uv

        return uv.run(coro)
    return asyncio.run(coro)


def sched(pid: int) -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable but waiting for one) of a process's main thread,
    from /proc/<pid>/schedstat (Linux); None where it is not available."""
    try:
        on_cpu, waiting, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return None
    return int(on_cpu) / 1e9, int(waiting) / 1e9


class SimProcess:
    """A simulator in its own process, started at once (all phases' start together), paused
    until its phase resumes it."""

    def __init__(self, symbols: int, speed: float, wait: bool, cpu: int | None, uvloop: bool):
        cmd = [sys.executable, __file__, "--simulator", "--symbols", str(symbols),
               "--speed", repr(speed)]  # fmt: skip
        cmd += ["--wait-for-clients"] if wait else []
        cmd += ["--cpu", str(cpu)] if cpu is not None else []
        cmd += ["--uvloop"] if uvloop else []
        self.wait = wait
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.info: dict[str, str] = {}
        self.url = ""

    def ready(self) -> None:
        """Wait for its URLs."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise RuntimeError(f"the simulator did not start (exit code {self.proc.returncode})")
        self.info = json.loads(line)
        self.url = self.info["url"]

    def sched(self) -> tuple[float, float] | None:
        return sched(self.proc.pid)

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- one phase -------------------------------------------------------------------------------
async def watch_dashboards(node: LiveNode, count: int) -> tuple[Any, list[asyncio.Task[int]]]:
    """Serve the node's control API with its dashboard and keep `count` dashboards open: each
    reads the live event stream (/api/events) as a browser does."""
    from hedgehog.control.host import extra_routes
    from hedgehog.control.server import build_app, serve

    token = "bench"
    runner, url = await serve(build_app(node, token, routes=extra_routes(node)))

    async def read() -> int:
        received = 0
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{url}/api/events?token={token}", timeout=aiohttp.ClientTimeout(total=None)
            ) as resp,
        ):
            async for chunk in resp.content.iter_any():
                received += len(chunk)
        return received

    return runner, [asyncio.create_task(read()) for _ in range(count)]


async def phase(
    name: str,
    sim: SimProcess,
    symbols: int,
    speed: float,
    warmup: float,
    window: float,
    dashboards: int = 0,
) -> dict[str, Any]:
    sim.ready()
    http = aiohttp.ClientSession()
    node: LiveNode | None = None
    runner = None
    readers: list[asyncio.Task[int]] = []
    try:
        node = await LiveNode.create(
            Settings(
                exchange="binance",
                rest_url=sim.url,
                stream_url=sim.info["ws_url"],
                ws_api_url=sim.info["ws_api_url"],
                binance_api_key=sim.info["key"],  # type: ignore[arg-type]
                binance_api_secret=sim.info["secret"],  # type: ignore[arg-type]
            ),
            trader_prefix="b",
        )
        if isinstance(node.exchange, WatchedExchange) and isinstance(
            node.exchange.inner, BinanceExchange
        ):
            node.exchange.inner.max_weight_per_minute = 10**9  # see the module docstring
        intents: dict[str, tuple[str, int, int]] = {}

        def on_intent(trade: TradeEvent, order: OrderRef) -> None:
            if order.side is Side.BUY:
                intents[order.client_order_id] = (trade.symbol, trade.trade_id, time.time_ns())

        node.naive.ctx.on_order_intent = on_intent
        await node.start()
        for symbol in names(symbols):
            await node.start_trading(symbol, TradingSettings(symbol, chunks=5, budget=BUDGET))
        await until(lambda: ready(node, symbols), 30.0)
        gc.freeze()  # as `hedgehog run` does once its node has booted
        if dashboards:
            runner, readers = await watch_dashboards(node, dashboards)

        async def sim_json(method: str, path: str, body: Any = None) -> Any:
            async with http.request(method, f"{sim.url}/_sim/{path}", json=body) as resp:
                resp.raise_for_status()
                return await resp.json()

        await sim_json("POST", "resume")
        await asyncio.sleep(warmup)
        a = await snapshot(node, sim, sim_json)
        GC.start()
        await asyncio.sleep(window)
        collections = GC.stop()
        b = await snapshot(node, sim, sim_json)
        await sim_json("POST", "pause")
        in_window = [(cid, *v) for cid, v in intents.items() if a["ns"] <= v[2] < b["ns"]]
        deadline = time.monotonic() + 10.0
        while True:  # until every order decided in the window has reached the simulator
            arrived: dict[str, int] = (await sim_json("GET", "latency"))["orders"]
            if all(cid in arrived for cid, *_ in in_window) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        sent = await sim_json("POST", "latency", {"trades": [[s, t] for _, s, t, _ in in_window]})
        total, decide, send = [], [], []
        for (cid, _, _, decided), sent_ns in zip(in_window, sent["sent"], strict=True):
            got = arrived.get(cid)
            if sent_ns is None or got is None:
                continue  # counted as unmatched in the report
            total.append(got - sent_ns)
            decide.append(decided - sent_ns)
            send.append(got - decided)
        result = report(name, symbols, speed, sim.wait, a, b, total, decide, send, len(in_window))
        return {**result, "node_gc": collections, "dashboards": dashboards}
    finally:
        for task in readers:
            task.cancel()
        if runner is not None:
            await runner.cleanup()
        if node is not None:
            await node.stop()
        await http.close()
        sim.close()


def ready(node: LiveNode, symbols: int) -> bool:
    conns = node.streamer.status().get("connections", {}).values()
    streaming = sum(c.get("subscribed", 0) for c in conns if c.get("connected"))
    router = node.rt.whereis("exchange.fills")
    user_stream = router is not None and bool(router.info().get("user_stream_connected"))
    leaders = sum(node.rt.whereis(leader_name(s)) is not None for s in names(symbols))
    return streaming == symbols and user_stream and leaders == symbols


async def until(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the node was not ready within {timeout:g} s")
        await asyncio.sleep(0.05)


async def snapshot(node: LiveNode, sim: SimProcess, sim_json: Any) -> dict[str, Any]:
    conns = list(node.streamer.status().get("connections", {}).values())
    traders = 0
    for symbol in node.naive.trading():
        leader = node.rt.whereis(leader_name(symbol))
        traders += len(getattr(leader, "slots", ()))
    stats = await sim_json("GET", "stats")
    return {
        "ns": time.time_ns(),
        "t": time.perf_counter(),
        "sched": sched(os.getpid()),
        "sim_sched": sim.sched(),
        "trades": sum(c.get("trades", 0) for c in conns),
        "messages": sum(c.get("messages", 0) for c in conns),
        "reconnects": sum(c.get("reconnects", 0) for c in conns),
        "missed": sum(c.get("missed_trades", 0) for c in conns),
        "traders": traders,
        "sim": stats,
    }


def share(
    a: tuple[float, float] | None, b: tuple[float, float] | None, dt: float
) -> tuple[float | None, float | None]:
    if a is None or b is None:
        return None, None
    return round((b[0] - a[0]) / dt, 2), round((b[1] - a[1]) / dt, 2)


def quantile(values: list[int], q: float) -> float:
    """Nearest-rank quantile, in ms."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] / 1e6


def latency(values: list[int]) -> dict[str, Any]:
    if not values:
        return {"samples": 0}
    stats: dict[str, Any] = {"samples": len(values)}
    for label, q in (("p50_ms", 0.5), ("p90_ms", 0.9), ("p99_ms", 0.99), ("max_ms", 1.0)):
        stats[label] = round(quantile(values, q), 3)
    return stats


def report(
    name: str,
    symbols: int,
    speed: float,
    wait: bool,
    a: dict[str, Any],
    b: dict[str, Any],
    total: list[int],
    decide: list[int],
    send: list[int],
    buys: int,
) -> dict[str, Any]:
    dt = b["t"] - a["t"]
    trades = b["trades"] - a["trades"]
    node, simulator = share(a["sched"], b["sched"], dt), share(a["sim_sched"], b["sim_sched"], dt)
    sent = b["sim"]["trades_replayed"] - a["sim"]["trades_replayed"]
    orders = b["sim"]["orders"]["placed"] - a["sim"]["orders"]["placed"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "phase": name,
        "symbols": symbols,
        "speed": speed,
        "wait_for_clients": wait,
        "window_s": round(dt, 2),
        "node_trades_per_s": round(trades / dt),
        "node_messages_per_s": round((b["messages"] - a["messages"]) / dt),
        "sim_trades_per_s": round(sent / dt),
        "node_cpu": node[0],  # share of the window on a CPU
        "node_cpu_wait": node[1],  # share of the window runnable but waiting for a CPU
        "sim_cpu": simulator[0],
        "sim_cpu_wait": simulator[1],
        "node_trades_per_cpu_s": round(trades / (node[0] * dt)) if node[0] else None,
        "orders_per_s": round(orders / dt, 1),
        "traders": b["traders"],
        "dropped_clients": b["sim"]["dropped_clients"] - a["sim"]["dropped_clients"],
        "reconnects": b["reconnects"] - a["reconnects"],
        "missed_trades": b["missed"] - a["missed"],
        "buys_in_window": buys,
        "buys_unmatched": buys - len(total),  # no arrival (or send time) found: not in figures
        "latency": latency(total),
        "trade_to_decision": latency(decide),
        "decision_to_order": latency(send),
        "loadavg_1m": round(load, 2) if load is not None else None,
    }


# -- main ------------------------------------------------------------------------------------
PHASES = ("saturation", "steady", "dropping")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    symbols = args.symbols or (10 if args.quick else 100)
    warmup, window = (0.5, 1.5) if args.quick else (5.0, 15.0)
    chosen = args.phases.split(",") if args.phases else (
        ["saturation", "steady"] if args.quick else list(PHASES)
    )  # fmt: skip
    pin = args.pin and (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity")
    if pin:
        os.sched_setaffinity(0, {0})
    steady_speed = args.steady_rate / (10 * symbols)  # synthetic: 10 trades/s/symbol x speed
    plans = {
        "saturation": (0.0, True, warmup, window),
        "steady": (steady_speed, False, warmup, window + (0 if args.quick else 5)),
        "dropping": (0.0, False, warmup / 2, window * 2 / 3),
    }
    results = {}
    logs = CountingHandler()
    root = logging.getLogger("hedgehog")
    root.addHandler(logs)
    root.propagate = False
    sims = {name: SimProcess(symbols, *plans[name][:2], 1 if pin else None, args.uvloop)
            for name in chosen}  # fmt: skip
    try:
        for name in chosen:
            speed, _, w, win = plans[name]
            logs.counts = {}
            results[name] = await phase(name, sims[name], symbols, speed, w, win, args.dashboards)
            results[name]["log_warnings"] = logs.counts
    finally:
        for sim in sims.values():
            sim.close()
    return {
        "phases": results,
        "goals": {"node_trades_per_s": GOAL_TRADES_PER_S, "p99_ms": GOAL_P99_MS},
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "pinned": pin,
        "loop": "uvloop" if args.uvloop else "asyncio",
    }


def show(res: dict[str, Any]) -> None:
    for r in res["phases"].values():
        lat = r["latency"]
        print(
            f"{r['phase']:>10}: node {r['node_trades_per_s']:>7,} trades/s "
            f"(simulator sent {r['sim_trades_per_s']:,}/s; CPU node {r['node_cpu']} "
            f"+{r['node_cpu_wait']} waiting, simulator {r['sim_cpu']} +{r['sim_cpu_wait']}; "
            f"{r['node_trades_per_cpu_s'] or 0:,} trades per node CPU-s), "
            f"{r['orders_per_s']} orders/s, {r['traders']} traders"
        )
        if lat["samples"]:
            print(
                f"{'':>12}trade-to-order ms: p50 {lat['p50_ms']} p90 {lat['p90_ms']} "
                f"p99 {lat['p99_ms']} max {lat['max_ms']} ({lat['samples']} buys); "
                f"to decision p50 {r['trade_to_decision']['p50_ms']} p99 "
                f"{r['trade_to_decision']['p99_ms']}, decision to order p50 "
                f"{r['decision_to_order']['p50_ms']} p99 {r['decision_to_order']['p99_ms']}"
            )
        if r["dropped_clients"] or r["reconnects"] or r["buys_unmatched"]:
            print(
                f"{'':>12}dropped {r['dropped_clients']}, reconnects {r['reconnects']}, "
                f"missed trades {r['missed_trades']:,}, buys unmatched {r['buys_unmatched']}"
            )
        print(f"{'':>12}node GC in the window: {r['node_gc']}")
        if r["log_warnings"]:
            print(f"{'':>12}log warnings: {r['log_warnings']}")
    meta = {k: v for k, v in res.items() if k != "phases"}
    print(meta)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 symbols, short phases (CI)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--uvloop", action="store_true", help="run both processes on uvloop")
    parser.add_argument("--symbols", type=int, default=0, help="[100; 10 with --quick]")
    parser.add_argument("--phases", default="", help=f"comma-separated, of {', '.join(PHASES)}")
    parser.add_argument(
        "--dashboards",
        type=int,
        default=0,
        help="keep this many dashboards open (their live stream read) [0]",
    )
    parser.add_argument("--steady-rate", type=float, default=5000.0, help="trades/s [5000]")
    parser.add_argument(
        "--pin", action=argparse.BooleanOptionalAction, default=True,
        help="node on CPU 0, simulator on CPU 1 (with 2+ CPUs)",
    )  # fmt: skip
    # the simulator child (internal)
    parser.add_argument("--simulator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--speed", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--wait-for-clients", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.simulator:
        serve_simulator(args)
        sys.exit(0)
    result = run(main(args), args.uvloop)
    if args.json:
        print(json.dumps(result))
    else:
        show(result)
