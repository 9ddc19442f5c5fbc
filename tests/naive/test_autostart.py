"""The naive tree under a node: naive.symbols and its autostart under a rest_for_one parent
(the book's `Naive.Supervisor`), so the symbols that were trading come back after any kill of
naive.symbols, or when their own crashes exceed its restart intensity. No order is lost or
duplicated on the way (the exchange's ledger is the judge)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hedgehog.naive.context import SHUTDOWN, SYMBOLS, symbol_name
from hedgehog.naive.supervisors import AUTOSTART, NaiveSupervisor
from hedgehog.runtime import Runtime

from .conftest import Harness, xrp_settings

S = "XRPUSDT"


@pytest.fixture
async def n() -> AsyncIterator[Harness]:
    h = Harness(Runtime())
    await h.rt.start(NaiveSupervisor, h.ctx, name="naive")
    await h.naive.start_trading(S, xrp_settings(chunks=2))
    await h.rt.quiesce()
    await h.trade("1.0")  # trader 1 buys at 0.99
    try:
        yield h
    finally:
        await h.rt.shutdown()
        await h.rt.quiesce()


async def test_killing_naive_symbols_brings_the_trading_symbols_back(n: Harness) -> None:
    before = n.by_client_id()
    first = n.rt.whereis(SYMBOLS)
    assert n.rt.kill(first)
    await n.rt.quiesce()
    assert n.rt.whereis(SYMBOLS) not in (None, first)
    assert n.rt.whereis(symbol_name(S)) is not None and list(n.traders()) == ["1"]
    assert n.rt.whereis(AUTOSTART).info() == {"restarted": [S]}
    assert n.by_client_id() == before  # same orders, none placed again
    await n.trade("0.99")  # and it trades on: the buy fills, the sell follows
    assert [o.client_order_id for o in n.ledger()] == ["XRPUSDT-1-0B", "XRPUSDT-1-0S"]


async def test_symbols_crashing_beyond_the_intensity_come_back_too(n: Harness) -> None:
    for _ in range(4):  # more than 3 restarts in 5 s: naive.symbols gives up
        assert n.rt.kill(n.rt.whereis(symbol_name(S)))
        await n.rt.quiesce()
    assert n.rt.whereis(symbol_name(S)) is not None and list(n.traders()) == ["1"]
    assert len(n.by_client_id()) == 1


async def test_a_stopped_symbol_stays_stopped_and_a_shutdown_carries_on(n: Harness) -> None:
    await n.naive.start_trading("BTCUSDT")  # default settings
    await n.rt.quiesce()
    await n.naive.stop_trading("BTCUSDT")
    await n.naive.shutdown_trading(S)  # trader 1 holds a buy: the symbol waits for it
    assert n.rt.kill(n.rt.whereis(SYMBOLS))
    await n.rt.quiesce()
    assert n.rt.whereis(symbol_name("BTCUSDT")) is None
    assert n.ctx.status[S] == SHUTDOWN and n.leader().shutting_down
    assert n.trader("1").shutting_down
