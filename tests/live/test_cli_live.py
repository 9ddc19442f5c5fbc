"""End to end through the real CLI: `hedgehog exchange serve`, `hedgehog run` (paper, fed by
the simulator's streams) and `hedgehog demo`, including a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import aiohttp
import pytest

from tests.helpers import eventually

CMD = [sys.executable, "-m", "hedgehog"]


@pytest.fixture
def served() -> Iterator[str]:
    proc = subprocess.Popen(
        [*CMD, "exchange", "serve", "--synthetic", "XRPUSDT", "--speed", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    url = None
    deadline = time.monotonic() + 30
    while url is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if match := re.search(r"http://127\.0\.0\.1:\d+", line):
            url = match.group(0)
    assert url, "the simulator did not print its URL"
    try:
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=15)  # stderr goes to stdout here
        assert proc.returncode == 128 + signal.SIGTERM, rest
        assert rest.strip().splitlines()[-1] == "hedgehog: stopped by SIGTERM"


def test_run_paper_on_the_simulators_market(served: str) -> None:
    result = subprocess.run(
        [
            *CMD,
            "run",
            "--symbols",
            "xrpusdt",
            "--exchange",
            "paper",
            "--rest-url",
            served,
            "--stream-url",
            served.replace("http", "ws"),
            "--budget",
            "100",
            "--duration",
            "4",
            "--no-view",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["XRPUSDT"]
    assert summary["trades"] > 10
    assert summary["open_orders"] >= 1


def test_run_with_bad_input_is_a_clear_error() -> None:
    result = subprocess.run(
        [*CMD, "run", "--symbols", "XRP USDT!"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "not a valid symbol" in result.stderr
    keys = subprocess.run(
        [*CMD, "run", "--symbols", "XRPUSDT", "--exchange", "binance"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    assert keys.returncode == 2
    assert "HEDGEHOG_BINANCE_API_KEY" in keys.stderr


def wait_for_orders_in_every_symbol(sim_url: str) -> None:
    """Until the demo's simulator holds an order of each demo symbol: its node has then seen
    trades of all three (the summary's counts), with no guess of how long that takes."""

    async def every_symbol_ordered() -> bool:
        async with aiohttp.ClientSession() as http, http.get(f"{sim_url}/_sim/ledger") as r:
            orders = (await r.json())["orders"]
        return {o["symbol"] for o in orders} == {"XRPUSDT", "ETHUSDT", "BNBUSDT"}

    async def wait() -> None:
        await eventually(every_symbol_ordered, timeout=60, what="an order in every symbol")

    asyncio.run(wait())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_demo_trades_and_stops_cleanly_on_a_signal(sig: signal.Signals) -> None:
    """A signal stops the demo within seconds with one line and exit 128+signal, and no
    summary: a summary would claim a complete run. Trading is checked on the simulator."""
    proc = subprocess.Popen(
        [*CMD, "demo", "--no-view", "--speed", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline()]  # the control API's address first, "trading" last
        while "hedgehog demo" not in lines[-1] and len(lines) < 6:
            lines.append(proc.stderr.readline())
        assert "control API at" in lines[0] and "hedgehog demo" in lines[-1], lines
        sim = re.search(r"simulator at (http://[\d.:]+)", lines[-1])
        assert sim, lines
        wait_for_orders_in_every_symbol(sim.group(1))  # each symbol has seen trades
        started = time.monotonic()
        proc.send_signal(sig)
        out, errs = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:  # never leave a demo running after a failed assertion
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + sig, errs
    assert time.monotonic() - started < 10
    assert out == ""  # no summary claims a complete run
    assert "Traceback" not in errs
    assert errs.strip().splitlines()[-1] == f"hedgehog: stopped by {sig.name}"


def test_unreachable_database_at_start_is_a_clear_error() -> None:
    import os

    env = dict(os.environ, HEDGEHOG_DATABASE_URL="postgresql://bob:hunter2@127.0.0.1:1/x")
    result = subprocess.run(
        [*CMD, "run", "--symbols", "XRPUSDT", "--duration", "1", "--no-view"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 2
    assert "cannot reach the database" in result.stderr
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr
