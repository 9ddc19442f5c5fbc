"""Fuzz the simulator with hypothesis: random strings, bytes, unicode digits and huge numbers in
each parameter of each REST endpoint (signed and unsigned, in the query or a form body), and
random, nested or half-valid frames on the WebSocket API and the market streams. Every answer
must be Binance's 4xx (or 200), never a 5xx, and no connection may be dropped. The short form
runs in CI; `-m slow` runs the long one."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_from_bytes

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from hedgehog.exchange.binance.signing import hmac_signature, ws_api_payload
from hedgehog.simulator import SimulatorHandle, start_simulator

from .conftest import BALANCES

ORDER = ["symbol", "side", "type", "timeInForce", "quantity", "quoteOrderQty", "price",
         "newClientOrderId", "newOrderRespType", "recvWindow", "timestamp"]  # fmt: skip
LOOKUP = ["symbol", "orderId", "origClientOrderId", "recvWindow", "timestamp"]
HISTORY = ["symbol", "orderId", "fromId", "startTime", "endTime", "limit", "timestamp"]
MARKET = ["symbol", "symbols", "limit", "fromId", "interval", "startTime", "endTime",
          "timeZone", "type", "windowSize"]  # fmt: skip
# (method, path, signed, parameter names)
ENDPOINTS: list[tuple[str, str, bool, list[str]]] = [
    ("GET", "/api/v3/ping", False, []),
    ("GET", "/api/v3/time", False, []),
    ("GET", "/api/v3/exchangeInfo", False, ["symbol", "symbols", "permissions"]),
    *[
        ("GET", f"/api/v3/{p}", False, MARKET)
        for p in (
            "trades",
            "historicalTrades",
            "aggTrades",
            "klines",
            "uiKlines",
            "depth",
            "ticker/price",
            "ticker/bookTicker",
            "ticker/24hr",
            "avgPrice",
        )
    ],
    ("POST", "/api/v3/order", True, ORDER),
    ("POST", "/api/v3/order/test", True, [*ORDER, "computeCommissionRates"]),
    ("GET", "/api/v3/order", True, LOOKUP),
    ("DELETE", "/api/v3/order", True, [*LOOKUP, "newClientOrderId"]),
    ("GET", "/api/v3/openOrders", True, ["symbol", "recvWindow", "timestamp"]),
    ("GET", "/api/v3/allOrders", True, HISTORY),
    ("GET", "/api/v3/myTrades", True, HISTORY),
    ("GET", "/api/v3/account", True, ["omitZeroBalances", "recvWindow", "timestamp"]),
    ("GET", "/api/v3/account/commission", True, ["symbol", "timestamp"]),
    ("POST", "/api/v3/userDataStream", False, ["listenKey"]),
    ("PUT", "/api/v3/userDataStream", False, ["listenKey"]),
    ("DELETE", "/api/v3/userDataStream", False, ["listenKey"]),
]
HOSTILE_TEXT = ["\u00b2", "\u0661\u0662", "1e99999999", "NaN", "-0", "9" * 5000, "0.", ".5",
                "\ud800", "XRPUSDT", "BUY", "LIMIT", "GTC", "10", "0.5", "", " ", "%", "&=&",
                "\x00", "[\"XRPUSDT\"]", "[" * 200, "é" * 64, "0" * 64]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=30),
    st.integers().map(str),
    st.integers(min_value=10**30, max_value=10**60).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.binary(max_size=20),
)


def encode(value: str | bytes) -> str:
    if isinstance(value, bytes):
        return quote_from_bytes(value, safe="")
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def rest_requests(draw: st.DrawFn) -> tuple[str, str, str, bytes | None, dict[str, str]]:
    """(method, path, query, body, headers): random values of an endpoint's parameters, signed
    (with a fresh timestamp unless that is fuzzed too) or not, in the query or a form body."""
    method, path, signed, names = draw(st.sampled_from(ENDPOINTS))
    chosen = draw(st.lists(st.sampled_from([*names, "junk"]), unique=True)) if names else []
    pairs = [(name, encode(draw(VALUES))) for name in chosen]
    sign = signed and draw(st.booleans())
    if sign and "timestamp" not in chosen:
        pairs.append(("timestamp", str(time.time_ns() // 1_000_000)))
    raw = "&".join(f"{k}={v}" for k, v in pairs)
    in_body = method != "GET" and draw(st.booleans())
    headers: dict[str, str] = {}
    if signed or path.endswith("userDataStream"):
        headers["X-MBX-APIKEY"] = draw(st.sampled_from(["wrongKey123", KEY, "\u00b2"]))
    if sign:
        raw += f"&signature={hmac_signature(SECRET, raw)}"
    if in_body:
        headers["Content-Type"] = draw(st.sampled_from([
            "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=bogus",
            "text/plain; charset=latin-1", "application/json"]))  # fmt: skip
        body = raw.encode() + draw(st.sampled_from([b"", b"\xff", b"&x=\xed\xa0\x80"]))
        return method, path, "", body, headers
    return method, path, raw, None, headers


KEY = ""
SECRET = ""


class Rig:
    """The simulator and a client on one private event loop, driven example by example."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.sim: SimulatorHandle = self.loop.run_until_complete(
            start_simulator(symbols=["XRPUSDT", "ETHUSDT"], balances=BALANCES, weight_limit=10**9)
        )
        self.http = self.loop.run_until_complete(self._session())
        self.ws_api: aiohttp.ClientWebSocketResponse | None = None
        self.stream: aiohttp.ClientWebSocketResponse | None = None

    async def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        for ws in (self.ws_api, self.stream):
            if ws is not None:
                self.run(ws.close())
        self.run(self.http.close())
        self.run(self.sim.close())
        self.loop.close()

    async def rest(self, method: str, path: str, query: str, body: bytes | None,
                   headers: dict[str, str]) -> tuple[int, Any]:  # fmt: skip
        url = URL(self.sim.url + path + (f"?{query}" if query else ""), encoded=True)
        async with self.http.request(method, url, data=body, headers=headers) as resp:
            text = await resp.text()
            return resp.status, text

    async def ws_answer(self, kind: str, frame: str) -> dict[str, Any]:
        """Send `frame` on the connection of `kind` (opened once) and return the next answer
        (user data events skipped); the connection must still be open."""
        ws = getattr(self, kind)
        if ws is None:
            url = self.sim.ws_api_url if kind == "ws_api" else f"{self.sim.ws_url}/ws"
            ws = await self.http.ws_connect(url, max_msg_size=0)
            setattr(self, kind, ws)
        await ws.send_str(frame)
        while True:
            msg = await ws.receive(timeout=10)
            assert msg.type is aiohttp.WSMsgType.TEXT, f"connection dropped: {msg}"
            answer = json.loads(msg.data)
            if not (isinstance(answer, dict) and "event" in answer):
                return answer  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    global KEY, SECRET
    running = Rig()
    KEY, SECRET = running.sim.api_key, running.sim.api_secret
    try:
        yield running
    finally:
        running.close()


