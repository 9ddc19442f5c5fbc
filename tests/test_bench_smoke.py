"""The benchmarks keep running: their short forms, as CI runs them (figures are not checked
here; BENCHMARKS.md records the full runs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run_bench(name: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, str(BENCH / name), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


@pytest.mark.benchmark_smoke
def test_runtime_benchmark_runs() -> None:
    data = run_bench("runtime.py")
    for key in (
        "cast_per_s",
        "broadcast_5_msgs_per_s",
        "call_us_median_idle_target",
        "spawn_stop_per_s",
        "bytes_per_idle_process",
    ):
        assert isinstance(data[key], float) and data[key] > 0


@pytest.mark.benchmark_smoke
def test_backtest_benchmark_runs() -> None:
    data = run_bench("backtest.py")
    cases = data["cases"]
    assert isinstance(cases, list) and len(cases) == 2
    assert all(c["run_trades_per_s"] > 0 and c["orders"] > 0 for c in cases)


@pytest.mark.benchmark_smoke
def test_live_benchmark_runs() -> None:
    data = run_bench("live.py")
    phases = data["phases"]
    assert isinstance(phases, dict) and set(phases) == {"saturation", "steady"}
    for phase in phases.values():
        assert phase["node_trades_per_s"] > 0 and phase["sim_trades_per_s"] > 0
        assert phase["latency"]["samples"] >= 0
        for key in ("latency", "trade_to_decision", "decision_to_order"):
            stats = phase[key]
            assert stats["samples"] == 0 or 0 < stats["p50_ms"] <= stats["max_ms"]
    assert data["goals"] == {"node_trades_per_s": 50_000, "p99_ms": 5.0}


@pytest.mark.benchmark_smoke
def test_hot_paths_benchmark_runs() -> None:
    data = run_bench("hot_paths.py")
    goals = data["goals"]
    assert isinstance(goals, dict)
    assert set(goals) == {
        "store_insert_rows_per_s",
        "engine_deep_book_trades_per_s",
        "synthetic_million_s",
    }
    for key in goals:
        value = data[key]
        assert isinstance(value, float) and value > 0


@pytest.mark.benchmark_smoke
def test_scale_benchmark_runs() -> None:
    """A catalog written a day at a time, then `hedgehog backtest --catalog` over it."""
    data = run_bench("scale.py")
    assert data["ticks"] == data["trades"] == 2_000_000 and data["days"] == 3
    assert data["orders_placed"] > 0 and data["peak_rss_mb"] > 0
