"""Fixtures of the Binance client tests: fake servers on 127.0.0.1 and a client pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hedgehog.exchange.binance.rest import BinanceExchange
from tests.exchange.binance.fakes import API_KEY, API_SECRET, FakeBinance, FakeClock, FakeWsApi


@pytest.fixture
def clock() -> FakeClock:
    """Wall time shared by the client and the fakes; it moves only when a test moves it."""
    return FakeClock()


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeBinance]:
    """A started fake of Binance's REST API on the `clock`."""
    server = FakeBinance(clock)
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def exchange(fake: FakeBinance, clock: FakeClock) -> AsyncIterator[BinanceExchange]:
    """A started `BinanceExchange` talking to `fake`, on `clock` (sleeps advance it)."""
    client = BinanceExchange(
        API_KEY, API_SECRET, fake.url, timeout=2.0, clock=clock, sleep=clock.sleep
    )
    await client.start()
    yield client
    await client.close()


@pytest.fixture
async def ws_fake(clock: FakeClock) -> AsyncIterator[FakeWsApi]:
    """A started fake of the WebSocket API's user data stream subscription."""
    server = FakeWsApi(clock)
    await server.start()
    yield server
    await server.close()
