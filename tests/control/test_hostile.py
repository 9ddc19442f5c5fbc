"""Hostile input to the control API gets a 4xx with a message, never a 500; nothing of it is
stored; and the parsers it relies on (bounded JSON, bounded settings) refuse it on their own."""

from __future__ import annotations

import json
import webbrowser
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from typer.testing import CliRunner

from hedgehog import cli
from hedgehog.cli.dashboard import announce, announcement
from hedgehog.config.token import write_address, write_token
from hedgehog.control.host import extra_routes
from hedgehog.control.server import build_app, serve
from hedgehog.core import jsonlimits
from hedgehog.core.errors import ConfigError
from hedgehog.live.node import LiveNode
from hedgehog.naive.settings import TradingSettings
from hedgehog.store import Database, SettingsRepo
from hedgehog.store.switches import StreamingRepo
from tests.control.conftest import started_node

TOKEN = "hostile-input-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Node:
    """A node on the simulator, its control API (with the dashboard's routes) and a client."""

    def __init__(self, url: str, node: LiveNode, db: Database, http: aiohttp.ClientSession):
        self.url, self.node, self.db, self.http = url, node, db, http

    async def send(
        self, method: str, path: str, data: bytes | str, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        headers = {**AUTH, "Content-Type": content_type}
        async with self.http.request(method, self.url + path, data=data, headers=headers) as r:
            return r.status, await r.json(content_type=None)

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.http.get(self.url + path, headers=AUTH) as r:
            return r.status, await r.json(content_type=None)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    sim, live, db = await started_node(tmp_path)
    await SettingsRepo(db).seed_from_exchange_info({"XRPUSDT": {}})  # type: ignore[dict-item]
    runner, url = await serve(build_app(live, TOKEN, routes=extra_routes(live)))
    http = aiohttp.ClientSession()
    try:
        yield Node(url, live, db, http)
    finally:
        await http.close()
        await runner.cleanup()
        await live.stop()
        await sim.close()


MANY = json.dumps({"strategy": "grid", "params": {f"k{i}": 1 for i in range(40)}})
GRID_WITH = '{"strategy": "grid", "params": {"lower": "0.4", "upper": "0.401", "levels": 5, %s}}'
HOSTILE = [
    ("POST", "/api/kill", '{"process": "\u00b2"}', "no live process"),
    ("POST", "/api/kill", '{"process": ' + "9" * 5000 + "}", "too long"),
    ("POST", "/api/kill", '{"process": NaN}', "not JSON"),
    ("POST", "/api/kill", "[" * 30_000 + "]" * 30_000, "nested too deep"),
    ("POST", "/api/kill", '{"process": "' + "[" * 60_000 + '"}', "at most 200"),
    ("POST", "/api/trade/start", b'{"symbol": "\xff"}', "UTF-8"),
    ("PUT", "/api/settings/XRPUSDT", '{"filters": 1}', "unknown setting"),
    ("PUT", "/api/settings/XRPUSDT", '{"self": 1}', "unknown setting"),
    ("PUT", "/api/settings/XRPUSDT", '{"symbol": "ETHUSDT"}', "unknown setting"),
    ("PUT", "/api/settings/XRPUSDT", '{"chunks": ' + str(10**30) + "}", "chunks must be at most"),
    ("PUT", "/api/settings/XRPUSDT", '{"chunks": true}', "not a whole number"),
    ("PUT", "/api/settings/XRPUSDT", '{"profit_interval": "1e-20000000"}', "out of range"),
    ("PUT", "/api/settings/XRPUSDT", '{"budget": "' + "1" * 5000 + '"}', "too long"),
    ("PUT", "/api/settings/XRPUSDT", '{"budget": {"a": 1}}', "not a number"),
    ("PUT", "/api/settings/XRPUSDT", '{"fee": "\u00b2"}', "not a number"),
    ("PUT", "/api/settings/XRPUSDT", "[1]", "JSON object"),
    # a strategy and its params
    ("PUT", "/api/settings/XRPUSDT", '{"strategy": "os:system"}', "must be one of grid, naive"),
    ("PUT", "/api/settings/XRPUSDT", '{"strategy": "antigravity:x"}', "hedgehog settings set"),
    ("PUT", "/api/settings/XRPUSDT", '{"strategy": 5}', "(got a int)"),
    ("PUT", "/api/settings/XRPUSDT", '{"strategy": "' + "g" * 5000 + '"}', "must be one of"),
    ("PUT", "/api/settings/XRPUSDT", '{"strategy": "grid", "params": [1]}', "must be an object"),
    ("PUT", "/api/settings/XRPUSDT", '{"strategy": "grid", "budget": "5"}', 'go in "params'),
    ("PUT", "/api/settings/XRPUSDT", '{"strategy": "grid"}', "grid needs lower, upper, levels"),
    ("PUT", "/api/settings/XRPUSDT", MANY, "at most 32"),
    ("PUT", "/api/settings/XRPUSDT", '{"params": {"lower": "1"}}', "unknown setting 'lower'"),
    ("PUT", "/api/settings/XRPUSDT", '{"params": {"' + "k" * 5000 + '": 1}}', "unknown setting"),
    ("PUT", "/api/settings/XRPUSDT", GRID_WITH % '"levels": "1e3"', "levels must be a whole"),
    ("PUT", "/api/settings/XRPUSDT", GRID_WITH % '"levels": 100000', "levels must be 2..1000"),
    ("PUT", "/api/settings/XRPUSDT", GRID_WITH % '"levels": 1000', "collapse on the tick"),
    ("PUT", "/api/settings/XRPUSDT", GRID_WITH % '"lower": 0.5', "lower is not a number"),
    ("PUT", "/api/settings/XRPUSDT", GRID_WITH % '"fee": {"a": 1}', "fee is not a number"),
    ("PUT", "/api/settings/XRPUSDT", GRID_WITH % '"upper": "1e999999"', "out of range"),
]


@pytest.mark.parametrize(("method", "path", "body", "says"), HOSTILE)
async def test_hostile_bodies_get_a_4xx_with_a_message(
    node: Node, method: str, path: str, body: str | bytes, says: str
) -> None:
    before = await SettingsRepo(node.db).get("XRPUSDT")
    raw = body.encode() if isinstance(body, str) else body
    status, answer = await node.send(method, path, raw)
    assert status == 400 and says in answer["error"], (status, answer)
    assert len(answer["error"]) < 400  # a message, not the input echoed back
    assert await SettingsRepo(node.db).get("XRPUSDT") == before
    assert (await node.get("/api/status"))[0] == 200  # the node is unharmed


async def test_a_bogus_charset_is_ignored_not_a_500(node: Node) -> None:
    status, answer = await node.send(
        "POST", "/api/kill", b'{"process": "nobody"}', "application/json; charset=bogus-42"
    )
    assert status == 400 and "no live process" in answer["error"]


async def test_a_process_path_that_is_not_ascii_digits(node: Node) -> None:
    status, answer = await node.get("/api/process/%C2%B2")
    assert status == 400 and "no live process" in answer["error"]
    status, answer = await node.get("/api/process/" + "9" * 150)
    assert status == 400


async def test_too_large_a_body_is_413(node: Node) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    async with node.http.post(
        node.url + "/api/kill", data=b" " * (70 * 1024), headers=headers
    ) as r:
        assert r.status == 413


async def test_streaming_a_symbol_the_exchange_does_not_list_is_refused_and_not_stored(
    node: Node,
) -> None:
    status, answer = await node.send("POST", "/api/stream/start", '{"symbol": "FOOBARUSDT"}')
    assert status == 400 and "FOOBARUSDT" in answer["error"]
    assert "FOOBARUSDT" not in node.node.streamer.streaming()
    assert "FOOBARUSDT" not in await StreamingRepo(node.db).all()
    status, answer = await node.send("POST", "/api/stream/start", '{"symbol": "ethusdt"}')
    assert status == 200 and answer["symbol"] == "ETHUSDT"


async def test_known_settings_still_update(node: Node) -> None:
    status, answer = await node.send(
        "PUT", "/api/settings/XRPUSDT", '{"fee": "1e-20", "chunks": 2}'
    )
    assert status == 200 and answer["chunks"] == 2, answer
    assert (await SettingsRepo(node.db).get("XRPUSDT")).settings.fee == Decimal("1e-20")


async def test_the_openapi_description_is_served(node: Node) -> None:
    status, answer = await node.get("/api/openapi.json")
    assert status == 200 and "/api/settings/{symbol}" in answer["paths"]


# -- the parsers on their own -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[" * 33 + "]" * 33, "nested too deep"),
        ("1" * 41, "too long"),
        ("1." + "1" * 40, "too long"),
        ("Infinity", "not JSON"),
        ("{", "not JSON"),
        (b"\xff", "not UTF-8"),
        (" " * 70_000, "too large"),
    ],
)
def test_bounded_json_refuses(text: str | bytes, says: str) -> None:
    with pytest.raises(jsonlimits.BadJson, match=says):
        jsonlimits.loads(text)


