"""Sweeps on Ray (issue 15, item 5): on a local cluster of two raylets on 127.0.0.1 (a head
and one worker node, started here), a sweep over synthetic data and over a catalog gives the
very outcomes of the local process pool: same rows, same ledgers, same metrics, same ranking."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hedgehog.backtest.sweep import (
    DataSpec,
    Outcome,
    parse_grid,
    plan,
    process_pool,
    rank,
    run_sweep,
)
from hedgehog.core.filters import parse_exchange_info
from hedgehog.market.catalog import Catalog
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# read as Ray is imported: keep 127.0.0.1 (else Ray swaps it for the machine's outward address)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'hedgehog-bot[ray]')")

NAMES = ("AAAUSDT", "BBBUSDT")
FILTERS = tuple(parse_exchange_info(synthetic_exchange_info(list(NAMES), "0.0001", "0.1")).values())
GRID = ["profit_interval=0.001,0.002", "chunks=3,5"]
FIXED = {"budget": "100", "buy_down_interval": "0.0005"}
TIMES = ("elapsed_s", "ticks_per_s")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A head and one worker node (one CPU each) on 127.0.0.1; the driver connected. Ray's
    files (sessions, sockets, the address file) go to a short temp dir of its own."""
    from ray.cluster_utils import Cluster

    temp = tempfile.mkdtemp(prefix="hh-ray-")
    os.makedirs(os.path.join(temp, "ray"))
    before = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = temp
    head = {"num_cpus": 1, "include_dashboard": False, "node_ip_address": "127.0.0.1"}
    nodes = Cluster(initialize_head=True, head_node_args=head)
    try:
        nodes.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        ray.init(address=nodes.address, log_to_driver=False)
        yield nodes.address
    finally:
        ray.shutdown()
        nodes.shutdown()
        if before is None:
            os.environ.pop("RAY_TMPDIR", None)
        else:
            os.environ["RAY_TMPDIR"] = before
        shutil.rmtree(temp, ignore_errors=True)


def _plan() -> list[Any]:
    return plan(parse_grid(GRID), FIXED)


def _rows(outcomes: list[Outcome]) -> list[tuple[Any, ...]]:
    rows = []
    for o in outcomes:
        assert o.ok, o.detail
        result = {k: v for k, v in (o.result or {}).items() if k not in TIMES}
        rows.append((o.index, o.params, result, o.metrics, o.symbols, o.skipped_rows))
    return rows


def _same_as_local(spec: DataSpec, address: str) -> None:
    from hedgehog.backtest.sweep_ray import ray_pool

    combos = _plan()
    local = run_sweep(combos, spec, process_pool(2))
    seen: list[int] = []
    remote = run_sweep(combos, spec, ray_pool(address), progress=lambda o: seen.append(o.index))
    assert sorted(seen) == list(range(len(combos)))
    assert _rows(remote) == _rows(local)
    assert len({o.result["ledger_sha256"] for o in remote if o.result}) == len(combos)
    assert [o.index for o in rank(remote, "net_pnl")] == [o.index for o in rank(local, "net_pnl")]


def test_the_cluster_is_two_nodes_of_one_cpu(cluster: str) -> None:
    alive = [n for n in ray.nodes() if n["Alive"]]
    assert len(alive) == 2 and {n["NodeManagerAddress"] for n in alive} == {"127.0.0.1"}
    assert ray.cluster_resources()["CPU"] == 2


def test_a_synthetic_sweep_on_ray_equals_the_local_pool(cluster: str) -> None:
    spec = DataSpec(FILTERS, synthetic=NAMES, trades=5_000, seed=3)
    _same_as_local(spec, cluster)


def test_a_catalog_sweep_on_ray_equals_the_local_pool(cluster: str, tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog")
    for i, s in enumerate(NAMES):
        catalog.write_table(synthetic_trades(s, 5_000, 5 + i), "synthetic")
    spec = DataSpec(FILTERS, catalog=str(catalog.root), catalog_symbols=NAMES)
    _same_as_local(spec, cluster)


def test_a_failed_combination_is_an_outcome_not_a_failed_sweep(cluster: str) -> None:
    from hedgehog.backtest.sweep_ray import ray_pool

    spec = DataSpec(FILTERS, synthetic=NAMES, trades=2_000, seed=3)
    combos = [{"chunks": "3", **FIXED}, {"chunks": "0", **FIXED}]  # 0: fails in the run
    outcomes = run_sweep(combos, spec, ray_pool(cluster))
    assert [o.ok for o in outcomes] == [True, False]
    assert outcomes[1].error == "AAAUSDT: chunks must be at least 1 (got 0)"
    assert outcomes[1].detail is not None and "Traceback" in outcomes[1].detail


def _sweep(*args: str) -> tuple[int, str]:
    import typer
    from typer.testing import CliRunner

    from hedgehog.cli.sweep import sweep

    app = typer.Typer()
    app.command()(sweep)
    app.command()(lambda: None)  # two commands: `sweep` is named on the command line
    grid = ("--grid", "chunks=3,5", "--budget", "100")
    data = ("--synthetic", "AAAUSDT", "--trades", "3000", "--json")
    result = CliRunner().invoke(app, ["sweep", *grid, *data, *args])
    return result.exit_code, result.stdout


def test_the_command_on_ray_prints_the_local_ranking(cluster: str) -> None:
    import json

    def rows(out: str) -> list[Any]:
        doc = json.loads(out)
        return [(r["params"], r["metrics"], r["result"]["ledger_sha256"]) for r in doc["runs"]]

    code, local = _sweep("--workers", "2")
    assert code == 0, local
    code, remote = _sweep("--ray", cluster)
    assert code == 0, remote
    assert rows(remote) == rows(local)
    code, _ = _sweep("--ray", cluster, "--workers", "2")
    assert code == 2


def test_without_ray_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from hedgehog.backtest.sweep_ray import ray_pool
    from hedgehog.core.errors import ConfigError

    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # import ray: ImportError
    with pytest.raises(ConfigError, match=r"pip install 'hedgehog-bot\[ray\]'"):
        ray_pool("auto")(DataSpec(FILTERS, synthetic=NAMES))


def test_ctrl_c_cancels_the_tasks_and_the_cluster_goes_on(cluster: str) -> None:
    from hedgehog.backtest.sweep_ray import ray_pool

    spec = DataSpec(FILTERS, synthetic=NAMES, trades=20_000, seed=3)
    combos = plan(parse_grid(["chunks=2,3,4,5,6,7,8,9"]), FIXED)

    def interrupt(outcome: Outcome) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(combos, spec, ray_pool(cluster), progress=interrupt)
    after = run_sweep(combos[:2], spec, ray_pool(cluster))
    assert [o.ok for o in after] == [True, True]
