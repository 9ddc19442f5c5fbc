"""Trader states <-> JSON round-trip exactly (hypothesis), naive's and grid's, through json text
and through the database; what is not such a document is refused clearly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import OrderStatus, Side
from hedgehog.grid.settings import GridSettings
from hedgehog.grid.strategy import GRID, GridState
from hedgehog.naive.plugin import NAIVE
from hedgehog.naive.settings import TradingSettings
from hedgehog.naive.strategy import PENDING, OrderRef, TraderState
from hedgehog.store import CorruptRow, Database, SqlTraderStore, state_from_json, state_to_json
from hedgehog.store.models import OrderRow, TraderStateRow

from .conftest import FILTERS, trader

# Any finite Decimal, exponent included ("1E+3", "1.000", "-0"); cheaper than st.decimals()
decimals = st.builds(
    lambda digits, exponent: Decimal(f"{digits}E{exponent}"),
    st.integers(-(10**30), 10**30),
    st.integers(-40, 40),
) | st.sampled_from([Decimal("-0"), Decimal("0.00000001"), Decimal("1000.00"), Decimal(0)])
symbols = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=20)
ids = st.text(min_size=1, max_size=30)
statuses = st.sampled_from([PENDING, *(s.value for s in OrderStatus)])
order_refs = st.builds(
    OrderRef,
    client_order_id=ids,
    side=st.sampled_from(Side),
    price=decimals,
    quantity=decimals,
    status=statuses,
    order_id=st.none() | st.integers(min_value=0, max_value=2**63 - 1),
    executed_qty=decimals,
)
trading_settings = st.builds(
    TradingSettings,
    symbol=symbols,
    chunks=st.integers(-5, 10**6),
    budget=decimals,
    buy_down_interval=decimals,
    profit_interval=decimals,
    rebuy_interval=decimals,
    fee=decimals,
)
filters = st.builds(
    SymbolFilters,
    symbol=symbols,
    base_asset=st.text(max_size=8),
    quote_asset=st.text(max_size=8),
    tick_size=decimals,
    step_size=decimals,
    min_qty=decimals,
    min_notional=decimals,
    min_price=decimals,
    max_price=decimals,
    max_qty=decimals,
)
states = st.builds(
    TraderState,
    symbol=symbols,
    trader_id=ids,
    settings=trading_settings,
    filters=filters,
    number=st.integers(0, 2**31 - 1),
    cycle=st.integers(0, 2**31 - 1),
    buy=st.none() | order_refs,
    sell=st.none() | order_refs,
    rebuy_notified=st.booleans(),
    rebuy_below=st.none() | decimals,
    buy_fee_base=decimals,
    buy_fee_qty=decimals,
    buy_fill_ids=st.lists(st.integers(0, 2**63 - 1), max_size=4).map(tuple),
    sell_attempt=st.integers(0, 10),
    sell_rejections=st.integers(0, 10),
    dust=decimals,
    blocked=st.text(max_size=40),
)


def _same(a: TraderState, b: TraderState) -> None:
    """Equal, and every Decimal with the very same digits and exponent."""
    assert a == b
    assert repr(a) == repr(b)


@given(states)
@settings(max_examples=200)
def test_round_trip_through_json_text(state: TraderState) -> None:
    document = state_to_json(state)
    text = json.dumps(document)
    _same(state_from_json(json.loads(text)), state)


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One migrated SQLite database for every example of a hypothesis test."""
    db = Database(None, tmp_path_factory.mktemp("serde"))
    asyncio.run(db.migrate())
    yield db
    db.close_sync()


@given(batch=st.lists(states, min_size=1, max_size=3))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip_through_the_database(sqlite_db: Database, batch: list[TraderState]) -> None:
    async def main() -> list[TraderState]:
        writer = SqlTraderStore(sqlite_db)
        for state in {(s.symbol, s.trader_id): s for s in batch}.values():
            await writer.save(state)
        reader = SqlTraderStore(sqlite_db)
        loaded = [s for symbol in {s.symbol for s in batch} for s in await reader.load(symbol)]
        await sqlite_db.run(_clear)
        return loaded

    loaded = asyncio.run(main())
    expected = {(s.symbol, s.trader_id): s for s in batch}
    assert len(loaded) == len(expected)
    for state in loaded:
        _same(state, expected[(state.symbol, state.trader_id)])


def _clear(session: Session) -> None:
    session.execute(delete(TraderStateRow))
    session.execute(delete(OrderRow))


def test_document_is_plain_json_with_decimals_as_strings() -> None:
    state = trader(3)
    document = state_to_json(state)
    assert document["v"] == 2
    assert document["settings"]["budget"] == "1000"
    assert document["filters"]["tick_size"] == "0.00001"
    assert json.loads(json.dumps(document)) == document


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("settings"),
        lambda d: d.update(v=99),
        lambda d: d.update(buy_fee_base="lots"),
        lambda d: d.update(buy_fee_base=1.5),
        lambda d: d.update(number="7"),
        lambda d: d.update(rebuy_notified="yes"),
        lambda d: d.update(buy={"client_order_id": "x", "side": "HOLD"}),
        lambda d: d.update(buy_fill_ids=["1"]),
        lambda d: d.pop("dust"),
    ],
)
def test_damaged_documents_are_refused(damage: object) -> None:
    document = state_to_json(trader(1))
    damage(document)  # type: ignore[operator]
    with pytest.raises(CorruptRow, match="not a trader state"):
        state_from_json(document)


