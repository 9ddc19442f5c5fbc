"""Real Binance clients (ccxt, python-binance, binance-sdk-spot) against `hedgehog exchange serve`.

The `sim` fixture starts the real command line, `python -m hedgehog exchange serve`, as a
subprocess on a free loopback port: a synthetic market of XRPUSDT and ETHUSDT with the replay
paused, so that the only trades are the ones a test injects with `POST /_sim/trade`. It is shared
by the tests of one module; after each test every open order is canceled (raw signed REST, not
through the client under test), so that no test leaves a resting order for the next one's trades.

The tests assert what Binance answers (its API documentation decides), not what the simulator
does today: see the README section "Use it with any Binance bot" for the settings they prove.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

SYMBOL = "XRPUSDT"
BASE, QUOTE = "XRP", "USDT"
# The simulator's default commission rate (maker and taker), as `GET /api/v3/account` shows it.
RATE = Decimal("0.001")
START_BALANCES = ("USDT=10000", "XRP=1000")
_STARTUP_TIMEOUT = 30.0
_PATTERNS = {
    "url": r"REST\s+(http://127\.0\.0\.1:\d+)/api/v3/",
    "ws_url": r"streams\s+(ws://127\.0\.0\.1:\d+)/ws/",
    "ws_api_url": r"WS API\s+(ws://127\.0\.0\.1:\d+/ws-api/v3)",
    "api_key": r"API key\s+(\S+)",
    "api_secret": r"API secret\s+(\S+) \(the public demo secret\)",
}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Sim:
    """A running `hedgehog exchange serve`: its URLs, demo keys and control helpers."""

    url: str  # http://127.0.0.1:PORT  (REST: + /api/v3/...)
    ws_url: str  # ws://127.0.0.1:PORT   (streams: + /ws/<stream> or /stream?streams=...)
    ws_api_url: str  # ws://127.0.0.1:PORT/ws-api/v3
    api_key: str
    api_secret: str
    process: subprocess.Popen[str]

    # -- plain HTTP (stdlib: usable from sync and async tests alike) --------------------------
    def http(
        self, method: str, path: str, query: str = "", body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:  # fmt: skip
        url = f"{self.url}{path}" + (f"?{query}" if query else "")
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def signed(self, method: str, path: str, **params: Any) -> tuple[int, Any]:
        """A signed REST request (HMAC-SHA256 over the query string), the raw answer."""
        params.setdefault("timestamp", now_ms())
        query = urllib.parse.urlencode(params)
        signature = hmac.new(self.api_secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        return self.http(
            method, path, f"{query}&signature={signature}", headers={"X-MBX-APIKEY": self.api_key}
        )

    # -- the market, controlled by the test ----------------------------------------------------
    def trade(self, price: str, qty: str, symbol: str = SYMBOL) -> dict[str, Any]:
        """One market trade (matched against resting orders, then published on the streams)."""
        body = json.dumps({"symbol": symbol, "price": price, "qty": qty}).encode()
        status, answer = self.http(
            "POST", "/_sim/trade", body=body, headers={"Content-Type": "application/json"}
        )
        assert status == 200, answer
        return answer  # type: ignore[no-any-return]

    def cancel_all(self) -> None:
        """Cancel every open order (through endpoints the simulator has always had)."""
        status, orders = self.signed("GET", "/api/v3/openOrders")
        assert status == 200, orders
        for order in orders:
            self.signed("DELETE", "/api/v3/order", symbol=order["symbol"], orderId=order["orderId"])

    def order_status(self, order_id: int, symbol: str = SYMBOL) -> dict[str, Any]:
        """`GET /api/v3/order` answered by the simulator (raw, for cross-checks)."""
        status, body = self.signed("GET", "/api/v3/order", symbol=symbol, orderId=order_id)
        assert status == 200, body
        return body  # type: ignore[no-any-return]


def _start(tmp: Path) -> Sim:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HEDGEHOG_SIM_API_KEY", "HEDGEHOG_SIM_API_SECRET")}  # fmt: skip
    env["HEDGEHOG_DATA_DIR"] = str(tmp)
    env["PYTHONUNBUFFERED"] = "1"
    balances = [arg for item in START_BALANCES for arg in ("--balance", item)]
    command = [sys.executable, "-m", "hedgehog", "exchange", "serve", "--synthetic",
               f"{SYMBOL},ETHUSDT", "--paused", "--host", "127.0.0.1", "--port", "0",
               *balances]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert process.stdout is not None
    seen: list[str] = []
    found: dict[str, str] = {}
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while len(found) < len(_PATTERNS):
        line = process.stdout.readline()  # the announcement is printed at once, then nothing
        if not line or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail("`hedgehog exchange serve` did not start:\n" + "".join(seen))
        seen.append(line)
        for name, pattern in _PATTERNS.items():
            match = re.search(pattern, line)
            if match:
                found[name] = match.group(1)
    sim = Sim(process=process, **found)
    # answers?  (poll briefly: the announcement is printed once the port listens)
    while True:
        try:
            status, _ = sim.http("GET", "/api/v3/ping")
            if status == 200:
                return sim
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("`hedgehog exchange serve` does not answer GET /api/v3/ping")
        time.sleep(0.05)


def _stop(sim: Sim) -> None:
    sim.process.terminate()
    try:
        sim.process.wait(10)
    except subprocess.TimeoutExpired:
        sim.process.kill()
        sim.process.wait()
    if sim.process.stdout is not None:
        sim.process.stdout.close()


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    """`hedgehog exchange serve --synthetic XRPUSDT,ETHUSDT --paused` on a free loopback port,
    with USDT=10000 and XRP=1000, for the tests of one module."""
    handle = _start(tmp_path_factory.mktemp("sim-data"))
    try:
        yield handle
    finally:
        _stop(handle)


@pytest.fixture(autouse=True)
def _no_order_left(sim: Sim) -> Iterator[None]:
    """After each test, no open order remains for the next test's trades to fill."""
    yield
    sim.cancel_all()


@pytest.fixture(scope="session", autouse=True)
def _loopback_without_proxy() -> Iterator[None]:
    """No proxy from the environment may route a loopback request anywhere else."""
    saved = {k: os.environ.get(k) for k in ("NO_PROXY", "no_proxy")}
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


# -- what Binance answers (shared expectations) ----------------------------------------------
def commission_of(qty: Decimal | str, rate: Decimal = RATE) -> Decimal:
    """The commission of a fill of `qty` base units bought: in the base asset."""
    return Decimal(str(qty)) * rate
