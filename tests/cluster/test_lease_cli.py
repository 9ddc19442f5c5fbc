"""`hedgehog run --cluster NAME` refuses, in one line and before anything starts, what a
cluster cannot run on: SQLite (its nodes share one PostgreSQL store) and the paper exchange
(its orders live in one process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def hedgehog(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEHOG_")}
    base.update(HEDGEHOG_DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run(
        [sys.executable, "-m", "hedgehog", "run", "--no-view", *args],
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_cluster_on_sqlite_is_refused(tmp_path: Path) -> None:
    done = hedgehog(tmp_path, "--cluster", "c1", "--exchange", "binance")
    assert done.returncode != 0
    assert "a cluster needs PostgreSQL" in done.stderr
    assert "HEDGEHOG_DATABASE_URL=postgresql://" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_cluster_on_the_paper_exchange_is_refused(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere"  # never reached: refused before
    done = hedgehog(tmp_path, "--cluster", "c1", HEDGEHOG_DATABASE_URL=url)
    assert done.returncode != 0
    assert "a cluster trades on a shared exchange" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_node_name_without_a_cluster_is_refused(tmp_path: Path) -> None:
    done = hedgehog(tmp_path, "--node-name", "n1")
    assert done.returncode != 0
    assert "--node-name needs --cluster NAME" in done.stderr
