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


def test_set_a_strategy_and_its_params(tmp_path: Path) -> None:
    info = tmp_path / "exchangeInfo.json"
    info.write_text(
        json.dumps(
            synthetic_exchange_info(["AAAUSDT", "BBBUSDT"], "0.0001", "0.1", min_notional="10")
        )
    )
    assert hedgehog("settings", "seed", "--exchange-info", str(info)).returncode == 0
    grid = ("--param", "lower=0.4", "--param", "upper=0.44", "--param", "levels=5")
    changed = hedgehog("settings", "set", "AAAUSDT", "--strategy", "grid", *grid, "--json")
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout) == {
        "symbol": "AAAUSDT", "lower": "0.4", "upper": "0.44", "levels": 5, "budget": "1000",
        "fee": "0.001", "strategy": "grid", "status": "off",
    }  # fmt: skip
    # without --strategy: some parameters of the strategy it has change, the rest stay
    more = hedgehog("settings", "set", "AAAUSDT", "--param", "upper=0.46", "--budget", "500")
    assert more.returncode == 0, more.stderr
    assert "strategy: grid" in more.stdout and "upper: 0.46" in more.stdout
    assert "lower: 0.4" in more.stdout and "budget: 500" in more.stdout
    shown = hedgehog("settings", "show", "--json")
    rows = {r["symbol"]: r for r in json.loads(shown.stdout)}
    assert (rows["AAAUSDT"]["strategy"], rows["BBBUSDT"]["strategy"]) == ("grid", "naive")
    table = hedgehog("settings", "show", "AAAUSDT").stdout
    assert "grid" in table and "levels=5" in table
    for args, message in [
        (("--strategy", "grid", "--chunks", "2", *grid), "--chunks: naive's options"),
        (("--strategy", "grid", "--param", "lower=0.4"), "grid needs upper, levels"),
        (("--strategy", "nope"), "unknown strategy 'nope'"),
        (("--param", "chunks=2"), "grid: unknown setting 'chunks'"),
        (
            ("--strategy", "grid", *grid, "--param", "levels=500", "--exchange-info", str(info)),
            "given twice",
        ),
        (
            (
                "--strategy",
                "grid",
                "--param",
                "lower=0.4",
                "--param",
                "upper=0.40001",
                "--param",
                "levels=50",
                "--exchange-info",
                str(info),
            ),
            "collapse on the tick size",
        ),
    ]:
        bad = hedgehog("settings", "set", "AAAUSDT", *args)
        assert bad.returncode == 2 and message in bad.stderr, (args, bad.stderr)
    assert (
        json.loads(hedgehog("settings", "show", "AAAUSDT", "--json").stdout)[0]["upper"] == "0.46"
    )
    # a symbol not seeded yet is added when its filters are given
    fresh = hedgehog(
        "settings", "set", "BBBUSDT", "--strategy", "grid", *grid, "--exchange-info", str(info)
    )
    assert fresh.returncode == 0, fresh.stderr
