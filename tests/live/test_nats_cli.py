"""`hedgehog run` over NATS through the real CLI: a streamer node (`--pubsub ... --stream
XRPUSDT`) and a trading node (`--pubsub ... --trades-from nats --symbols XRPUSDT`), two
processes with their own data directories, on the simulator's synthetic market (paper orders);
and the options' mistakes as clear one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live.nats_support import nats_url, needs_nats
from tests.live.test_cli_live import served as served  # the simulator, a fixture

CMD = [sys.executable, "-m", "hedgehog"]


def node(sim: str, *args: str) -> list[str]:
    return [
        *CMD,
        "run",
        "--exchange",
        "paper",
        "--rest-url",
        sim,
        "--stream-url",
        sim.replace("http", "ws"),
        "--no-view",
        *args,
    ]


def env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "HEDGEHOG_DATA_DIR": str(data_dir)}


@needs_nats
def test_a_streamer_node_feeds_a_trading_node(served: str, tmp_path: Path) -> None:
    url = nats_url()
    streamer = subprocess.Popen(
        node(served, "--pubsub", url, "--stream", "xrpusdt"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(tmp_path / "s"),
    )
    try:
        assert streamer.stderr is not None
        lines = [streamer.stderr.readline()]
        while "pub/sub over NATS" not in lines[-1] and len(lines) < 6:
            lines.append(streamer.stderr.readline())
        assert "publishing the trades of XRPUSDT" in lines[-1], lines
        status = subprocess.run(
            [*CMD, "status", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env=env(tmp_path / "s"),
        )
        nats = json.loads(status.stdout)["nats"]  # the streamer node's connection, reported
        assert nats["connected"] is True and nats["disconnects"] == 0
        trader = subprocess.run(
            [
                *node(served, "--pubsub", url, "--trades-from", "nats"),
                *("--symbols", "xrpusdt", "--budget", "100", "--duration", "2"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env(tmp_path / "t"),
        )
        assert trader.returncode == 0, trader.stderr
        assert "following TRADE_EVENTS:XRPUSDT" in trader.stderr
        summary = json.loads(trader.stdout)["XRPUSDT"]
        assert summary["trades"] > 10  # every one of them came over NATS
        assert summary["open_orders"] >= 1
    finally:
        streamer.send_signal(signal.SIGTERM)
        streamer.communicate(timeout=30)
    assert streamer.returncode == 128 + signal.SIGTERM


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trades-from", "nats"], "--trades-from nats needs --pubsub"),
        (["--trades-from", "kafka"], "--trades-from must be exchange or nats"),
        (["--pubsub", "redis://127.0.0.1:6379"], "--pubsub must be nats://HOST:PORT"),
    ],
)
def test_bad_sharing_options_are_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [*CMD, "run", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env(tmp_path),
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_run_help_explains_the_sharing_options() -> None:
    result = subprocess.run(
        [*CMD, "run", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    for option in ("--pubsub", "--trades-from", "--stream "):
        assert option in result.stdout


def test_an_in_process_node_never_imports_nats() -> None:
    script = (
        "import sys\n"
        "import hedgehog.cli.run, hedgehog.control.host, hedgehog.live.node\n"
        "print(sorted(m for m in sys.modules if m == 'nats' or m.startswith('nats.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"
