"""The package layers are a contract (`.importlinter`, run by CI): the real tree keeps it, and
each kind of breach is caught when planted in a copy of the tree — a lower layer importing a
higher one (also under TYPE_CHECKING), core importing anything of ours, a package importing
the CLI, the strategy or a sans-io core touching I/O."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"
LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))


def lint(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [LINT, "--config", str(CONFIG), "--no-cache"],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_tree_keeps_every_contract() -> None:
    done = lint(ROOT / "src")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


MUTANTS = {
    "a lower layer imports a higher one": (
        "exchange/base.py",
        "from hedgehog.naive.settings import TradingSettings  # noqa\n",
        "Each package imports only the layers below it BROKEN",
    ),
    "a cycle hidden under TYPE_CHECKING": (
        "market/tables.py",
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import hedgehog.backtest.runner\n",
        "Each package imports only the layers below it BROKEN",
    ),
    "core imports something of ours": (
        "core/types.py",
        "import hedgehog.runtime.clock  # noqa\n",
        "core imports nothing of ours (values and rules only) BROKEN",
    ),
    "a domain package imports the CLI": (
        "store/db.py",
        "def _later():\n    import hedgehog.cli.console  # noqa\n",
        "Nothing imports the command line but the entry point BROKEN",
    ),
    "a sans-io core logs": (
        "streamer/sequencer.py",
        "import logging  # noqa\n",
        "The sans-io cores do no I/O: no sockets, no event loop, no clock, no logging BROKEN",
    ),
    "the strategy reads the clock": (
        "naive/strategy.py",
        "import time  # noqa\n",
        "The strategies are pure: no I/O, no clock, no logging, no runtime BROKEN",
    ),
}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_breach_is_caught(name: str, tmp_path: Path) -> None:
    module, planted, verdict = MUTANTS[name]
    shutil.copytree(
        ROOT / "src" / "hedgehog",
        tmp_path / "hedgehog",
        ignore=shutil.ignore_patterns("__pycache__", "static", "migrations"),
    )
    target = tmp_path / "hedgehog" / module
    target.write_text(target.read_text() + "\n" + planted)
    done = lint(tmp_path)
    assert done.returncode != 0, f"{name}: not caught\n{done.stdout}"
    assert verdict in done.stdout, done.stdout
