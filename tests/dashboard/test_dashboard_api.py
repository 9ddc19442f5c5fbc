"""The dashboard's endpoints on the control API: token rules, bad input, answers' shapes, the
event stream (a snapshot, then diffs with new points), its limits and its cost to the node."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hedgehog.cli.dashboard import announce, dashboard_link
from hedgehog.config import Settings
from hedgehog.config.token import read_connection
from hedgehog.control.host import extra_routes, running_node
from hedgehog.core.client_ids import trader_of
from hedgehog.dashboard.hub import Client, Snapshot
from hedgehog.dashboard.snapshot import Series
from hedgehog.simulator import start_simulator
from hedgehog.store import Database
from tests.dashboard.conftest import SYMBOL, TOKEN, Rig
from tests.helpers import eventually

GETS = ["/", "/dashboard", "/api/overview", f"/api/symbol/{SYMBOL}", "/api/process/1"]


async def read_event(resp: aiohttp.ClientResponse) -> tuple[str, dict[str, Any]]:
    """The next Server-Sent Event: (name, JSON data)."""
    name, data = "message", []
    async with asyncio.timeout(5):
        while True:
            raw = await resp.content.readline()
            if not raw:
                raise EOFError("the stream ended")
            line = raw.decode().rstrip("\r\n")
            if not line:
                if data:
                    return name, json.loads("\n".join(data))
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)


def events_url(rig: Rig) -> str:
    return f"{rig.url}/api/events?token={TOKEN}"


@pytest.mark.parametrize("path", [*GETS, "/api/events"])
async def test_every_endpoint_needs_the_token(rig: Rig, path: str) -> None:
    assert (await rig.get(path, token=None))[0] == 401
    assert (await rig.get(path, token="wrong"))[0] == 401
    sep = "&" if "?" in path else "?"
    async with rig.http.get(f"{rig.url}{path}{sep}token=wrong") as resp:
        assert resp.status == 401
    async with rig.http.get(f"{rig.url}{path}{sep}token={TOKEN}") as resp:
        assert resp.status == 200  # read-only: a link with the token opens it


async def test_actions_from_the_page_still_need_the_header(rig: Rig) -> None:
    async with rig.http.post(f"{rig.url}/api/kill?token={TOKEN}", json={"process": 1}) as resp:
        assert resp.status == 401
    async with rig.http.post(f"{rig.url}/?token={TOKEN}") as resp:
        assert resp.status in (401, 405)


async def test_the_page_has_a_strict_policy(rig: Rig) -> None:
    for path in ("/", "/dashboard"):
        async with rig.http.get(f"{rig.url}{path}?token={TOKEN}") as resp:
            assert resp.status == 200
            assert resp.content_type == "text/html"
            html = await resp.text()
            csp = resp.headers["Content-Security-Policy"]
            assert resp.headers["Cache-Control"] == "no-store"
            assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert "{{" not in html
        assert not re.search(r"(src|href)=\"https?://", html)  # nothing from the internet
        # no inline code: an import map, and the entry module from the node (see test_modules)
        assert html.count("<script") == 2 and '<script type="module" src="/dashboard/js/' in html
        script = html.split('<script type="importmap">', 1)[1].split("</script>", 1)[0]
        style = html.split("<style>", 1)[1].split("</style>", 1)[0]
        for block, directive in ((script, "script-src 'self'"), (style, "style-src")):
            digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
            assert f"{directive} 'sha256-{digest}'" in csp
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp


async def test_overview_shape(rig: Rig) -> None:
    await rig.trade("1.0000")
    await eventually(lambda: rig.first("buy").get("status") == "NEW")
    status, data = await rig.get("/api/overview")
    assert status == 200
    assert set(data) == {"version", "tree", "node", "symbols"}
    tree = data["tree"]
    assert tree["name"] == "root" and tree["key"] == "root"
    ids = [c.get("name") for c in tree["children"]]
    assert {"streamer", "exchange.fills", "observer", "naive"} <= set(ids)
    (naive,) = [c for c in tree["children"] if c.get("name") == "naive"]
    names = [c.get("name") for c in naive["children"]]
    assert names == ["naive.bars", "naive.symbols", "naive.autostart"]

    def find(node: dict[str, Any], key: str) -> dict[str, Any] | None:
        if node["key"] == key:
            return node
        for child in node.get("children", []):
            if (found := find(child, key)) is not None:
                return found
        return None

    trader = find(tree, f"trader:{SYMBOL}:t1")
    assert trader is not None and trader["module"] == "Trader"
    assert trader["label"] == "t1" and trader["detail"] == "buying"
    assert {"pid", "status", "restarts", "started_at"} <= set(trader)
    leader = find(tree, f"leader:{SYMBOL}")
    assert leader is not None and leader["trader_restarts"] == 0

    node = data["node"]
    assert {"now", "exchange", "streams", "balances", "totals", "errors", "warnings"} <= set(node)
    assert node["exchange"]["exchange"] == "binance"
    assert node["exchange"]["user_stream_connected"] is True
    assert node["exchange"]["max_weight_per_minute"] > 0
    assert node["streams"]["connections"][0]["connected"] is True
    assert node["totals"]["open_orders"] == 1 and node["totals"]["traders"] == 1
    assets = {b["asset"]: b for b in node["balances"]["assets"]}
    assert "USDT" in assets and assets["USDT"]["value"] is not None

    xrp = data["symbols"][SYMBOL]
    assert xrp["status"] == "on" and xrp["last_price"] == "1"
    assert xrp["settings"]["budget"] == "100" and xrp["settings"]["chunks"] == 5
    [t] = xrp["traders"]
    assert t["trader_id"] == "t1" and t["key"] == f"trader:{SYMBOL}:t1"
    assert t["buy"]["price"] == "0.9999" and t["buy"]["status"] == "NEW"
    [order] = xrp["orders"]
    assert order["side"] == "BUY" and order["trader_id"] == "t1" and order["price"] == "0.9999"


async def test_symbol_detail_has_series_fills_and_cycles(rig: Rig) -> None:
    await rig.trade("1.0000")
    await eventually(lambda: rig.first("buy").get("status") == "NEW")
    rig.next_second()  # a new 1 s bar
    await rig.trade("0.9999", qty="100")  # fills the whole buy
    await eventually(lambda: rig.first("sell").get("status") == "NEW")
    sell = rig.first("sell")["price"]
    rig.next_second()
    await rig.trade("1.0100", qty="100")  # fills the sell: a completed cycle
    await eventually(lambda: rig.node.naive.ctx.traders_started[SYMBOL] == 2)

    async def detail_with_a_cycle() -> dict[str, Any] | None:
        status, body = await rig.get(f"/api/symbol/{SYMBOL.lower()}")
        assert status == 200
        return body if body["cycles_completed"] >= 1 else None

    body = await eventually(detail_with_a_cycle, what="the cycle in the symbol's detail")
    assert body["symbol"] == SYMBOL
    assert body["risk"] is None  # no max_loss set: no risk book
    assert body["interval"] == "1s"  # less than a few minutes of trades: 1 s bars
    assert [Decimal(b[4]) for b in body["bars"]] == [1, Decimal("0.9999"), Decimal("1.01")]
    assert body["bars"] == await rig.bars_of_trades("1s")  # the aggregator's bars, exactly
    assert all(len(p) == 3 for p in body["pnl"])
    sides = [(f["side"], f["price"]) for f in body["fills"]]
    assert sides == [("BUY", "0.9999"), ("SELL", sell)], json.dumps(body["fills"])
    [cycle] = body["cycles"]
    assert cycle["trader_id"] == "t1" and cycle["buy_price"] == "0.9999"
    assert cycle["sell_price"] == sell and float(cycle["profit"]) > 0
    assert float(body["realised_pnl"]) > 0


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/symbol/bad%20symbol!", 400),
        ("/api/symbol/NOPEUSDT", 404),
        ("/api/process/nobody", 400),
        ("/api/process/999999", 400),
        ("/api/process/trader:XRPUSDT:nope", 400),
    ],
)
async def test_bad_input_is_4xx(rig: Rig, path: str, status: int) -> None:
    got, body = await rig.get(path)
    assert (got, bool(body["error"])) == (status, True)
    assert (await rig.get("/api/overview"))[0] == 200  # the node is unharmed


async def test_process_detail(rig: Rig) -> None:
    await rig.trade("1.0000")
    await eventually(lambda: rig.first("buy").get("status") == "NEW")
    status, root = await rig.get("/api/process/root")
    assert status == 200 and root["pid"] == 1 and root["module"] == "Supervisor"
    assert root["children"][0]["name"] == "streamer"
    assert root["uptime"] >= 0
    status, by_pid = await rig.get(f"/api/process/{rig.leader().pid}")
    assert status == 200 and by_pid["module"] == "Leader"
    status, leader = await rig.get(f"/api/process/leader:{SYMBOL}")
    assert leader == {**by_pid, "ref": f"leader:{SYMBOL}", "uptime": leader["uptime"]}
    assert leader["info"]["settings"]["budget"] == "100"
    assert leader["slots"] == [
        {"trader_id": "t1", "pid": rig.first_trader().pid, "alive": True, "phase": "buying",
         "cycle": 0}
    ]  # fmt: skip
    status, trader = await rig.get(f"/api/process/trader:{SYMBOL}:t1")
    assert status == 200 and trader["module"] == "Trader" and trader["symbol"] == SYMBOL
    info = trader["info"]
    assert info["trader_id"] == "t1" and info["cycle"] == 0 and info["phase"] == "buying"
    assert info["buy"]["price"] == "0.9999" and info["sell"] is None
    assert info["rebuy_notified"] is False


async def test_event_stream_sends_a_snapshot_then_diffs(rig: Rig) -> None:
    async with rig.http.get(events_url(rig)) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        name, first = await read_event(resp)
        assert name == "snapshot"
        assert {"tree", "node", f"symbol:{SYMBOL}"} <= set(first["sections"])
        assert first["series"] == {}
        await rig.trade("1.0000")
        bars: dict[int, list[Any]] = {}  # the page's bars: a bar sent again replaces its time's
        fills: list[Any] = []
        versions = [first["version"]]

        async def next_update() -> dict[str, Any]:
            name, update = await read_event(resp)
            assert name == "update" and update["version"] > versions[-1]
            versions.append(update["version"])
            assert set(update["sections"]) <= set(first["sections"]) | {"symbol:ETHUSDT"}
            new: dict[str, Any] = update["series"].get(SYMBOL, {})
            sent = new.get("bars", [])
            times = [b[0] for b in sent]
            assert times == sorted(set(times))  # in order, each bar once per update
            if sent and bars:  # only the last bar again (when it changed) and newer ones
                assert times[0] >= max(bars)
                assert times[0] > max(bars) or sent[0] != bars[max(bars)]
            bars.update({b[0]: b for b in sent})
            return new

        async with asyncio.timeout(30):  # a bound for a stuck stream; updates come every 0.1 s
            while not (bars and fills):
                new = await next_update()
                if bars and not fills and rig.first("buy").get("status") == "NEW":
                    rig.next_second()
                    await rig.trade("0.9999", qty="100")  # fills the whole buy
                fills += new.get("fills", [])
            assert fills and fills[0]["side"] == "BUY" and fills[0]["price"] == "0.9999"
            last = (await rig.trades_made())[-1].trade_time
            rig.sim.market.now_ms = lambda: last  # the same second: the open bar changes
            await rig.trade("0.9998")
            expected = await rig.bars_of_trades("1s")
            assert len(expected) == 2 and expected[-1][2:] == ["0.9999", "0.9998", "0.9998"]
            while [bars[t] for t in sorted(bars)] != expected:
                await next_update()
        assert Decimal(bars[min(bars)][4]) == 1


async def test_streams_are_capped(rig: Rig) -> None:
    limit = rig.dashboard.max_clients
    responses = [await rig.http.get(events_url(rig)) for _ in range(limit)]
    try:
        for resp in responses:
            assert resp.status == 200
            await read_event(resp)
        async with rig.http.get(events_url(rig)) as extra:
            assert extra.status == 503
            assert "too many" in (await extra.json())["error"]
        responses.pop().close()
        await eventually(lambda: rig.dashboard.clients < limit, 5)
        async with rig.http.get(events_url(rig)) as again:
            assert again.status == 200
    finally:
        for resp in responses:
            resp.close()


async def test_open_dashboards_share_one_snapshot_per_interval(rig: Rig) -> None:
    hub = rig.dashboard.hub
    streams = [await rig.http.get(events_url(rig)) for _ in range(3)]
    try:
        before, started = hub.computed, time.monotonic()
        received = 0
        async with asyncio.timeout(10):
            while received < 3 * 10:
                for resp in streams:
                    await read_event(resp)
                    received += 1
        elapsed = time.monotonic() - started
    finally:
        for resp in streams:
            resp.close()
    computed = hub.computed - before
    # three clients, one computation per interval (not three)
    assert computed <= elapsed / (hub.interval * 0.9) + 2
    assert received / max(computed, 1) > 2


async def test_a_stream_does_not_hold_up_the_shutdown(rig: Rig) -> None:
    resp = await rig.http.get(events_url(rig))
    await read_event(resp)
    # an open stream held up, the runner would wait out aiohttp's shutdown timeout (60 s)
    await asyncio.wait_for(rig.runner.cleanup(), 10)
    resp.close()


async def test_warnings_and_crashes_are_shown(rig: Rig) -> None:
    logging.getLogger("hedgehog.test").warning("something odd: %s", "details")
    trader = await eventually(rig.first_trader)
    rig.node.rt.kill(trader)
    await eventually(lambda: rig.first_trader() is not None and rig.first_trader() is not trader)

    async def overview_shows_both() -> bool:
        _, data = await rig.get("/api/overview")
        warnings = data["node"]["warnings"]
        assert any(w["message"] == "something odd: details" for w in warnings)
        assert any("restarting it" in w["message"] for w in warnings)
        assert data["node"]["totals"]["restarts"] >= 1
        return True

    await eventually(overview_shows_both)


def test_client_diffs_and_fills_are_sent_once() -> None:
    fill = {"time": 1000, "side": "BUY", "price": "1", "qty": "5", "client_order_id": "X-t1-0B"}
    bar = (1000, "1", "1", "1", "1")
    s1 = Snapshot(1, 0.0, {"tree": "{}", "node": '{"now":1}'}, {"X": Series([bar], [], [fill])})
    client = Client()
    first = json.loads(client.first(s1))
    assert first["sections"] == {"tree": {}, "node": {"now": 1}} and first["series"] == {}
    assert client.update(s1) is None  # nothing new
    late = {**fill, "time": 999, "client_order_id": "X-t2-0B"}  # out of order, within slack
    grown = (1000, "1", "1.5", "1", "1.5")  # the bar in progress changed, then closed
    bars = [grown, (2000, "2", "2", "2", "2")]
    s2 = Snapshot(
        2,
        1.0,
        {"tree": "{}", "node": '{"now":2}', "symbol:Y": "{}"},
        {"X": Series(bars, [(2000, "0", "0")], [fill, late])},
    )
    update = json.loads(client.update(s2) or "")
    assert update["sections"] == {"node": {"now": 2}, "symbol:Y": {}}
    assert update["series"] == {"X": {"bars": [list(b) for b in bars], "pnl": [[2000, "0", "0"]],
                                      "fills": [late]}}  # fmt: skip
    s3 = Snapshot(3, 2.0, {"tree": "{}", "node": '{"now":2}'}, s2.series)
    assert json.loads(client.update(s3) or "") == {
        "version": 3, "sections": {}, "series": {}, "gone": ["symbol:Y"]
    }  # fmt: skip
    # the open bar changes: only it is sent again; a new interval: all the bars, with it
    moved = [bars[0], (2000, "2", "2.1", "2", "2.1")]
    s4 = Snapshot(4, 3.0, s3.sections, {"X": Series(moved, s2.series["X"].pnl, [fill, late])})
    assert json.loads(client.update(s4) or "")["series"] == {"X": {"bars": [list(moved[1])]}}
    minutes = [(0, "1", "2.1", "1", "2.1")]
    s5 = Snapshot(5, 4.0, s3.sections, {"X": Series(minutes, [], [], "1m")})
    assert json.loads(client.update(s5) or "")["series"] == {
        "X": {"interval": "1m", "bars": [list(minutes[0])]}
    }
    assert client.update(s5) is None


def test_trader_of_a_client_order_id() -> None:
    assert trader_of("XRPUSDT-t7-0B") == "t7"
    assert trader_of("XRPUSDT-ab12c_3-12S") == "ab12c_3"


async def test_the_node_serves_the_dashboard(rig: Rig) -> None:
    paths = {r.path for r in extra_routes(rig.node)}  # type: ignore[attr-defined]
    assert {"/", "/api/events", "/api/symbol/{symbol}", "/api/process/{ref}"} <= paths


async def test_running_node_prints_a_working_dashboard_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = await start_simulator(symbols=[SYMBOL])
    settings = Settings(
        exchange="binance",
        rest_url=sim.url,
        stream_url=sim.ws_url,
        ws_api_url=sim.ws_api_url,
        binance_api_key=sim.api_key,  # type: ignore[arg-type]
        binance_api_secret=sim.api_secret,  # type: ignore[arg-type]
        data_dir=tmp_path,
    )
    try:
        async with running_node(settings, db=Database(None, tmp_path), announce=announce):
            printed = capsys.readouterr().err
            assert "token=" not in printed, printed  # stderr is not a terminal: it may be a log
            assert re.search(r"dashboard: http://127\.0\.0\.1:\d+/ ", printed), printed
            link = dashboard_link(*read_connection(tmp_path))  # what `hedgehog dashboard` prints
            async with aiohttp.ClientSession() as http, http.get(link) as resp:
                assert resp.status == 200 and "hedgehog" in await resp.text()
    finally:
        await sim.close()
