"""A store that cannot be written pauses trading safely: no order is placed without its
durable intent, a fill that cannot be recorded is found again later, and trading resumes
when the store does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hedgehog.core.errors import StoreUnavailable
from hedgehog.core.types import Side
from hedgehog.naive.store import MemoryTraderStore
from hedgehog.naive.strategy import TraderState
from hedgehog.runtime import VirtualClock
from tests.naive.conftest import Harness, open_harness, xrp_settings


class FlakyStore(MemoryTraderStore):
    """A trader store whose writes fail while `down` (a database that went away)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.refused = 0

    async def save(self, state: TraderState) -> None:
        if self.down:
            self.refused += 1
            raise StoreUnavailable("lost the connection to the database")
        await super().save(state)


@pytest.fixture
async def rig() -> AsyncIterator[tuple[Harness, FlakyStore, VirtualClock]]:
    clock = VirtualClock(1_000.0)
    async with open_harness(clock) as h:
        store = FlakyStore()
        h.ctx.store = store
        h.ctx.retry_seconds = 5.0
        yield h, store, clock


async def test_no_order_without_its_durable_intent(
    rig: tuple[Harness, FlakyStore, VirtualClock],
) -> None:
    h, store, _ = rig
    await h.naive.start_trading("XRPUSDT", xrp_settings(chunks=1))
    await h.rt.quiesce()
    store.down = True
    await h.trade("1.0000")
    assert store.refused >= 1
    assert h.ledger() == []  # the buy was decided but not recorded: not placed
    store.down = False
    await h.trade("1.0000")
    assert [o.side for o in h.ledger()] == [Side.BUY]
    h.rt.errors.clear()  # the outage was logged as an error, as it should be


async def test_a_fill_missed_during_the_outage_is_found_again(
    rig: tuple[Harness, FlakyStore, VirtualClock],
) -> None:
    h, store, clock = rig
    await h.naive.start_trading("XRPUSDT", xrp_settings(chunks=1))
    await h.rt.quiesce()
    await h.trade("1.0000")
    buy = h.ledger()[0]
    store.down = True
    await h.fill(str(buy.price))  # the buy fills; the trader cannot record it
    assert [o.side for o in h.ledger()] == [Side.BUY]  # so it placed no sell
    clock.advance(5.0)  # retried while still down: still nothing
    await h.rt.quiesce()
    assert [o.side for o in h.ledger()] == [Side.BUY]
    store.down = False
    clock.advance(5.0)
    await h.rt.quiesce()
    sides = [o.side for o in h.by_client_id().values()]
    assert sides == [Side.BUY, Side.SELL]  # exactly one sell, after the store came back
    h.rt.errors.clear()
