"""A live node without a database (memory store) against the simulator: `start_trading` with a
strategy puts it in `ctx.strategies` with its settings; a symbol running with one strategy is
not switched to another under its traders, nor when stopped with them still stored; once
shut down (its traders finished), it may be."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgehog.core.errors import ConfigError
from hedgehog.grid.settings import GridSettings
from hedgehog.live.node import LiveNode
from hedgehog.live.view import snapshot
from hedgehog.naive.settings import TradingSettings
from hedgehog.simulator import start_simulator
from tests.helpers import eventually
from tests.live.test_live_e2e import FAST, settings_for

SYMBOL = "XRPUSDT"
GRID = {"lower": "0.96", "upper": "1.04", "levels": "5", "budget": "100"}


async def test_start_trading_with_a_strategy_and_no_switch_while_it_runs() -> None:
    sim = await start_simulator(symbols=[SYMBOL])
    node = await LiveNode.create(settings_for(sim), trader_prefix="t", stream_options=FAST)
    try:
        await node.start()
        await node.start_trading(SYMBOL, TradingSettings(SYMBOL, budget=Decimal(100)))
        ctx = node.naive.ctx
        assert ctx.strategy_for(SYMBOL).name == "naive"
        with pytest.raises(ConfigError, match="is trading with strategy naive: stop it"):
            await node.start_trading(SYMBOL, strategy="grid", settings=_grid())
        assert ctx.strategy_for(SYMBOL).name == "naive"  # nothing changed
        with pytest.raises(ConfigError, match="grid needs lower, upper, levels"):
            await node.start_trading(SYMBOL, strategy="grid")  # no settings: its defaults

        assert await node.stop_trading(SYMBOL)  # its trader stays stored, mid-cycle
        with pytest.raises(ConfigError, match="still has 1 traders of strategy naive stored"):
            await node.start_trading(SYMBOL, _grid())
        await node.start_trading(SYMBOL)  # with naive again, then shut down: it holds nothing
        assert await node.shutdown_trading(SYMBOL)
        await eventually(lambda: node.naive.leader_info(SYMBOL) is None)
        assert await node.naive.ctx.store.load(SYMBOL) == []
        await node.start_trading(SYMBOL, _grid())  # GridSettings name their strategy
        assert ctx.strategy_for(SYMBOL).name == "grid"
        assert ctx.settings[SYMBOL] == _grid()

        def levels() -> list[int]:
            traders = snapshot(node)["symbols"][SYMBOL]["traders"]
            return sorted(t.get("level", -1) for t in traders)

        await eventually(lambda: levels() == [0, 1, 2, 3])
        assert snapshot(node)["symbols"][SYMBOL]["strategy"] == "grid"
    finally:
        await node.stop()
        await sim.close()


def _grid() -> GridSettings:
    return GridSettings.parse(SYMBOL, **GRID)
