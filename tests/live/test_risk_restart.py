"""The risk book across `kill -9` of a whole live node (issue 13): a node on the local
simulator (real sockets, the real Binance client, the SQLite store) with `max_loss` set
completes a cycle and is SIGKILLed; the new node on the same store has the cycle's realised
PnL. It then halts and is SIGKILLed again; the next node is still halted, under the same
limits, places no buy, and `hedgehog status --json` shows its traders halted.

Settings: 2 traders of 20 USDT, buy 1% under the market, profit 0.1%, rebuy 5% under the buy,
fee 0.1%, max_loss 1. A trade at 1.0 buys 20.2 at 0.99; holding them, the PnL at 0.93 is
about -1.23: halted (and the rebuy it asks for is refused)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hedgehog.config.token import ADDRESS_FILE, TOKEN_FILE
from hedgehog.simulator import start_simulator
from hedgehog.store import Database
from hedgehog.store.models import RiskBookRow, RiskRealisedRow
from tests.helpers import eventually
from tests.live.test_grid_node_restart import SYMBOL, Rig, hedgehog

PARAMS = (
    "chunks=2",
    "budget=40",
    "buy_down_interval=0.01",
    "profit_interval=0.001",
    "rebuy_interval=0.05",
    "fee=0.001",
    "max_loss=1",
)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    sim = await start_simulator(symbols=[SYMBOL])
    http = aiohttp.ClientSession()
    r = Rig(sim, tmp_path, http)
    try:
        yield r
    finally:
        if r.node is not None and r.node.returncode is None:
            r.node.kill()
            _, stderr = await r.node.communicate()
            print(stderr.decode()[-6000:])  # shown when the test failed
        await http.close()
        await sim.close()


async def leader(rig: Rig) -> dict[str, Any]:
    """The leader's info (its risk book: limits, realised PnL, the halt)."""
    address = json.loads((rig.data_dir / ADDRESS_FILE).read_text())
    token = (rig.data_dir / TOKEN_FILE).read_text().strip()
    url = f"{address['url']}/api/process/leader:{SYMBOL}"
    async with rig.http.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200, await resp.text()
        info: dict[str, Any] = (await resp.json())["info"]
        return info


async def stored(data_dir: Path) -> tuple[dict[str, str], Any]:
    """(realised PnL by trader id, the halt) as the store holds them."""
    async with Database(None, data_dir) as db:
        realised = await db.run(lambda s: {r.trader_id: r.pnl for r in s.query(RiskRealisedRow)})
        halted = await db.run(lambda s: [r.halted for r in s.query(RiskBookRow)])
    return realised, halted[0] if halted else None


async def status_json(rig: Rig) -> dict[str, Any]:
    code, out, err = await hedgehog(rig.env, "status", "--json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


async def test_a_killed_node_keeps_its_realised_pnl_and_its_halt(rig: Rig) -> None:
    params = [arg for pair in PARAMS for arg in ("--param", pair)]
    await rig.start_node("--symbols", SYMBOL, *params)
    await eventually(lambda: _leader_up(rig), 30, what="the leader")
    assert (await leader(rig))["risk"]["realised_pnl"] == "0"

    # -- one completed cycle, then kill -9 ----------------------------------------------------
    await rig.trade("1.0")  # trader 1 buys at 0.99
    await eventually(lambda: _count(rig, "BUY", 1), 30, what="the first buy")
    await rig.trade("0.99")  # filled: it sells
    await eventually(lambda: _count(rig, "SELL", 1), 30, what="its sell")
    [(sell_price, _)] = await rig.orders("SELL")
    await rig.trade(str(sell_price))  # filled: the cycle is complete
    await eventually(lambda: _realised(rig), 30, what="the realised PnL in the book")
    before = (await leader(rig))["risk"]
    assert D(before["realised_pnl"]) > 0 and before["halted"] is None
    await rig.kill_node()

    # -- the new node: the realised PnL is back ---------------------------------------------
    await rig.start_node()
    await eventually(lambda: _leader_up(rig), 30, what="the leader")
    assert (await leader(rig))["risk"] == before
    realised, halted = await stored(rig.data_dir)
    assert list(realised.values()) == [before["realised_pnl"]] and halted is None
    assert (await status_json(rig))["symbols"][SYMBOL]["state"] == "trading"

    # -- it halts; kill -9 again ----------------------------------------------------------------
    buys = len(await rig.orders("BUY"))
    await rig.trade("1.0")  # the fresh trader buys at 0.99
    await eventually(lambda: _count(rig, "BUY", buys + 1), 30, what="the next buy")
    await rig.trade("0.99")  # filled: it holds 20.2 at 0.99
    await eventually(lambda: _count(rig, "SELL", 2), 30, what="its sell")
    await rig.trade("0.93")  # PnL about -1.23: halted
    await eventually(lambda: _halted(rig), 30, what="the halt")
    halted_before = await leader(rig)
    await eventually(lambda: _halt_stored(rig.data_dir), 30, what="the halt in the store")
    await rig.kill_node()
    ledger = await rig.ledger()

    # -- the next node: still halted under the same limits, no buy ----------------------------
    await rig.start_node()
    await eventually(lambda: _leader_up(rig), 30, what="the leader")
    after = await leader(rig)
    assert after["halted"] == halted_before["halted"] is not None
    assert after["risk"]["halted"] == halted_before["risk"]["halted"]
    assert after["risk"]["realised_pnl"] == before["realised_pnl"]
    assert "max loss 1 reached" in after["halted"]
    section = (await status_json(rig))["symbols"][SYMBOL]
    assert section["traders"] and all(t["halted"] for t in section["traders"])
    assert section["risk"]["halted"] == after["risk"]["halted"]  # the symbol's own line too
    assert section["risk"]["realised_pnl"] == before["realised_pnl"]
    await rig.trade("0.99")
    await rig.trade("0.98")
    await rig.trade("0.9")
    await rig.stop_node()
    assert [o for o in await rig.ledger() if o["side"] == "BUY"] == [
        o for o in ledger if o["side"] == "BUY"
    ]


async def _leader_up(rig: Rig) -> bool:
    """The leader and a trader running (a trade sent before would reach nobody)."""
    section = (await rig.status())["symbols"].get(SYMBOL, {})
    return section.get("state") == "trading" and "risk" in await leader(rig)


async def _count(rig: Rig, side: str, n: int) -> bool:
    return len(await rig.orders(side)) == n


async def _realised(rig: Rig) -> bool:
    try:
        return D((await leader(rig))["risk"]["realised_pnl"]) != 0
    except (aiohttp.ClientError, KeyError):
        return False


async def _halted(rig: Rig) -> bool:
    return (await leader(rig))["halted"] is not None


async def _halt_stored(data_dir: Path) -> bool:
    return (await stored(data_dir))[1] is not None
