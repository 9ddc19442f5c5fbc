"""The control API of a node trading against the simulator: every endpoint, its token rules
and its answers to bad input; the node is unharmed by any of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hedgehog.cli.control import console_namespace
from hedgehog.control.client import ControlClient
from hedgehog.control.server import build_app, serve
from hedgehog.core.errors import ConfigError
from hedgehog.live.node import LiveNode
from hedgehog.naive.context import leader_name
from tests.control.conftest import started_node
from tests.helpers import eventually

TOKEN = "secret-token-for-tests"


class Api:
    def __init__(self, url: str, node: LiveNode, http: aiohttp.ClientSession) -> None:
        self.url, self.node, self.http = url, node, http

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = TOKEN,
        raw: str | None = None,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        async with self.http.request(method, self.url + path, headers=headers, **kwargs) as r:
            return r.status, await r.json(content_type=None)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    sim, node, _ = await started_node(tmp_path)
    runner, url = await serve(build_app(node, TOKEN))
    http = aiohttp.ClientSession()
    try:
        yield Api(url, node, http)
    finally:
        await http.close()
        await runner.cleanup()
        await node.stop()
        await sim.close()


async def test_token_rules(api: Api) -> None:
    assert (await api.call("GET", "/api/status", token=None))[0] == 401
    assert (await api.call("GET", "/api/status", token="wrong"))[0] == 401
    assert (await api.call("POST", "/api/kill", {"process": 1}, token=None))[0] == 401
    async with api.http.get(f"{api.url}/api/status?token={TOKEN}") as resp:
        assert resp.status == 200  # read-only views accept a token link
    async with api.http.post(
        f"{api.url}/api/trade/start?token={TOKEN}", json={"symbol": "XRPUSDT"}
    ) as resp:
        assert resp.status == 401  # actions need the header


async def test_trade_start_stop_shutdown_and_status(api: Api) -> None:
    status, body = await api.call("POST", "/api/trade/start", {"symbol": "xrpusdt"})
    assert (status, body["status"]) == (200, "on")
    assert api.node.rt.whereis(leader_name("XRPUSDT")) is not None
    status, data = await api.call("GET", "/api/status")
    assert status == 200 and "XRPUSDT" in data["symbols"]
    assert data["tree"]["name"] == "root"
    status, body = await api.call("POST", "/api/trade/shutdown", {"symbol": "XRPUSDT"})
    assert (status, body["status"]) == (200, "shutdown")
    # no trader holds an order yet, so the shutdown completes at once and the symbol stops
    await eventually(lambda: api.node.rt.whereis(leader_name("XRPUSDT")) is None)
    status, body = await api.call("POST", "/api/trade/stop", {"symbol": "XRPUSDT"})
    assert (status, body["was_trading"]) == (200, False)
    status, body = await api.call("GET", "/api/settings?symbol=XRPUSDT")
    assert status == 200 and body[0]["status"] == "off"


async def test_kill_a_leader_and_a_trader(api: Api) -> None:
    await api.call("POST", "/api/trade/start", {"symbol": "XRPUSDT"})
    leader = api.node.rt.whereis(leader_name("XRPUSDT"))
    status, body = await api.call("POST", "/api/kill", {"process": "leader:XRPUSDT"})
    assert status == 200 and body["pid"] == leader.pid  # type: ignore[union-attr]
    new = await eventually(lambda: api.node.rt.whereis(leader_name("XRPUSDT")))
    assert new is not leader
    trader_id = await eventually(lambda: next(iter(new.slots), None))
    status, body = await api.call("POST", "/api/kill", {"process": f"trader:XRPUSDT:{trader_id}"})
    assert status == 200
    await eventually(lambda: trader_id in new.slots and new.slots[trader_id].pid.alive)


@pytest.mark.parametrize(
    ("method", "path", "body", "raw"),
    [
        ("POST", "/api/trade/start", None, "not json"),
        ("POST", "/api/trade/start", ["XRPUSDT"], None),
        ("POST", "/api/trade/start", {}, None),
        ("POST", "/api/trade/start", {"symbol": "NOPEUSDT"}, None),
        ("POST", "/api/trade/start", {"symbol": "bad symbol!"}, None),
        ("POST", "/api/trade/fly", {"symbol": "XRPUSDT"}, None),
        ("POST", "/api/trade/shutdown", {"symbol": "ETHUSDT"}, None),
        ("POST", "/api/stream/jump", {"symbol": "XRPUSDT"}, None),
        ("POST", "/api/kill", {"process": "nobody"}, None),
        ("PUT", "/api/settings/XRPUSDT", {"budget": "-1"}, None),
        ("PUT", "/api/settings/XRPUSDT", {"chunks": 0}, None),
        ("PUT", "/api/settings/XRPUSDT", {"colour": "red"}, None),
        ("POST", "/api/warehouse/start", {"topic": "PRICES:XRPUSDT"}, None),
        ("POST", "/api/warehouse/start", {}, None),
        ("POST", "/api/warehouse/pause", {"topic": "ORDERS:XRPUSDT"}, None),
    ],
)
async def test_bad_requests_are_4xx_and_harmless(
    api: Api, method: str, path: str, body: Any, raw: str | None
) -> None:
    await api.call("POST", "/api/trade/start", {"symbol": "XRPUSDT"})  # seeds XRPUSDT's row
    status, answer = await api.call(method, path, body, raw=raw)
    assert 400 <= status < 500, answer
    assert answer["error"]
    status, _ = await api.call("GET", "/api/status")
    assert status == 200
    assert api.node.rt.whereis(leader_name("XRPUSDT")) is not None


async def test_settings_update_is_validated_and_stored(api: Api) -> None:
    await api.call("POST", "/api/trade/start", {"symbol": "XRPUSDT"})
    status, body = await api.call("PUT", "/api/settings/XRPUSDT", {"budget": "250", "chunks": 2})
    assert status == 200 and body["budget"] == "250" and body["chunks"] == 2
    status, body = await api.call("PUT", "/api/settings/XRPUSDT", {"budget": "1"})
    assert status == 400 and "min notional" in body["error"]


async def test_client_and_console_functions(api: Api) -> None:
    client = ControlClient(api.url, TOKEN)
    assert "secret" not in repr(client)
    data = await client.request("GET", "/api/status")
    assert data["tree"]["name"] == "root"
    with pytest.raises(ConfigError, match="refused"):
        await client.request("POST", "/api/kill", {"process": "nobody"})
    with pytest.raises(ConfigError, match="cannot reach"):
        await ControlClient("http://127.0.0.1:9", TOKEN).request("GET", "/api/status")
    assert set(console_namespace(client)) >= {"start_trading", "stop_trading", "status", "kill"}


async def test_warehouse_records_a_topic(api: Api) -> None:
    await api.call("POST", "/api/trade/start", {"symbol": "XRPUSDT"})
    status, body = await api.call("POST", "/api/warehouse/start", {"topic": "TRADE_EVENTS:xrpusdt"})
    assert status == 200 and body["changed"] is True
    _, data = await api.call("GET", "/api/status")
    assert "TRADE_EVENTS:XRPUSDT" in data["warehouse"]
    status, body = await api.call("POST", "/api/warehouse/stop", {"topic": "TRADE_EVENTS:XRPUSDT"})
    assert status == 200 and body["changed"] is True


def test_console_refusals_are_one_line_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """`update_settings("XRPUSDT", budget="-5")` in the console printed a 20-line asyncio
    traceback: a refusal is now one line, and the console goes on."""

    class Refusing:
        url = "http://127.0.0.1:1"

        def call(self, method: str, path: str, body: object = None) -> object:
            raise ConfigError("the node refused: budget must be > 0 (HTTP 400)")

    namespace = console_namespace(Refusing())  # type: ignore[arg-type]
    assert namespace["update_settings"]("XRPUSDT", budget="-5") is None
    printed = capsys.readouterr().err
    assert "budget must be > 0" in printed and "Traceback" not in printed
    assert len(printed.strip().splitlines()) == 1


GRID = {"lower": "0.96", "upper": "1.04", "levels": 5, "budget": "100"}


async def test_settings_choose_a_strategy_and_the_symbol_trades_it_once_free(api: Api) -> None:
    """PUT {strategy, params} stores the symbol's strategy; a symbol whose naive traders are
    still stored is not switched under them: shut down, it starts again with grid."""
    await api.call("POST", "/api/trade/start", {"symbol": "XRPUSDT"})  # naive, its defaults
    status, body = await api.call(
        "PUT", "/api/settings/XRPUSDT", {"strategy": "grid", "params": GRID}
    )
    assert status == 200, body
    assert body == {
        **{"symbol": "XRPUSDT", "lower": "0.96", "upper": "1.04", "levels": 5, "budget": "100"},
        **{"fee": "0.001", "strategy": "grid", "status": "on"},
    }
    _, listed = await api.call("GET", "/api/settings?symbol=XRPUSDT")
    assert listed == [body]
    _, data = await api.call("GET", "/api/status")
    assert data["symbols"]["XRPUSDT"]["strategy"] == "naive"  # runs on until restarted

    status, body = await api.call("POST", "/api/trade/start", {"symbol": "XRPUSDT"})
    assert status == 400 and "traders of strategy naive stored" in body["error"], body
    status, body = await api.call("POST", "/api/trade/shutdown", {"symbol": "XRPUSDT"})
    assert status == 200, body  # its trader holds nothing: the symbol stops at once
    await eventually(lambda: api.node.rt.whereis(leader_name("XRPUSDT")) is None)
    status, body = await api.call("POST", "/api/trade/start", {"symbol": "XRPUSDT"})
    assert status == 200, body

    def grid_traders() -> list[Any]:
        traders = snapshot_traders(api.node)
        return [t for t in traders if "level" in t]

    await eventually(lambda: len(grid_traders()) == 4)
    assert sorted(t["level"] for t in grid_traders()) == [0, 1, 2, 3]
    _, data = await api.call("GET", "/api/status")
    assert data["symbols"]["XRPUSDT"]["strategy"] == "grid"
    assert {t["strategy"] for t in data["symbols"]["XRPUSDT"]["traders"]} == {"grid"}

    # {"params"} alone, and naive's old fields, change the strategy stored
    status, body = await api.call("PUT", "/api/settings/XRPUSDT", {"params": {"upper": "1.06"}})
    assert status == 200 and (body["strategy"], body["upper"]) == ("grid", "1.06"), body
    status, body = await api.call("PUT", "/api/settings/XRPUSDT", {"budget": "200"})
    assert status == 200 and (body["levels"], body["budget"]) == (5, "200"), body
    status, body = await api.call("PUT", "/api/settings/XRPUSDT", {"chunks": 2})
    assert status == 400 and "grid: unknown setting 'chunks'" in body["error"]


def snapshot_traders(node: LiveNode) -> list[dict[str, Any]]:
    from hedgehog.live.view import snapshot

    section = snapshot(node)["symbols"].get("XRPUSDT", {})
    traders: list[dict[str, Any]] = section.get("traders", [])
    return traders