FUZZ = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))


def fuzz_rest(rig: Rig, examples: int) -> None:
    @settings(FUZZ, max_examples=examples)
    @given(request=rest_requests())
    def check(request: tuple[str, str, str, bytes | None, dict[str, str]]) -> None:
        method, path, query, body, _ = request
        status, text = rig.run(rig.rest(*request))
        shown = f"{method} {path}?{query[:300]} body={(body or b'')[:300]!r}: {status} {text[:300]}"
        assert status < 500, shown
        # a 4xx is Binance's {"code", "msg"}; except a request line over aiohttp's 8 KB limit,
        # which its HTTP parser refuses first (400, plain text), and the listen-key endpoints
        binance = path.startswith("/api/v3/") and "userDataStream" not in path
        if status >= 400 and binance and len(query) < 8000:
            answer = json.loads(text)
            assert isinstance(answer.get("code"), int) and answer["msg"], shown

    check()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
METHODS = ["ping", "time", "order.place", "order.test", "order.status", "order.cancel",
           "openOrders.status", "allOrders", "myTrades", "account.status", "account.commission",
           "userDataStream.subscribe.signature", "userDataStream.unsubscribe",
           "session.subscriptions", "session.logon", "session.status", "session.logout",
           "userDataStream.subscribe", "userDataStream.start", "userDataStream.ping",
           "userDataStream.stop"]  # fmt: skip
PARAM_NAMES = ["symbol", "side", "type", "timeInForce", "quantity", "price", "orderId",
               "origClientOrderId", "newClientOrderId", "recvWindow", "timestamp", "apiKey",
               "signature", "subscriptionId", "listenKey", "limit"]  # fmt: skip
PARAM_VALUES = st.one_of(JSON, st.sampled_from(HOSTILE_TEXT), st.integers(min_value=10**25))


@st.composite
def ws_api_frames(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["json", "nested", "request", "signed", "text"]))
    if kind == "json":
        return json.dumps(draw(JSON))
    if kind == "nested":
        depth = draw(st.integers(min_value=1, max_value=20_000))
        return "[" * depth + "]" * depth
    if kind == "text":
        return draw(st.text(max_size=50))
    params = draw(st.dictionaries(st.sampled_from(PARAM_NAMES), PARAM_VALUES, max_size=6))
    if kind == "signed":
        params = {"apiKey": KEY, "timestamp": time.time_ns() // 1_000_000, **params}
        params.pop("signature", None)
        try:
            params["signature"] = hmac_signature(SECRET, ws_api_payload(params))
        except (UnicodeEncodeError, ValueError):
            params["signature"] = "0" * 64
    rid = draw(st.one_of(st.none(), st.integers(), st.text(max_size=40), JSON))
    method = draw(st.one_of(st.sampled_from(METHODS), st.text(max_size=20), JSON))
    return json.dumps({"id": rid, "method": method, "params": params})


def fuzz_ws(rig: Rig, examples: int) -> None:
    @settings(FUZZ, max_examples=examples)
    @given(frame=ws_api_frames())
    def check(frame: str) -> None:
        answer = rig.run(rig.ws_answer("ws_api", frame))
        assert answer["status"] < 500, (frame[:500], answer)
        answer = rig.run(rig.ws_answer("stream", frame))
        assert "result" in answer or isinstance(answer.get("code"), int), (frame[:500], answer)

    check()


def test_rest_fuzz(rig: Rig) -> None:
    fuzz_rest(rig, examples=300)


def test_ws_fuzz(rig: Rig) -> None:
    fuzz_ws(rig, examples=100)


@pytest.mark.slow
def test_rest_fuzz_long(rig: Rig) -> None:
    fuzz_rest(rig, examples=3000)


@pytest.mark.slow
def test_ws_fuzz_long(rig: Rig) -> None:
    fuzz_ws(rig, examples=2000)
