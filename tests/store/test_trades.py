"""`TradeEventRepo`: idempotent batched inserts, reads in (time, id) order, bulk inserts whole.
The insert speed the warehouse needs (>= 50,000 rows/s on SQLite) is measured by
`bench/hot_paths.py`, not asserted here: a figure of the machine, not of the code."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from hedgehog.core.types import TradeEvent
from hedgehog.store import CorruptRow, Database, TradeEventRepo
from hedgehog.store.models import TradeEventRow


def _trade(
    trade_id: int, time_ms: int, symbol: str = "XRPUSDT", price: str = "0.4318"
) -> TradeEvent:
    return TradeEvent(symbol, trade_id, Decimal(price), Decimal("12.5"), time_ms, trade_id % 2 == 0)


async def test_inserts_skip_trades_already_stored(db: Database) -> None:
    repo = TradeEventRepo(db, batch=3)  # small batches: several per call
    first = [_trade(i, 1000 + i) for i in range(1, 8)]
    await repo.insert_many(first)
    again = [*first[2:], _trade(8, 1008), _trade(8, 1008)]  # overlaps, and a duplicate within
    await repo.insert_many(iter(again))
    await repo.insert_many([])
    assert await repo.count("XRPUSDT") == 8
    assert await repo.query("XRPUSDT") == [*first, _trade(8, 1008)]


async def test_query_orders_by_time_then_id_within_bounds(db: Database) -> None:
    repo = TradeEventRepo(db)
    trades = [_trade(i, 1000 + (i // 3) * 10) for i in range(30)]  # three trades per ms
    trades += [_trade(i, 1000, "BTCUSDT", "50000.01") for i in range(5)]
    shuffled = trades[:]
    random.Random(7).shuffle(shuffled)
    await repo.insert_many(shuffled)
    xrp = trades[:30]
    assert await repo.query("XRPUSDT") == sorted(xrp, key=lambda t: (t.trade_time, t.trade_id))
    window = await repo.query("XRPUSDT", 1020, 1050)  # start inclusive, end exclusive
    assert [t.trade_id for t in window] == list(range(6, 15))
    assert [t.trade_id for t in await repo.query("XRPUSDT", start_ms=1090)] == [27, 28, 29]
    assert [t.trade_id for t in await repo.query("XRPUSDT", end_ms=1010)] == [0, 1, 2]
    btc = await repo.query("BTCUSDT")
    assert [t.price for t in btc] == [Decimal("50000.01")] * 5
    assert await repo.query("ETHUSDT") == []
    assert await repo.count() == 35


async def test_decimals_round_trip_exactly(db: Database) -> None:
    repo = TradeEventRepo(db)
    trade = TradeEvent("XRPUSDT", 1, Decimal("0.00000001"), Decimal("123456789.12345678"), 5)
    await repo.insert_many([trade])
    [back] = await repo.query("XRPUSDT")
    assert back == trade
    assert (str(back.price), str(back.quantity)) == ("1E-8", "123456789.12345678")
    assert back.buyer_market_maker is False


async def test_a_corrupt_trade_row_is_named(db: Database) -> None:
    repo = TradeEventRepo(db)
    await repo.insert_many([_trade(1, 1), _trade(2, 2)])

    def damage(session: Session) -> None:
        session.execute(update(TradeEventRow).where(TradeEventRow.trade_id == 2).values(price="?"))

    await db.run(damage)
    with pytest.raises(CorruptRow, match="trade_events row XRPUSDT/2: column price holds '\\?'"):
        await repo.query("XRPUSDT")


async def test_a_bulk_insert_stores_every_row_once(db: Database) -> None:
    n = 12_000  # several of the repository's batches
    trades = [_trade(i, 1_558_742_400_000 + i * 7) for i in range(n)]
    repo = TradeEventRepo(db)
    await repo.insert_many(trades)
    await repo.insert_many(trades[-2_500:])  # a batch boundary again: nothing doubles
    assert await repo.count("XRPUSDT") == n
    window = await repo.query("XRPUSDT", end_ms=1_558_742_400_000 + 7_000)
    assert window == trades[:1000]
