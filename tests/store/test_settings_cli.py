"""`hedgehog settings seed|show|set` through the real CLI, on the test's private database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hedgehog.market.synthetic import synthetic_exchange_info


def hedgehog(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hedgehog", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_seed_show_set(tmp_path: Path) -> None:
    info = tmp_path / "exchangeInfo.json"
    info.write_text(
        json.dumps(
            synthetic_exchange_info(["AAAUSDT", "BBBUSDT"], "0.0001", "0.1", min_notional="10")
        )
    )
    seeded = hedgehog("settings", "seed", "--exchange-info", str(info))
    assert seeded.returncode == 0, seeded.stderr
    assert "seeded 2 new symbols" in seeded.stdout
    assert (
        "seeded 0 new symbols" in hedgehog("settings", "seed", "--exchange-info", str(info)).stdout
    )
    changed = hedgehog("settings", "set", "aaausdt", "--budget", "500", "--chunks", "2")
    assert changed.returncode == 0, changed.stderr
    shown = hedgehog("settings", "show", "AAAUSDT")
    assert "500" in shown.stdout and "off" in shown.stdout
    for args, message in [
        (("--budget", "-5"), "budget must be positive"),
        (("--chunks", "0"), "chunks must be at least 1"),
        (("--budget", "15", "--chunks", "5", "--exchange-info", str(info)), "min notional"),
    ]:
        bad = hedgehog("settings", "set", "AAAUSDT", *args)
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
    unknown = hedgehog("settings", "set", "ZZZUSDT", "--budget", "5")
    assert unknown.returncode == 2 and "ZZZUSDT" in unknown.stderr
    assert "500" in hedgehog("settings", "show", "AAAUSDT").stdout  # nothing bad was stored
