"""The chaos run's checker catches each kind of violation, and a short chaos run (node killed
with SIGKILL, processes killed through the control API) ends with none."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "chaos.py"


def chaos_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chaos", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def order(cid: str, side: str, status: str) -> dict[str, Any]:
    return {"clientOrderId": cid, "side": side, "status": status}


def stored(status: str) -> Any:
    return SimpleNamespace(status=status)


def test_checker_finds_every_kind_of_violation() -> None:
    check = chaos_module().check
    clean = [order("S-t1-0B", "BUY", "FILLED"), order("S-t1-0S", "SELL", "NEW")]
    mine = {"S-t1-0B": stored("FILLED"), "S-t1-0S": stored("NEW")}
    assert sum(check(clean, mine, []).values()) == 0
    assert check([*clean, order("S-t1-0B", "BUY", "NEW")], mine, [])["duplicate_orders"] >= 1
    orphan = [order("S-t2-0B", "BUY", "FILLED")]
    assert check(orphan, {"S-t2-0B": stored("FILLED")}, [])["orphaned_positions"] == 1
    assert check(clean, {**mine, "S-t1-0B": stored("NEW")}, [])["lost_fills"] == 1
    assert check(clean, {"S-t1-0B": stored("FILLED")}, [])["orders_lost_by_store"] == 1
    ref = SimpleNamespace(client_order_id="S-t1-0S", status="FILLED")
    state = SimpleNamespace(buy=None, sell=ref)
    assert check(clean, mine, [state])["states_disagree"] == 1


@pytest.mark.timeout(300)
def test_short_chaos_run_has_no_violation() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--seed",
            "3",
            "--node-kills",
            "3",
            "--process-kills",
            "25",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert result.stdout, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["node_kills"] == 3
    assert summary["process_kills"] >= 20
    assert summary["orders"] > 10
    assert summary["violations"] == dict.fromkeys(summary["violations"], 0), summary
    assert result.returncode == 0
