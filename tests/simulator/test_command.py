"""`hedgehog exchange serve`: starting, answering, stopping on SIGTERM/SIGINT, bad options."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
import typer
from typer.testing import CliRunner

from hedgehog.cli import exchange as command
from hedgehog.cli.exchange import parse_balances, serve
from hedgehog.core.errors import ConfigError
from hedgehog.market.synthetic import synthetic_trades, write_binance_zip

STOPPED = {signal.SIGINT: 130, signal.SIGTERM: 143}  # the CLI's exit codes after a signal


async def run_serve(*args: str, stop: signal.Signals) -> tuple[str, int]:
    """Start the command, check it answers, stop it with `stop`; (its output, exit code)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hedgehog", "exchange", "serve", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        url = None
        while url is None:
            line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
            assert line, "".join(lines)
            lines.append(line)
            found = re.search(r"REST\s+(http://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else None
        async with aiohttp.ClientSession() as session, session.get(f"{url}/api/v3/ping") as r:
            assert r.status == 200
        proc.send_signal(stop)
        rest, _ = await asyncio.wait_for(proc.communicate(), 20)
        return "".join(lines) + rest.decode(), await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_serve_synthetic_starts_and_stops(stop: signal.Signals) -> None:
    output, code = await run_serve("--synthetic", "XRPUSDT,ETHUSDT", "--speed", "5", stop=stop)
    assert code == STOPPED[stop], output  # the real CLI: 130 / 143, one line, no traceback
    assert "XRPUSDT, ETHUSDT" in output and "/ws-api/v3" in output
    assert "the public demo secret" in output and "Traceback" not in output
    assert output.rstrip().endswith(f"stopped by {stop.name}")


async def test_serve_recorded_files_with_a_secret(tmp_path: Path) -> None:
    path = write_binance_zip(synthetic_trades("XRPUSDT", 1_000, 1), tmp_path)
    output, code = await run_serve(
        str(path), "--speed", "0", "--api-key", "myKey", "--api-secret", "topSecret123",
        "--balance", "XRP=5", stop=signal.SIGTERM,
    )  # fmt: skip
    assert code == 143, output
    assert "myKey" in output and "topSecret123" not in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give trade files"),
        (["--synthetic", "XRPUSDT", "--balance", "USDT"], "ASSET=AMOUNT"),
        (["--synthetic", "XRPUSDT", "--balance", "USDT=-1"], ">= 0"),
        (["--synthetic", "XRPUSDT", "--api-key", "k"], "--api-secret"),
        (["--synthetic", "XRPUSDT", "--speed", "-1"], "--speed"),
        (["--synthetic", "XRP USDT"], "not a valid symbol"),
        (["missing-file.zip"], "missing-file.zip"),
        (["--synthetic", "XRPUSDT", "--exchange-info", "nope.json"], "nope.json"),
        (["--synthetic", "XRPUSDT", "--api-key", "a-b", "--api-secret", "s"], "API key"),
    ],
)
def test_bad_options_exit_with_a_message(args: list[str], message: str) -> None:
    app = typer.Typer()
    app.command()(serve)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_busy_port_exits_with_a_message() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        app = typer.Typer()
        app.command()(serve)
        result = CliRunner().invoke(app, ["--synthetic", "XRPUSDT", "--port", port])
    assert result.exit_code == 2 and "cannot listen on 127.0.0.1:" in result.output


def test_parse_balances() -> None:
    assert parse_balances([]) == {"USDT": 10_000}
    assert parse_balances(["usdt=0", "XRP=12.5"]) == {"USDT": 0, "XRP": Decimal("12.5")}


@pytest.mark.parametrize("flag", [[], ["--trace-latency"]])
def test_trace_latency_is_opt_in(monkeypatch: pytest.MonkeyPatch, flag: list[str]) -> None:
    seen: dict[str, object] = {}

    async def fake_start(**kwargs: object) -> None:
        seen.update(kwargs)
        raise ConfigError("stop here")

    monkeypatch.setattr(command, "start_simulator", fake_start)
    app = typer.Typer()
    app.command()(serve)
    result = CliRunner().invoke(app, ["--synthetic", "XRPUSDT", *flag])
    assert result.exit_code == 2 and "stop here" in result.output
    assert seen["trace_latency"] is bool(flag)
