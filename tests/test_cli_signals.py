"""Every long command stops within a second on SIGINT/SIGTERM: one line, exit 130/143, and no
output that looks complete. Each runs as the real CLI in a subprocess; the signal goes once
the command is working (it has used CPU time, or printed that it is up)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SIGNALS = [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
# settings that make a cycle every few trades: the skip-ahead replay runs for a minute too
BUSY = ["--chunks", "100", "--fee", "0", "--rebuy-interval", "0.00001",
        "--profit-interval", "0.00001", "--buy-down-interval", "0.00001"]  # fmt: skip


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(args: list[str], tmp_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "HEDGEHOG_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "hedgehog", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _tree_cpu(pid: int) -> float:
    """CPU seconds of the process and its children (a sweep's workers)."""
    total = _cpu_seconds(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                total += _tree_cpu(int(child))
    return total


def _wait_busy(proc: subprocess.Popen[str], cpu: float) -> None:
    """Until the process has used `cpu` seconds (it is past its imports and working)."""
    deadline = time.monotonic() + 60
    while _tree_cpu(proc.pid) < cpu:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the command never got busy"
        time.sleep(0.02)


def _wait_line(proc: subprocess.Popen[str], stream: str, text: str) -> None:
    pipe = proc.stdout if stream == "stdout" else proc.stderr
    assert pipe is not None
    for line in pipe:
        if text in line:
            return
    pytest.fail(f"{text!r} never came on {stream}: {proc.communicate()}")


def _stop(proc: subprocess.Popen[str], sig: int, code: int) -> tuple[str, str]:
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        stdout, stderr = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"still running 10 s after {signal.Signals(sig).name}")
    took = time.monotonic() - sent
    assert proc.returncode == code, (proc.returncode, stderr)
    assert "Traceback" not in stderr, stderr
    last = [line for line in stderr.splitlines() if line.strip()][-1]
    assert signal.Signals(sig).name in last, stderr
    assert took < 2.5, f"took {took:.2f} s to stop"  # generous: it checks between steps
    return stdout, stderr


@pytest.mark.parametrize("sig,code", SIGNALS)
@pytest.mark.parametrize("mode", [["--every-tick"], []])
def test_backtest_stops(tmp_path: Path, sig: int, code: int, mode: list[str]) -> None:
    report = tmp_path / "report"
    proc = _start(
        ["backtest", "--synthetic", "XRPUSDT", "--trades", "3000000", "--json",
         "--report", str(report), *mode, *BUSY],
        tmp_path,
    )  # fmt: skip
    _wait_busy(proc, 1.5)
    stdout, _ = _stop(proc, sig, code)
    assert stdout == ""  # no summary, no JSON
    assert not (report / "index.html").exists()


@pytest.mark.parametrize("sig,code", SIGNALS)
def test_sweep_stops(tmp_path: Path, sig: int, code: int) -> None:
    proc = _start(
        ["sweep", "--synthetic", "XRPUSDT", "--trades", "3000000", "--every-tick",
         "--grid", "chunks=1,2,3", "--workers", "1", "--json"],
        tmp_path,
    )  # fmt: skip
    _wait_busy(proc, 4.0)  # the workers are replaying
    stdout, _ = _stop(proc, sig, code)
    assert stdout == ""


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """A port that accepts connections and never answers (a stalled download)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        server.settimeout(60)
        yield server


@pytest.mark.parametrize("sig,code", SIGNALS)
def test_data_download_stops(
    tmp_path: Path, silent_server: socket.socket, sig: int, code: int
) -> None:
    port = silent_server.getsockname()[1]
    proc = _start(
        ["data", "download", "XRPUSDT", "--from", "2024-01-01", "--to", "2024-01-02",
         "--base-url", f"http://127.0.0.1:{port}", "--dest", str(tmp_path / "d")],
        tmp_path,
    )  # fmt: skip
    connection, _ = silent_server.accept()  # the download has started
    with connection:
        _stop(proc, sig, code)
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").glob("*.zip"))


@pytest.mark.parametrize("sig,code", SIGNALS)
def test_exchange_serve_stops(tmp_path: Path, sig: int, code: int) -> None:
    proc = _start(["exchange", "serve", "--synthetic", "XRPUSDT"], tmp_path)
    _wait_line(proc, "stdout", "Ctrl-C stops it.")
    _stop(proc, sig, code)


@pytest.mark.parametrize("sig,code", SIGNALS)
def test_demo_stops(tmp_path: Path, sig: int, code: int) -> None:
    proc = _start(["demo", "--no-view"], tmp_path)
    _wait_line(proc, "stderr", "hedgehog demo: simulator at")
    stdout, _ = _stop(proc, sig, code)
    assert stdout == ""  # the summary is for a run that reached its --duration
