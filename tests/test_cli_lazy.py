"""`hedgehog --help` lists every command from its summary without importing any of them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hedgehog.cli import COMMANDS, _load

HEAVY = ("polars", "numpy", "sqlalchemy", "aiohttp", "pydantic", "matplotlib", "hedgehog.cli.")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_summary_is_the_start_of_the_commands_help(name: str) -> None:
    first_paragraph = " ".join((_load(name).help or "").split("\n\n")[0].split())
    assert first_paragraph.startswith(COMMANDS[name][2])


def test_help_imports_no_command() -> None:
    script = (
        "import sys\n"
        "from hedgehog.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('MODULES', *sorted(sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert "backtest" in out and "warehouse" in out  # every command is listed
    modules = out.split("MODULES", 1)[1].split()
    assert [m for m in modules if m.startswith(HEAVY)] == []
