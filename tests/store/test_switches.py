"""`StreamingRepo` and `WarehouseRepo`: on/off switches that survive restarts."""

from __future__ import annotations

import pytest

from hedgehog.core.errors import ConfigError
from hedgehog.store import Database, StreamingRepo, WarehouseRepo


async def test_streaming_switches(db: Database) -> None:
    repo = StreamingRepo(db)
    assert await repo.all() == {}
    assert await repo.status("XRPUSDT") is None
    await repo.set_status("xrpusdt", "on")
    await repo.set_status("BTCUSDT", "on")
    await repo.set_status("BTCUSDT", "off")
    await repo.set_status("ETHUSDT", "on")
    await repo.set_status("ETHUSDT", "on")  # idempotent
    assert await repo.all() == {"BTCUSDT": "off", "ETHUSDT": "on", "XRPUSDT": "on"}
    assert await repo.symbols_with_status("on") == ["ETHUSDT", "XRPUSDT"]
    assert await StreamingRepo(db).status("XRPUSDT") == "on"
    with pytest.raises(ConfigError, match="streaming status must be on or off"):
        await repo.set_status("XRPUSDT", "shutdown")
    with pytest.raises(ConfigError, match="not a valid symbol"):
        await repo.set_status("XRP/USDT", "on")


async def test_warehouse_subscriptions(db: Database) -> None:
    repo = WarehouseRepo(db)
    await repo.set_status("TRADE_EVENTS:XRPUSDT", "on")
    await repo.set_status("ORDERS:XRPUSDT", "on")
    await repo.set_status("ORDERS:XRPUSDT", "off")
    assert await repo.topics_with_status("on") == ["TRADE_EVENTS:XRPUSDT"]
    assert await repo.all() == {"ORDERS:XRPUSDT": "off", "TRADE_EVENTS:XRPUSDT": "on"}
    assert await StreamingRepo(db).all() == {}  # separate tables
    with pytest.raises(ConfigError, match="is not a topic"):
        await repo.set_status("  ", "on")
    with pytest.raises(ConfigError, match="must be on or off"):
        await repo.set_status("ORDERS:XRPUSDT", "maybe")
