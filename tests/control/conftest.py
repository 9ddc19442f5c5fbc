"""What the control API tests share: a started node trading nothing yet, against the
in-process simulator (`exchange="binance"`), on a migrated SQLite store in `data_dir`."""

from __future__ import annotations

from pathlib import Path

from hedgehog.config import Settings
from hedgehog.live.node import LiveNode
from hedgehog.simulator import SimulatorHandle, start_simulator
from hedgehog.store import Database
from tests.live.test_live_e2e import FAST


async def started_node(data_dir: Path) -> tuple[SimulatorHandle, LiveNode, Database]:
    """(the simulator, the started node, its store); the caller stops the node, then the
    simulator."""
    sim = await start_simulator(symbols=["XRPUSDT", "ETHUSDT"])
    settings = Settings(
        exchange="binance",
        rest_url=sim.url,
        stream_url=sim.ws_url,
        ws_api_url=sim.ws_api_url,
        binance_api_key=sim.api_key,  # type: ignore[arg-type]
        binance_api_secret=sim.api_secret,  # type: ignore[arg-type]
        data_dir=data_dir,
    )
    db = Database(None, data_dir)
    await db.migrate()
    node = await LiveNode.create(settings, db=db, trader_prefix="t", stream_options=FAST)
    await node.start()
    return sim, node, db
