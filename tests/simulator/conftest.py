"""Fixtures of the simulator tests: a running simulator and a signing Binance-style client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import aiohttp
import pytest
from yarl import URL

from hedgehog.exchange.binance.signing import hmac_signature, sign_query, ws_api_payload
from hedgehog.simulator import SimulatorHandle, start_simulator

BALANCES = {"USDT": D(1000), "XRP": D(100)}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Api:
    """A minimal REST client of the simulator: plain and signed requests, raw answers."""

    def __init__(self, session: aiohttp.ClientSession, sim: SimulatorHandle) -> None:
        self.session, self.sim = session, sim

    async def request(
        self,
        method: str,
        path: str,
        query: str = "",
        body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        # encoded=True: send the query exactly as signed (yarl would normalise it)
        url = URL(f"{self.sim.url}{path}" + (f"?{query}" if query else ""), encoded=True)
        hdrs = dict(headers or {})
        if body is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        async with self.session.request(method, url, data=body, headers=hdrs) as resp:
            return resp.status, await resp.json(), dict(resp.headers)

    async def get(self, path: str, **params: Any) -> tuple[int, Any, dict[str, str]]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return await self.request("GET", path, query)

    async def signed(
        self, method: str, path: str, key: str | None = None, secret: str | None = None,
        **params: Any,
    ) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
        params.setdefault("timestamp", now_ms())
        query = sign_query(secret or self.sim.api_secret, params)
        return await self.request(
            method, path, query, headers={"X-MBX-APIKEY": key or self.sim.api_key}
        )

    async def order(self, **params: Any) -> tuple[int, Any, dict[str, str]]:
        """POST /api/v3/order with LIMIT GTC defaults (BUY 10 XRPUSDT at 0.5)."""
        base = {"symbol": "XRPUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                "quantity": "10", "price": "0.5"}  # fmt: skip
        return await self.signed("POST", "/api/v3/order", **{**base, **params})

    async def sim_post(self, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.session.post(f"{self.sim.url}/_sim/{path}", json=body) as resp:
            return resp.status, await resp.json()

    async def sim_get(self, path: str) -> Any:
        async with self.session.get(f"{self.sim.url}/_sim/{path}") as resp:
            assert resp.status == 200
            return await resp.json()

    async def trade(self, price: str, qty: str = "1", symbol: str = "XRPUSDT") -> Any:
        status, body = await self.sim_post("trade", {"symbol": symbol, "price": price, "qty": qty})
        assert status == 200, body
        return body


def subscribe_request(sim: SimulatorHandle, rid: Any = 1, **extra: Any) -> dict[str, Any]:
    """A signed `userDataStream.subscribe.signature` request."""
    params: dict[str, Any] = {"apiKey": sim.api_key, "timestamp": now_ms(), **extra}
    params["signature"] = hmac_signature(sim.api_secret, ws_api_payload(params))
    return {"id": rid, "method": "userDataStream.subscribe.signature", "params": params}


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    """A simulator of XRPUSDT and ETHUSDT with no feed: trades come from `POST /_sim/trade`."""
    handle = await start_simulator(symbols=["XRPUSDT", "ETHUSDT"], balances=BALANCES)
    yield handle
    await handle.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        yield s


@pytest.fixture
def api(session: aiohttp.ClientSession, sim: SimulatorHandle) -> Api:
    return Api(session, sim)