def test_bounded_json_accepts_what_is_within_bounds() -> None:
    nested = "[" * 32 + "]" * 32
    assert jsonlimits.loads(nested) is not None
    in_a_string = '{"a": "' + "[" * 40 + '\\"{"}'
    assert jsonlimits.loads(in_a_string) == {"a": "[" * 40 + '"{'}
    assert jsonlimits.loads("9" * 40) == int("9" * 40)


@pytest.mark.parametrize(
    "values",
    [
        {"filters": 1},
        {"self": 1},
        {"chunks": 10**30},
        {"chunks": 0},
        {"chunks": 2.5},
        {"chunks": "9" * 5000},
        {"profit_interval": "1e-20000000"},
        {"budget": "1e16"},
        {"budget": "1." + "1" * 30},
        {"fee": "0.000000000000000000001"},
        {"budget": True},
        {"budget": ["1"]},
    ],
)
def test_settings_input_is_bounded(values: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        TradingSettings.parse("XRPUSDT", **values)


async def test_settings_repo_update_refuses_unknown_keys_without_a_type_error(node: Node) -> None:
    repo = SettingsRepo(node.db)
    for values in ({"filters": 1}, {"self": 1}, {"colour": "red"}):
        with pytest.raises(ConfigError, match="unknown setting"):
            await repo.update("XRPUSDT", None, **values)


# -- the token stays out of logs --------------------------------------------------------------
def test_a_node_prints_its_token_only_to_a_terminal(tmp_path: Path) -> None:
    url, token = "http://127.0.0.1:8765", "t0ken-Secret"
    logged = "\n".join(announcement(url, token, tmp_path, interactive=False))
    assert token not in logged and "hedgehog dashboard" in logged
    assert str(tmp_path / "control.token") in logged
    shown = "\n".join(announcement(url, token, tmp_path, interactive=True))
    assert f"{url}/?token={token}" in shown


def test_a_started_node_under_a_pipe_does_not_print_its_token(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    announce("http://127.0.0.1:8765", "t0ken-Secret", tmp_path)  # stderr is captured: no tty
    assert "t0ken-Secret" not in capfd.readouterr().err


class Browser:
    """A stand-in for `webbrowser.open` that records what it was asked to open."""

    def __init__(self, works: bool) -> None:
        self.opened: list[str] = []
        self.works = works

    def open(self, url: str) -> bool:
        self.opened.append(url)
        return self.works


@pytest.mark.parametrize("works", [True, False])
def test_hedgehog_dashboard_prints_and_opens_the_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, works: bool
) -> None:
    monkeypatch.setenv("HEDGEHOG_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(cli.app, ["dashboard"])
    assert result.exit_code == 2 and "no running node" in result.output
    write_address(tmp_path, "http://127.0.0.1:8765", 4242)
    token = write_token(tmp_path)
    result = runner.invoke(cli.app, ["dashboard"])
    assert result.exit_code == 0 and f"http://127.0.0.1:8765/?token={token}" in result.output
    browser = Browser(works)
    monkeypatch.setattr(webbrowser, "open", browser.open)
    result = runner.invoke(cli.app, ["dashboard", "--open"])
    assert browser.opened == [f"http://127.0.0.1:8765/?token={token}"]
    assert result.exit_code == (0 if works else 1)