def test_exponents_survive() -> None:
    state = trader(1)
    ref = OrderRef("c", Side.BUY, Decimal("1E-8"), Decimal("1.000"), executed_qty=Decimal("-0"))
    from dataclasses import replace

    tricky = replace(state, buy=ref, buy_fee_base=Decimal("1E+3"))
    back = state_from_json(state_to_json(tricky))
    assert back.buy is not None
    assert str(back.buy.price) == "1E-8"
    assert str(back.buy.quantity) == "1.000"
    assert str(back.buy.executed_qty) == "-0"
    assert str(back.buy_fee_base) == "1E+3"


def test_a_format_1_document_is_read_with_the_new_fields_at_their_defaults() -> None:
    """Written by hedgehog before fills were tracked: still readable after an upgrade."""
    state = trader(1)
    document = state_to_json(state)
    for name in ("buy_fee_qty", "buy_fill_ids", "sell_attempt", "sell_rejections", "dust",
                 "blocked"):  # fmt: skip
        del document[name]
    document["v"] = 1
    assert state_from_json(document) == state


# -- the grid strategy's states ------------------------------------------------------------------
grid_settings = st.builds(
    GridSettings,
    symbol=symbols,
    lower=decimals,
    upper=decimals,
    levels=st.integers(-5, 10**6),
    budget=decimals,
    fee=decimals,
)
grid_states = st.builds(
    GridState,
    symbol=symbols,
    trader_id=ids,
    settings=grid_settings,
    filters=filters,
    number=st.integers(0, 2**31 - 1),
    cycle=st.integers(0, 2**31 - 1),
    buy=st.none() | order_refs,
    sell=st.none() | order_refs,
    rebuy_notified=st.booleans(),
    rebuy_below=st.none() | decimals,
    buy_fee_base=decimals,
    buy_fee_qty=decimals,
    buy_fill_ids=st.lists(st.integers(0, 2**63 - 1), max_size=4).map(tuple),
    sell_attempt=st.integers(0, 10),
    sell_rejections=st.integers(0, 10),
    dust=decimals,
    blocked=st.text(max_size=40),
    level=st.integers(0, 999),
    buy_at=decimals,
    sell_at=decimals,
    quantity=decimals,
)


@given(grid_states)
@settings(max_examples=200)
def test_grid_round_trip_through_json_text(state: GridState) -> None:
    text = json.dumps(GRID.dump_state(state))
    back = GRID.load_state(json.loads(text))
    assert type(back) is GridState
    _same(back, state)


@given(batch=st.lists(grid_states, min_size=1, max_size=3))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_grid_round_trip_through_the_database(sqlite_db: Database, batch: list[GridState]) -> None:
    """Stored with the strategy's name, loaded back through it (whatever the reader's
    strategy_for says: the row names its own)."""

    async def main() -> tuple[list[TraderState], list[object]]:
        writer = SqlTraderStore(sqlite_db, lambda symbol: GRID)
        for state in {(s.symbol, s.trader_id): s for s in batch}.values():
            await writer.save(state)
        reader = SqlTraderStore(sqlite_db)
        loaded = [s for symbol in {s.symbol for s in batch} for s in await reader.load(symbol)]
        names = await sqlite_db.run(
            lambda session: [
                d.get("strategy") for d in session.scalars(select(TraderStateRow.state))
            ]
        )
        await sqlite_db.run(_clear)
        return loaded, names

    loaded, names = asyncio.run(main())
    expected = {(s.symbol, s.trader_id): s for s in batch}
    assert len(loaded) == len(expected)
    assert set(names) == {"grid"}
    for state in loaded:
        assert type(state) is GridState
        _same(state, expected[(state.symbol, state.trader_id)])


def test_naive_documents_name_no_strategy_and_old_ones_load_as_naive(
    sqlite_db: Database,
) -> None:
    """Rows written before strategies were plug-ins have no "strategy" key: naive. Naive's
    rows are still written so; the plug-in and the store's wrappers agree."""
    state = trader(2)
    assert NAIVE.dump_state(state) == state_to_json(state)
    assert NAIVE.load_state(state_to_json(state)) == state
    assert "strategy" not in SqlTraderStore(sqlite_db).document(state)
    grid_state = GRID.new_trader(
        "XRPUSDT", 3, GridSettings.parse("XRPUSDT", lower="0.4", upper="0.44", levels=5),
        FILTERS, "p_", 1,
    )  # fmt: skip
    assert SqlTraderStore(sqlite_db, lambda s: GRID).document(grid_state)["strategy"] == "grid"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d.update(strategy="martingale"), "strategy 'martingale', which cannot be"),
        (lambda d: d.update(v=7), "strategy 'grid': not a trader state .*unknown grid format"),
        (lambda d: d.pop("level"), "strategy 'grid': not a trader state .*'level'"),
        (lambda d: d.update(buy_at=0.4), "expected a decimal string"),
        (lambda d: d["settings"].update(levels="5"), "expected an integer"),
    ],
)
def test_damaged_grid_documents_are_refused(damage: object, message: str) -> None:
    from hedgehog.store.serde import dump, load

    state = GRID.new_trader(
        "XRPUSDT", 3, GridSettings.parse("XRPUSDT", lower="0.4", upper="0.44", levels=5),
        FILTERS, "p_", 1,
    )  # fmt: skip
    document = dump(GRID, "grid", state)
    assert load(document) == state
    damage(document)  # type: ignore[operator]
    with pytest.raises(CorruptRow, match=message):
        load(document)
