"""Hostile requests to the simulator get Binance's answers (its codes and messages) and the
connection survives: bytes that are not UTF-8, a bogus charset, non-ASCII signatures, timestamps
that are not ASCII digits, and (on the WebSocket API and streams) JSON nested without end."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from yarl import URL

from hedgehog.exchange.binance.signing import hmac_signature, ws_api_payload
from hedgehog.simulator import SimulatorHandle

from .conftest import Api, now_ms

FORM = "application/x-www-form-urlencoded"


async def raw_post(
    api: Api, path: str, body: bytes, content_type: str = FORM, key: str | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": content_type}
    if key is not None:
        headers["X-MBX-APIKEY"] = key
    url = URL(api.sim.url + path, encoded=True)
    async with api.session.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def signed_query(api: Api, method: str, path: str, query: str) -> tuple[int, Any]:
    """`query` signed as sent (its signature appended), with the simulator's key."""
    signature = hmac_signature(api.sim.api_secret, query)
    status, body, _ = await api.request(
        method, path, f"{query}&signature={signature}", headers={"X-MBX-APIKEY": api.sim.api_key}
    )
    return status, body


async def test_a_body_that_is_not_utf8_is_illegal_characters(api: Api) -> None:
    status, body = await raw_post(api, "/api/v3/order", b"symbol=\xff", key=api.sim.api_key)
    assert (status, body["code"]) == (400, -1100), body
    assert body["msg"] == "Illegal characters found in a parameter."


async def test_a_bogus_charset_is_ignored(api: Api) -> None:
    status, body = await raw_post(
        api, "/api/v3/order", b"symbol=XRPUSDT", f"{FORM}; charset=bogus-42", api.sim.api_key
    )
    assert (status, body["code"]) == (400, -1102)  # read as UTF-8: the timestamp is missing
    assert "timestamp" in body["msg"] or "signature" in body["msg"]


@pytest.mark.parametrize("signature", ["\u00b2" * 64, "é", "g" * 64, "0" * 63, "%C2%B2"])
async def test_a_signature_that_is_not_64_hex_digits_is_1022(api: Api, signature: str) -> None:
    body = f"symbol=XRPUSDT&timestamp={now_ms()}&signature={signature}".encode()
    status, answer = await raw_post(api, "/api/v3/order", body, key=api.sim.api_key)
    assert (status, answer) == (
        400,
        {"code": -1022, "msg": "Signature for this request is not valid."},
    )
    if signature.isascii():  # (a raw non-ASCII URL is refused by aiohttp's HTTP parser)
        query = f"timestamp={now_ms()}&signature={signature}"
        status, answer, _ = await api.request(
            "GET", "/api/v3/account", query, headers={"X-MBX-APIKEY": api.sim.api_key}
        )
        assert (status, answer["code"]) == (400, -1022)


@pytest.mark.parametrize("timestamp", ["%C2%B2", "9" * 5000, "1" * 21, "-5", "1e3"])
async def test_a_signed_request_with_a_timestamp_that_is_not_digits_is_1102(
    api: Api, timestamp: str
) -> None:
    status, body = await signed_query(api, "GET", "/api/v3/account", f"timestamp={timestamp}")
    assert (status, body["code"]) == (400, -1102), body
    assert "'timestamp'" in body["msg"]


@pytest.mark.parametrize("window", ["%C2%B2", "9" * 5000, "NaN", "1e99999999"])
async def test_a_recv_window_that_is_not_a_number_is_refused(api: Api, window: str) -> None:
    query = f"timestamp={now_ms()}&recvWindow={window}"
    status, body = await signed_query(api, "GET", "/api/v3/account", query)
    assert (status, body["code"]) == (400, -1102), body


# -- the WebSocket API ------------------------------------------------------------------------
def signed(sim: SimulatorHandle, method: str, **params: Any) -> dict[str, Any]:
    params = {"apiKey": sim.api_key, "timestamp": now_ms(), **params}
    params["signature"] = hmac_signature(sim.api_secret, ws_api_payload(params))
    return {"id": 7, "method": method, "params": params}


WS_HOSTILE: list[tuple[Any, int]] = [
    ("[" * 60_000 + "]" * 60_000, -1135),
    ('{"id": 1, "method": "ping", "params": ' + "[" * 5000 + "]" * 5000 + "}", -1135),
    ('{"id": ' + "9" * 5000 + ', "method": "ping"}', -1135),
    ('{"id": 1, "method": "time", "x": NaN}', -1135),
    ({"id": 1, "method": "account.status", "params": {"apiKey": "x", "timestamp": 1,
                                                      "signature": "\u00b2" * 64}}, -2015),
    ('{"id": 1, "method": "order.test", "params": {"symbol": "\\ud800"}}', -1100),
]  # fmt: skip


@pytest.mark.parametrize(("frame", "code"), WS_HOSTILE)
async def test_ws_api_answers_hostile_frames_and_keeps_the_connection(
    session: aiohttp.ClientSession, sim: SimulatorHandle, frame: Any, code: int
) -> None:
    async with session.ws_connect(sim.ws_api_url, max_msg_size=0) as ws:
        await (ws.send_str(frame) if isinstance(frame, str) else ws.send_json(frame))
        answer = await ws.receive_json()
        assert answer["status"] == 400 and answer["error"]["code"] == code, answer
        await ws.send_json({"id": "after", "method": "ping"})
        assert (await ws.receive_json())["id"] == "after"  # still connected


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"signature": "\u00b2" * 64}, -1022),
        ({"timestamp": "\u00b2"}, -1102),
        ({"timestamp": "9" * 5000}, -1102),
        ({"timestamp": [1]}, -1102),
        ({"recvWindow": "\u00b2"}, -1102),
    ],
)
async def test_ws_api_signed_requests_with_hostile_values(
    session: aiohttp.ClientSession, sim: SimulatorHandle, change: dict[str, Any], code: int
) -> None:
    base = {k: v for k, v in change.items() if k != "signature"}
    request = signed(sim, "account.status", **base)
    request["params"].update(change)  # signed over the hostile values, unless the signature
    async with session.ws_connect(sim.ws_api_url) as ws:
        await ws.send_json(request)
        answer = await ws.receive_json()
        assert answer["status"] == 400 and answer["error"]["code"] == code, answer


async def test_market_streams_answer_deep_json_and_keep_the_connection(
    session: aiohttp.ClientSession, sim: SimulatorHandle
) -> None:
    async with session.ws_connect(f"{sim.ws_url}/ws") as ws:
        await ws.send_str("[" * 60_000 + "]" * 60_000)
        answer = await ws.receive_json()
        assert answer["code"] == 3 and "nested too deep" in answer["msg"]
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 1})
        assert (await ws.receive_json()) == {"result": [], "id": 1}


# -- found by the fuzzer (test_fuzz.py) -------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"listenKey=\xff", FORM), (b"listenKey=x", f"{FORM}; charset=bogus")],
)
async def test_listen_key_bodies_that_are_not_utf8_or_claim_a_bogus_charset(
    api: Api, body: bytes, content_type: str
) -> None:
    status, answer = await raw_post(
        api, "/api/v3/userDataStream", body, content_type, api.sim.api_key
    )
    assert status == 400 if body.endswith(b"\xff") else status == 200, answer
    if status == 400:
        assert answer["code"] == -1100


async def test_a_depth_limit_in_unicode_digits_is_illegal_characters(api: Api) -> None:
    status, body, _ = await api.get("/api/v3/depth", symbol="XRPUSDT", limit="%C2%B2")
    assert (status, body["code"]) == (400, -1100), body
