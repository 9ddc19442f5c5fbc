"""The chaos run's processes: the simulator, the node (or its mutant), their environment and
their store, and the two ways of killing (SIGKILL of the node, a process kill through the
node's control API).

The node's environment is the caller's without any `HEDGEHOG_*` variable (a user's
`HEDGEHOG_DATABASE_URL`, data dir or key file never redirects a chaos run), plus exactly what
the run sets: its data dir, its store (`HEDGEHOG_DATABASE_URL`, the one the checker reads),
the simulator's keys and the log level.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp

SYMBOLS = ("AAAUSDT", "BBBUSDT", "CCCUSDT")
HEDGEHOG = [sys.executable, "-m", "hedgehog"]
MUTANT = Path(__file__).with_name("chaos_mutant.py")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEHOG_")}
    env.update(extra)
    return env


def prepare_database(url: str | None, workdir: Path) -> tuple[str, str | None]:
    """(the URL the nodes and the checker use, a PostgreSQL schema to drop at the end).

    No URL: a scratch SQLite file in `workdir`. A SQLite URL: its hedgehog tables are dropped
    first. A PostgreSQL URL: a fresh schema in that database (`search_path` in the URL)."""
    from sqlalchemy import create_engine, make_url, text

    from hedgehog.store.models import metadata

    if url is None:
        return f"sqlite:///{workdir / 'chaos.sqlite3'}", None
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(parsed)
    schema = None
    try:
        with engine.begin() as conn:
            if parsed.get_backend_name() == "postgresql":
                schema = f"chaos_{secrets.token_hex(4)}"
                conn.execute(text(f"CREATE SCHEMA {schema}"))
                parsed = parsed.update_query_dict({"options": f"-csearch_path={schema}"})
            else:
                metadata.drop_all(conn)
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()
    return parsed.render_as_string(hide_password=False), schema


def drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import create_engine, make_url, text

    engine = create_engine(make_url(url).difference_update_query(["options"]))
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    finally:
        engine.dispose()


def simulator_options(wanted: dict[str, str | None]) -> tuple[list[str], dict[str, str]]:
    """The `--commission`/`--fills` options `hedgehog exchange serve` accepts (passed), and
    those it does not know yet (returned apart, reported in the summary)."""
    asked = {k: v for k, v in wanted.items() if v is not None}
    if not asked:
        return [], {}
    help_text = subprocess.run(
        [*HEDGEHOG, "exchange", "serve", "--help"],
        capture_output=True, text=True, env=clean_env(COLUMNS="200"), check=False,
    ).stdout  # fmt: skip
    args: list[str] = []
    unknown: dict[str, str] = {}
    for name, value in asked.items():
        if f"--{name}" in help_text:
            args += [f"--{name}", value]
        else:
            unknown[name] = value
    return args, unknown


class Procs:
    def __init__(self, workdir: Path, database_url: str, mutant: str | None) -> None:
        self.workdir = workdir
        self.mutant = mutant
        self.env = clean_env(
            HEDGEHOG_DATA_DIR=str(workdir / "node"),
            HEDGEHOG_DATABASE_URL=database_url,
            HEDGEHOG_LOG_LEVEL="ERROR",
        )
        self.sim: subprocess.Popen[str] | None = None
        self.node: subprocess.Popen[bytes] | None = None
        self.sim_url = ""
        self.down: list[tuple[int, int]] = []  # (killed, answering again) in time_ns
        self.http: aiohttp.ClientSession | None = None

    def start_simulator(self, speed: float, seed: int, extra: list[str]) -> None:
        self.sim = subprocess.Popen(
            [*HEDGEHOG, "exchange", "serve", "--synthetic", ",".join(SYMBOLS),
             "--speed", str(speed), "--seed", str(seed), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=clean_env(),
        )  # fmt: skip
        assert self.sim.stdout is not None
        key = secret = None
        while not (self.sim_url and key and secret):
            line = self.sim.stdout.readline()
            if not line:
                raise RuntimeError("the simulator exited at start")
            if m := re.search(r"REST\s+(http://127\.0\.0\.1:\d+)", line):
                self.sim_url = m.group(1)
            if m := re.search(r"API key\s+(\S+)", line):
                key = m.group(1)
            if m := re.search(r"API secret\s+(\S+)", line):
                secret = m.group(1)
        self.env.update(HEDGEHOG_BINANCE_API_KEY=key, HEDGEHOG_BINANCE_API_SECRET=secret)
        log = open(self.workdir / "simulator.log", "w")  # noqa: SIM115 - closed by the thread
        pipe = self.sim.stdout

        def drain() -> None:  # a full pipe would stall the simulator
            with log:
                shutil.copyfileobj(pipe, log)

        threading.Thread(target=drain, daemon=True).start()

    def start_node(self, first: bool) -> None:
        ws = self.sim_url.replace("http", "ws")
        entry = HEDGEHOG if self.mutant is None else [sys.executable, str(MUTANT), self.mutant]
        args = [*entry, "run", "--exchange", "binance", "--rest-url", self.sim_url,
                "--stream-url", ws, "--ws-api-url", f"{ws}/ws-api/v3", "--no-view"]  # fmt: skip
        if first:
            args += ["--symbols", ",".join(SYMBOLS), "--budget", "100", "--chunks", "5"]
        with open(self.workdir / "node.log", "ab") as out:
            self.node = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=out, env=self.env)

    async def sim_get(self, path: str) -> Any:
        assert self.http is not None
        async with self.http.get(f"{self.sim_url}{path}") as r:
            r.raise_for_status()
            return await r.json()

    async def sim_post(self, path: str) -> Any:
        assert self.http is not None
        async with self.http.post(f"{self.sim_url}{path}") as r:
            r.raise_for_status()
            return await r.json()

    async def control(self) -> tuple[str, str]:
        """Wait until the current node answers on its control API; its (url, token)."""
        assert self.node is not None and self.http is not None
        data_dir = Path(self.env["HEDGEHOG_DATA_DIR"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.node.poll() is not None:
                raise RuntimeError(f"the node exited ({self.node.returncode}); see node.log")
            try:
                address = json.loads((data_dir / "control.json").read_text())
                token = (data_dir / "control.token").read_text().strip()
                if address["pid"] == self.node.pid:
                    url = address["url"]
                    auth = {"Authorization": f"Bearer {token}"}
                    async with self.http.get(f"{url}/api/status", headers=auth) as r:
                        if r.status == 200:
                            return url, token
            except (OSError, ValueError, KeyError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError("the node did not come up within 60 s")

    def sigkill_node(self) -> int:
        """SIGKILL the node now (safe from any thread); the time it was sent."""
        assert self.node is not None
        at = time.time_ns()
        os.kill(self.node.pid, signal.SIGKILL)
        return at

    async def restart_node(self, killed_at: int) -> None:
        assert self.node is not None
        self.node.wait()
        self.start_node(first=False)
        await self.control()
        self.down.append((killed_at, time.time_ns()))

    async def kill_process(self, kind: str, symbol: str, pick: Any) -> str | None:
        """Kill a trader, leader or symbol supervisor through the control API; its kind, or
        None when the node refused (a trader that had just finished its cycle)."""
        assert self.http is not None
        url, token = await self.control()
        auth = {"Authorization": f"Bearer {token}"}
        async with self.http.get(f"{url}/api/status", headers=auth) as r:
            status = await r.json()
        traders = status["symbols"].get(symbol, {}).get("traders", [])
        if kind == "trader" and traders:
            target = f"trader:{symbol}:{pick(traders)['trader_id']}"
        else:
            kind = "leader" if kind == "trader" else kind
            target = f"{kind}:{symbol}"
        async with self.http.post(f"{url}/api/kill", json={"process": target}, headers=auth) as r:
            return kind if r.status == 200 else None

    def stop_node(self) -> None:
        if self.node is not None and self.node.poll() is None:
            self.node.send_signal(signal.SIGTERM)
            try:
                self.node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.node.kill()
                self.node.wait()

    def stop_simulator(self) -> None:
        if self.sim is not None and self.sim.poll() is None:
            self.sim.send_signal(signal.SIGTERM)
            self.sim.wait(timeout=30)
