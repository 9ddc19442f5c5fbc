"""`SqlTraderStore`: the `TraderStore` protocol on the database. Round trips across a node
restart, first-start order, trader numbers, optimistic versions, and the order intents that a
save writes into the ledger in the same transaction."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.orm import Session

from hedgehog.core.types import Order, OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.naive import strategy
from hedgehog.naive.store import TraderStore
from hedgehog.naive.strategy import PENDING, TraderState
from hedgehog.store import CorruptRow, Database, OrderRepo, SqlTraderStore, StaleVersion
from hedgehog.store.models import TraderStateRow

from .conftest import trader


def _placed(state: TraderState, status: OrderStatus, executed: str = "0") -> Order:
    """The exchange's answer about the state's latest order."""
    ref = state.sell or state.buy
    assert ref is not None
    return Order(
        order_id=4242 if ref.side == Side.BUY else 4343,
        client_order_id=ref.client_order_id,
        symbol=state.symbol,
        side=ref.side,
        price=ref.price,
        orig_qty=ref.quantity,
        executed_qty=Decimal(executed),
        cumulative_quote_qty=ref.price * Decimal(executed),
        status=status,
    )


def _with_buy(state: TraderState, price: str = "0.43183010") -> TraderState:
    trade = TradeEvent(state.symbol, 1, Decimal(price), Decimal("100"), 1_000)
    new, decisions = strategy.on_trade(state, trade)
    assert decisions and new.buy is not None
    return new


async def test_it_is_a_trader_store(db: Database) -> None:
    store: TraderStore = SqlTraderStore(db)
    assert await store.load("XRPUSDT") == []


async def test_states_survive_a_restart_in_first_start_order(
    db_url: str | None, data_dir: Path
) -> None:
    states = [_with_buy(trader(n)) for n in (3, 1, 2)] + [trader(1, "BTCUSDT")]
    async with Database(db_url, data_dir) as db:
        await db.migrate()
        store = SqlTraderStore(db)
        for state in states:
            await store.save(state)
    async with Database(db_url, data_dir) as db:  # a new node on the same database
        store = SqlTraderStore(db)
        loaded = await store.load("XRPUSDT")
        assert [s.number for s in loaded] == [1, 2, 3]
        assert loaded == sorted(states[:3], key=lambda s: s.number)
        assert await store.load("BTCUSDT") == [states[3]]
        assert await store.load("ETHUSDT") == []
        # the restarted node goes on saving where the old one stopped
        await store.save(replace(loaded[0], rebuy_notified=True))
        assert store.version("XRPUSDT", loaded[0].trader_id) == 2


async def test_save_overwrites_and_remove_forgets(db: Database) -> None:
    store = SqlTraderStore(db)
    first = trader(1)
    await store.save(first)
    assert store.version("XRPUSDT", "1") == 1
    second = _with_buy(first)
    await store.save(second)
    await store.save(second)
    assert store.version("XRPUSDT", "1") == 3
    assert await SqlTraderStore(db).load("XRPUSDT") == [second]
    await store.remove("XRPUSDT", "1")
    await store.remove("XRPUSDT", "1")  # removing twice is fine
    assert store.version("XRPUSDT", "1") is None
    assert await SqlTraderStore(db).load("XRPUSDT") == []
    await store.save(trader(1))  # the id may be used again after a remove
    assert store.version("XRPUSDT", "1") == 1


async def test_trader_numbers_are_never_handed_out_twice(
    db_url: str | None, data_dir: Path
) -> None:
    async with Database(db_url, data_dir) as db:
        await db.migrate()
        store = SqlTraderStore(db)
        assert [await store.next_trader_number("XRPUSDT") for _ in range(3)] == [1, 2, 3]
        assert await store.next_trader_number("BTCUSDT") == 1
        numbers = await asyncio.gather(*(store.next_trader_number("ETHUSDT") for _ in range(20)))
        assert sorted(numbers) == list(range(1, 21))
    async with Database(db_url, data_dir) as db:
        assert await SqlTraderStore(db).next_trader_number("XRPUSDT") == 4


async def test_numbering_starts_above_stored_traders(db: Database) -> None:
    store = SqlTraderStore(db)
    await store.save(trader(7, "BNBUSDT"))
    assert await store.next_trader_number("BNBUSDT") == 8


async def test_a_stale_version_is_refused(db: Database) -> None:
    node_a, node_b = SqlTraderStore(db), SqlTraderStore(db)
    state = trader(1)
    await node_a.save(state)
    [loaded] = await node_b.load("XRPUSDT")
    await node_b.save(_with_buy(loaded))  # version 2, written by b
    with pytest.raises(StaleVersion, match="XRPUSDT trader 1: its stored state is at version 2"):
        await node_a.save(_with_buy(state, "0.5"))
    assert await SqlTraderStore(db).load("XRPUSDT") == [_with_buy(loaded)]  # b's state stands
    assert node_a.version("XRPUSDT", "1") == 1  # a failed save changes nothing
    await node_a.load("XRPUSDT")  # a reload catches up
    await node_a.save(state)
    await node_a.remove("XRPUSDT", "1")
    with pytest.raises(StaleVersion, match="was removed"):
        await node_b.save(state)


async def test_a_new_trader_that_is_already_stored_is_refused(db: Database) -> None:
    await SqlTraderStore(db).save(trader(1))
    with pytest.raises(StaleVersion, match="never loaded"):
        await SqlTraderStore(db).save(trader(1))


async def _stored_version(db: Database) -> int | None:
    return await db.run(lambda s: s.scalar(select(TraderStateRow.version)))


async def test_a_save_cancelled_while_queued_keeps_the_versions_in_step(db: Database) -> None:
    store = SqlTraderStore(db)
    state = trader(1)
    await store.save(state)
    gate = threading.Event()
    blocker = asyncio.create_task(db.call(gate.wait))  # the worker thread is busy
    task = asyncio.create_task(store.save(_with_buy(state)))
    await asyncio.sleep(0)
    task.cancel()
    gate.set()
    await blocker
    await db.run(lambda session: None)  # the worker is idle again
    assert store.version("XRPUSDT", "1") == await _stored_version(db)
    await store.save(state)


async def test_a_save_cancelled_while_running_keeps_the_versions_in_step(db: Database) -> None:
    store = SqlTraderStore(db)
    state = trader(1)
    await store.save(state)
    inside, release = threading.Event(), threading.Event()

    def hold(*_: object) -> None:  # the worker thread waits inside the save's first statement
        if not inside.is_set():
            inside.set()
            release.wait(5)

    event.listen(db.engine, "before_cursor_execute", hold)
    task = asyncio.create_task(store.save(_with_buy(state)))
    await asyncio.to_thread(inside.wait, 5)
    task.cancel()  # the caller gives up; the save itself goes on in the worker thread
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    await db.run(lambda session: None)
    event.remove(db.engine, "before_cursor_execute", hold)
    assert store.version("XRPUSDT", "1") == await _stored_version(db) == 2
    await store.save(state)  # no StaleVersion: the store knows what it wrote
    assert await _stored_version(db) == 3


async def test_save_writes_the_order_intent_then_the_exchange_answers(db: Database) -> None:
    store, orders = SqlTraderStore(db), OrderRepo(db)
    state = _with_buy(trader(1))
    await store.save(state)  # the intent, before the exchange call
    assert state.buy is not None
    cid = state.buy.client_order_id
    intent = await orders.by_client_id(cid)
    assert intent is not None
    assert (intent.status, intent.exchange_order_id, intent.trader_id) == (PENDING, None, "1")
    assert (intent.side, intent.price, intent.quantity) == (
        Side.BUY,
        Decimal("0.43178"),
        Decimal("463.1"),
    )
    assert [o.client_order_id for o in await orders.open("XRPUSDT")] == [cid]

    state, _ = strategy.on_order(state, _placed(state, OrderStatus.NEW))
    await store.save(state)
    row = await orders.by_client_id(cid)
    assert row is not None and (row.status, row.exchange_order_id) == ("NEW", 4242)

    filled = _placed(state, OrderStatus.FILLED, "463.1")
    update = OrderUpdate(filled, filled.executed_qty, filled.price, Decimal(0), "USDT", 0, 1)
    state, decisions = strategy.on_update(state, update)
    assert isinstance(decisions[0], strategy.PlaceOrder)  # the sell
    await store.save(state)
    assert state.sell is not None
    ledger = {o.client_order_id: o for o in await orders.all("XRPUSDT")}
    assert ledger[cid].status == "FILLED" and ledger[cid].executed_qty == Decimal("463.1")
    assert ledger[state.sell.client_order_id].status == PENDING
    assert [o.side for o in await orders.open()] == [Side.SELL]


async def test_a_save_that_fails_stores_neither_state_nor_orders(db: Database) -> None:
    await SqlTraderStore(db).save(trader(1))
    with pytest.raises(StaleVersion):
        await SqlTraderStore(db).save(_with_buy(trader(1)))
    assert await OrderRepo(db).all() == []


async def test_dropped_orders_are_closed_in_the_ledger(db: Database) -> None:
    store, orders = SqlTraderStore(db), OrderRepo(db)
    state = _with_buy(trader(1))
    await store.save(state)
    assert state.buy is not None
    refused = state.buy.client_order_id
    state, _ = strategy.on_rejected(state, state.buy)  # refused: the buy is dropped
    await store.save(state)
    row = await orders.by_client_id(refused)
    assert row is not None and row.status == "REJECTED"

    state = _with_buy(state)  # the next cycle's buy, placed, then cancelled by hand
    await store.save(state)
    state, _ = strategy.on_order(state, _placed(state, OrderStatus.NEW))
    await store.save(state)
    cancelled = _placed(state, OrderStatus.CANCELED)
    state, _ = strategy.on_order(state, cancelled)
    assert state.buy is None
    await store.save(state)
    row = await orders.by_client_id(cancelled.client_order_id)
    assert row is not None and row.status == "CANCELED"
    assert await orders.open() == []


async def test_a_corrupt_state_row_names_the_trader(db: Database) -> None:
    store = SqlTraderStore(db)
    await store.save(trader(1))
    await store.save(trader(1, "BTCUSDT"))

    def damage(session: Session) -> None:
        session.execute(
            update(TraderStateRow)
            .where(TraderStateRow.symbol == "XRPUSDT")
            .values(state={"v": 1, "symbol": "XRPUSDT"})
        )

    await db.run(damage)
    with pytest.raises(CorruptRow, match="trader_states row XRPUSDT/1: column state"):
        await SqlTraderStore(db).load("XRPUSDT")
    assert len(await SqlTraderStore(db).load("BTCUSDT")) == 1


async def test_state_is_stored_as_json_with_decimal_strings(db: Database) -> None:
    await SqlTraderStore(db).save(_with_buy(trader(1)))

    def raw(session: Session) -> object:
        row = session.scalar(select(TraderStateRow))
        assert row is not None
        return row.state

    document = await db.run(raw)
    assert isinstance(document, dict)
    assert document["buy"]["price"] == "0.43178"
    assert document["settings"]["budget"] == "1000"
    count = await db.run(lambda s: s.execute(text("SELECT count(*) FROM trader_states")).scalar())
    assert count == 1
