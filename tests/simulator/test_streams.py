"""Trade streams: raw and combined connections, live requests, errors and server pings."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from hedgehog.exchange.binance import wire
from hedgehog.simulator import SimulatorHandle, start_simulator
from hedgehog.simulator import streams as streams_module

from .conftest import Api


async def ask(ws: aiohttp.ClientWebSocketResponse, request: Any) -> Any:
    await (ws.send_str(request) if isinstance(request, str) else ws.send_json(request))
    return await ws.receive_json()


async def test_raw_stream(session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api) -> None:
    async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@trade") as ws:
        await api.trade("0.6", qty="2.5")
        await api.trade("1.5", symbol="ETHUSDT")  # another stream: not sent here
        await api.trade("0.7")
        first, second = await ws.receive_json(), await ws.receive_json()
    trade = wire.parse_trade(first)
    assert (trade.symbol, str(trade.price), str(trade.quantity)) == ("XRPUSDT", "0.6", "2.5")
    assert first["e"] == "trade" and first["M"] is True and first["E"] == first["T"]
    assert (second["t"], second["p"]) == (first["t"] + 1, "0.7")


async def test_combined_stream_and_live_requests(
    session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api
) -> None:
    async with session.ws_connect(f"{sim.ws_url}/stream?streams=xrpusdt@trade") as ws:
        assert await ask(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 1}) == {
            "result": ["xrpusdt@trade"], "id": 1,
        }  # fmt: skip
        await api.trade("0.6")
        frame = await ws.receive_json()
        assert frame["stream"] == "xrpusdt@trade" and frame["data"]["p"] == "0.6"
        request = {"method": "SUBSCRIBE", "params": ["ethusdt@trade"], "id": 2}
        assert await ask(ws, request) == {"result": None, "id": 2}
        await api.trade("1.5", symbol="ETHUSDT")
        assert (await ws.receive_json())["stream"] == "ethusdt@trade"
        request = {"method": "UNSUBSCRIBE", "params": ["xrpusdt@trade"], "id": "u3"}
        assert await ask(ws, request) == {"result": None, "id": "u3"}
        await api.trade("0.6")
        await api.trade("1.6", symbol="ETHUSDT")
        assert (await ws.receive_json())["data"]["p"] == "1.6"
        assert await ask(ws, {"method": "GET_PROPERTY", "params": ["combined"], "id": 4}) == {
            "result": True, "id": 4,
        }  # fmt: skip
        request = {"method": "SET_PROPERTY", "params": ["combined", False], "id": 5}
        assert await ask(ws, request) == {"result": None, "id": 5}
        await api.trade("1.7", symbol="ETHUSDT")
        assert (await ws.receive_json())["p"] == "1.7"  # raw now


async def test_subscribe_on_a_bare_connection(
    session: aiohttp.ClientSession, sim: SimulatorHandle, api: Api
) -> None:
    async with session.ws_connect(f"{sim.ws_url}/ws") as ws:
        assert await ask(ws, {"method": "LIST_SUBSCRIPTIONS", "id": None}) == {
            "result": [], "id": None,
        }  # fmt: skip
        request = {"method": "SUBSCRIBE", "params": ["xrpusdt@trade"], "id": 1}
        assert await ask(ws, request) == {"result": None, "id": 1}
        await api.trade("0.9")
        assert (await ws.receive_json())["p"] == "0.9"


@pytest.mark.parametrize(
    ("request_", "code", "msg"),
    [
        ("{oops", 3, "Invalid JSON"),
        ({"params": [], "id": 1}, 2, "missing field `method`"),
        ({"method": "SUBSCRIBEX", "params": [], "id": 1}, 2, "unknown variant"),
        ({"method": "SUBSCRIBE", "params": ["x@trade"], "id": 1.5}, 2, "request ID"),
        ({"method": "SUBSCRIBE", "params": ["dogeusdt@trade"], "id": 1}, 2, "unknown stream"),
        ({"method": "SUBSCRIBE", "params": "xrpusdt@trade", "id": 1}, 2, "params"),
        ({"method": "GET_PROPERTY", "params": ["colour"], "id": 1}, 0, "Unknown property"),
        ({"method": "SET_PROPERTY", "params": ["combined", 1], "id": 1}, 1, "expected Boolean"),
    ],
)
async def test_malformed_requests(
    session: aiohttp.ClientSession, sim: SimulatorHandle, request_: Any, code: int, msg: str
) -> None:
    async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@trade") as ws:
        answer = await ask(ws, request_)
        assert answer["code"] == code and msg in answer["msg"], answer
        # the connection stays usable
        assert await ask(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 9}) == {
            "result": ["xrpusdt@trade"], "id": 9,
        }  # fmt: skip


async def test_unknown_stream_in_the_url_is_refused(
    session: aiohttp.ClientSession, sim: SimulatorHandle
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(f"{sim.ws_url}/ws/dogeusdt@trade")
    assert refused.value.status == 400


async def test_stream_limit_per_connection(
    session: aiohttp.ClientSession, sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streams_module, "MAX_STREAMS", 1)  # Binance: 1024
    async with session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@trade") as ws:
        answer = await ask(ws, {"method": "SUBSCRIBE", "params": ["ethusdt@trade"], "id": 1})
        assert answer["code"] == 2 and "too many streams" in answer["msg"]


async def test_the_server_pings() -> None:
    sim = await start_simulator(symbols=["XRPUSDT"], ping_interval=0.05)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{sim.ws_url}/ws/xrpusdt@trade", autoping=False) as ws,
        ):
            msg = await ws.receive(timeout=5)
            assert msg.type is aiohttp.WSMsgType.PING
            await ws.pong(msg.data)
            # a client that never answers is disconnected
            while msg.type is aiohttp.WSMsgType.PING:
                msg = await ws.receive(timeout=5)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    finally:
        await sim.close()
