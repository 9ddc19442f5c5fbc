"""Sweeps on Ray vs the local process pool (issue 15, item 5): combinations per second on the
local pool (2 workers) and on a local Ray cluster of one and then two nodes (one CPU each, on
127.0.0.1), same grid and data, and the overhead per task (a near-empty combination).

    python3 bench/sweep_ray.py [--trades 20000] [--combos 16] [--tiny 40]

Prints one JSON object. Each figure is one timed sweep after a warm-up sweep (workers started,
data loaded): it is throughput of a warm pool or cluster, not start-up time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # keep 127.0.0.1

from hedgehog.backtest.sweep import (
    DataSpec,
    ExecutorFactory,
    parse_grid,
    plan,
    process_pool,
    run_sweep,
)
from hedgehog.core.filters import parse_exchange_info
from hedgehog.market.synthetic import synthetic_exchange_info

NAMES = ("AAAUSDT", "BBBUSDT")


def _spec(trades: int) -> DataSpec:
    filters = parse_exchange_info(synthetic_exchange_info(list(NAMES), "0.0001", "0.1"))
    return DataSpec(tuple(filters.values()), synthetic=NAMES, trades=trades, seed=3)


def _combos(n: int) -> list[Any]:
    profits = ",".join(f"0.{i + 1:05d}" for i in range(max(1, n // 2)))  # 0.00001, ...
    return plan(parse_grid([f"profit_interval={profits}", "chunks=3,5"]), {"budget": "100"})


def _rate(combos: list[Any], spec: DataSpec, factory: ExecutorFactory) -> dict[str, float]:
    run_sweep(combos[:2], spec, factory)  # warm-up: workers up, data loaded
    started = time.perf_counter()
    outcomes = run_sweep(combos, spec, factory)
    elapsed = time.perf_counter() - started
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    return {
        "combos": len(combos),
        "seconds": round(elapsed, 3),
        "combos_per_s": round(len(combos) / elapsed, 3),
        "ms_per_combo": round(1000 * elapsed / len(combos), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=20_000, help="trades per symbol")
    parser.add_argument("--combos", type=int, default=16)
    parser.add_argument("--tiny", type=int, default=40, help="near-empty combinations")
    args = parser.parse_args()
    import ray
    from ray.cluster_utils import Cluster

    from hedgehog.backtest.sweep_ray import ray_pool

    spec, combos = _spec(args.trades), _combos(args.combos)
    tiny_spec, tiny = _spec(10), _combos(args.tiny)
    out: dict[str, Any] = {"trades_per_symbol": args.trades, "symbols": len(NAMES)}
    out["local_pool_2"] = _rate(combos, spec, process_pool(2))
    out["overhead_local_1"] = _rate(tiny, tiny_spec, process_pool(1))
    temp = tempfile.mkdtemp(prefix="hh-ray-")  # Ray's sessions, sockets and address file
    os.makedirs(os.path.join(temp, "ray"))
    os.environ["RAY_TMPDIR"] = temp
    head = {"num_cpus": 1, "include_dashboard": False, "node_ip_address": "127.0.0.1"}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        out["ray_1_node"] = _rate(combos, spec, ray_pool(cluster.address))
        out["overhead_ray_1"] = _rate(tiny, tiny_spec, ray_pool(cluster.address))
        cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        cluster.wait_for_nodes()
        out["ray_2_nodes"] = _rate(combos, spec, ray_pool(cluster.address))
    finally:
        ray.shutdown()
        cluster.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
