"""`SettingsRepo`: seeding from exchange info, reads, validated updates (nothing stored when
invalid), statuses, and rows corrupted by hand."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hedgehog.core.errors import ConfigError
from hedgehog.grid.settings import GridSettings
from hedgehog.naive.settings import DEFAULTS, TradingSettings
from hedgehog.store import CorruptRow, Database, SettingsRepo
from hedgehog.store.models import TradingSettingsRow

from .conftest import FILTERS

EXCHANGE = {
    "XRPUSDT": FILTERS,
    "BTCUSDT": replace(FILTERS, symbol="BTCUSDT", min_notional=Decimal("100")),
    "ethbtc": replace(FILTERS, symbol="ETHBTC"),
}


@pytest.fixture
async def repo(db: Database) -> SettingsRepo:
    repo = SettingsRepo(db)
    assert await repo.seed_from_exchange_info(EXCHANGE) == 3
    return repo


async def _damage(db: Database, symbol: str, **values: object) -> None:
    def write(session: Session) -> None:
        session.execute(
            update(TradingSettingsRow).where(TradingSettingsRow.symbol == symbol).values(**values)
        )

    await db.run(write)


async def test_seed_inserts_every_symbol_off_with_the_defaults(repo: SettingsRepo) -> None:
    rows = await repo.all()
    assert [r.symbol for r in rows] == ["BTCUSDT", "ETHBTC", "XRPUSDT"]
    assert {r.status for r in rows} == {"off"}
    assert rows[0].settings == TradingSettings(symbol="BTCUSDT", **DEFAULTS)
    assert rows[0].created_at.tzinfo is not None


async def test_seed_leaves_existing_rows_alone(repo: SettingsRepo) -> None:
    await repo.update("XRPUSDT", budget="50", chunks=2)
    await repo.set_status("XRPUSDT", "on")
    more = {**EXCHANGE, "BNBUSDT": replace(FILTERS, symbol="BNBUSDT")}
    assert await repo.seed_from_exchange_info(more, {"budget": "20"}) == 1
    xrp = await repo.get("XRPUSDT")
    assert (xrp.settings.budget, xrp.settings.chunks, xrp.status) == (Decimal(50), 2, "on")
    assert (await repo.get("bnbusdt")).settings.budget == Decimal(20)
    assert await repo.seed_from_exchange_info(more) == 0


async def test_seed_validates_its_defaults(db: Database) -> None:
    with pytest.raises(ConfigError, match="chunks must be at least 1"):
        await SettingsRepo(db).seed_from_exchange_info(EXCHANGE, {"chunks": 0})
    assert await SettingsRepo(db).all() == []


async def test_update_stores_exact_decimals(repo: SettingsRepo) -> None:
    updated = await repo.update(
        "xrpusdt", FILTERS, budget="1234.56789012", fee=Decimal("0.00075"), chunks="4"
    )
    stored = await repo.get("XRPUSDT")
    assert stored.settings == updated.settings
    assert stored.settings.budget == Decimal("1234.56789012")
    assert str(stored.settings.fee) == "0.00075"
    assert stored.settings.chunks == 4
    assert stored.settings.profit_interval == DEFAULTS["profit_interval"]  # untouched
    assert stored.updated_at >= stored.created_at


@pytest.mark.parametrize(
    ("symbol", "values", "message"),
    [
        ("XRPUSDT", {"budget": "-5"}, "budget must be positive"),
        ("XRPUSDT", {"chunks": 0}, "chunks must be at least 1"),
        ("XRPUSDT", {"chunks": "2.5"}, "not a whole number"),
        ("XRPUSDT", {"fee": "abc"}, "not a number"),
        ("XRPUSDT", {"fee": 0.1}, "floats are not accepted"),
        ("XRPUSDT", {"rebuy_interval": "1"}, "rebuy_interval must be in"),
        ("XRPUSDT", {"colour": "red"}, "unknown setting 'colour'"),
        ("XRPUSDT", {"status": "on"}, "use set_status"),
        ("XRPUSDT", {"budget": "40", "chunks": 5}, "below the exchange's minimum order value"),
        ("BTCUSDT", {"budget": "300", "chunks": 5}, r"min notional 100\)"),
        ("DOGEUSDT", {"budget": "100"}, "DOGEUSDT has no trading settings"),
        ("not a symbol", {"budget": "100"}, "is not a valid symbol"),
    ],
)
async def test_invalid_updates_store_nothing(
    repo: SettingsRepo, symbol: str, values: dict[str, object], message: str
) -> None:
    before = await repo.all()
    with pytest.raises(ConfigError, match=message):
        await repo.update(symbol, EXCHANGE.get(symbol), **values)
    assert await repo.all() == before


async def test_without_filters_only_the_plain_checks_apply(repo: SettingsRepo) -> None:
    updated = await repo.update("BTCUSDT", budget="300", chunks=5)  # below BTCUSDT's notional
    assert updated.settings.chunk_budget == Decimal(60)


async def test_statuses(repo: SettingsRepo) -> None:
    assert await repo.symbols_with_status("on") == []
    await repo.set_status("XRPUSDT", "on")
    await repo.set_status("btcusdt", "on")
    await repo.set_status("BTCUSDT", "shutdown")
    assert await repo.symbols_with_status("on") == ["XRPUSDT"]
    assert await repo.symbols_with_status("shutdown") == ["BTCUSDT"]
    assert await repo.symbols_with_status("off") == ["ETHBTC"]
    assert (await repo.get("BTCUSDT")).status == "shutdown"
    with pytest.raises(ConfigError, match="status must be one of on, off, shutdown"):
        await repo.set_status("XRPUSDT", "paused")
    with pytest.raises(ConfigError, match="DOGEUSDT has no trading settings"):
        await repo.set_status("DOGEUSDT", "on")
    with pytest.raises(ConfigError, match="DOGEUSDT has no trading settings"):
        await repo.get("DOGEUSDT")


async def _damage_param(db: Database, symbol: str, **values: object) -> None:
    """Write some parameters of a stored row by hand, as JSON, unchecked."""

    def write(session: Session) -> None:
        row = session.scalar(select(TradingSettingsRow).where(TradingSettingsRow.symbol == symbol))
        assert row is not None
        row.params = {**row.params, **values}

    await db.run(write)


async def test_a_corrupt_row_fails_alone_and_an_update_repairs_it(
    db: Database, repo: SettingsRepo
) -> None:
    await _damage_param(db, "XRPUSDT", budget="abc")
    with pytest.raises(
        CorruptRow, match="trading_settings row XRPUSDT: column params: budget: 'abc' is not"
    ):
        await repo.get("XRPUSDT")
    assert isinstance(CorruptRow("x"), ConfigError)
    assert (await repo.get("BTCUSDT")).settings.budget == Decimal(1000)  # others load fine
    assert await repo.symbols_with_status("off") == ["BTCUSDT", "ETHBTC", "XRPUSDT"]
    with pytest.raises(CorruptRow, match="XRPUSDT: column params: budget"):
        await repo.all()
    with pytest.raises(CorruptRow, match="XRPUSDT: column params: budget"):
        await repo.update("XRPUSDT", chunks=2)  # the broken parameter is kept: still broken
    repaired = await repo.update("XRPUSDT", budget="500")
    assert repaired.settings.budget == Decimal(500)
    assert len(await repo.all()) == 3


async def test_a_number_out_of_range_written_by_hand_is_corrupt(
    db: Database, repo: SettingsRepo
) -> None:
    await _damage_param(db, "ETHBTC", fee="-0.5")
    with pytest.raises(
        CorruptRow, match="trading_settings row ETHBTC: column params: ETHBTC: fee must be in"
    ):
        await repo.get("ETHBTC")


async def test_a_non_numeric_chunks_written_by_hand(db: Database, repo: SettingsRepo) -> None:
    await _damage_param(db, "XRPUSDT", chunks="many")
    with pytest.raises(CorruptRow, match="XRPUSDT: column params: chunks: 'many' is not a whole"):
        await repo.get("XRPUSDT")


async def test_an_unknown_strategy_or_params_not_an_object_written_by_hand(
    db: Database, repo: SettingsRepo
) -> None:
    await _damage(db, "XRPUSDT", strategy="martingale")
    with pytest.raises(CorruptRow, match="XRPUSDT: column strategy: unknown strategy 'martin"):
        await repo.get("XRPUSDT")
    await _damage(db, "ETHBTC", params=[1, 2])
    with pytest.raises(CorruptRow, match=r"ETHBTC: column params holds .* not a JSON object"):
        await repo.get("ETHBTC")
    assert (await repo.get("BTCUSDT")).strategy == "naive"  # others load fine


# -- strategies ------------------------------------------------------------------------------
GRID = {"lower": "0.40", "upper": "0.44", "levels": "5", "budget": "100"}


async def test_set_chooses_a_strategy_and_its_parameters(repo: SettingsRepo) -> None:
    await repo.set_status("XRPUSDT", "on")
    row = await repo.set("xrpusdt", "grid", GRID, FILTERS)
    assert row.strategy == "grid" and row.status == "on"  # the status is kept
    assert row.settings == GridSettings.parse("XRPUSDT", **GRID)
    assert row.params == {"lower": "0.4", "upper": "0.44", "levels": 5, "budget": "100",
                          "fee": "0.001"}  # fmt: skip
    stored = await repo.get("XRPUSDT")
    assert stored == row
    assert stored.as_dict() == {**row.settings.as_dict(), "strategy": "grid", "status": "on"}
    assert [r.strategy for r in await repo.all()] == ["naive", "naive", "grid"]
    # update changes the parameters of the strategy stored, refusing naive's
    updated = await repo.update("XRPUSDT", FILTERS, upper="0.45")
    assert (updated.settings.upper, updated.settings.lower) == (Decimal("0.45"), Decimal("0.4"))
    with pytest.raises(ConfigError, match="grid: unknown setting 'chunks'"):
        await repo.update("XRPUSDT", chunks=3)
    with pytest.raises(ConfigError, match="use set_status for the status, set for the strategy"):
        await repo.update("XRPUSDT", strategy="naive")
    # and back to naive, at its defaults
    back = await repo.set("XRPUSDT", "naive", {"budget": "50"})
    assert back.settings == TradingSettings(symbol="XRPUSDT", budget=Decimal(50))
    assert back.strategy == "naive"


@pytest.mark.parametrize(
    ("strategy", "params", "message"),
    [
        ("martingale", {}, "unknown strategy 'martingale'"),
        ("grid", {"lower": "0.4"}, "grid needs upper, levels"),
        ("grid", {**GRID, "colour": "red"}, "grid: unknown setting 'colour'"),
        ("grid", {**GRID, "levels": "100000"}, "levels must be 2..1000"),
        ("grid", {**GRID, "upper": "0.401", "levels": "1000"}, "collapse on the tick size"),
        ("naive", {"chunks": "0"}, "chunks must be at least 1"),
        ("naive", {"lower": "1"}, "unknown setting 'lower'"),
    ],
)
async def test_invalid_sets_store_nothing(
    repo: SettingsRepo, strategy: str, params: dict[str, str], message: str
) -> None:
    before = await repo.all()
    with pytest.raises(ConfigError, match=message):
        await repo.set("XRPUSDT", strategy, params, FILTERS)
    assert await repo.all() == before


async def test_set_adds_a_symbol_only_with_its_filters(repo: SettingsRepo) -> None:
    with pytest.raises(ConfigError, match="DOGEUSDT has no trading settings"):
        await repo.set("DOGEUSDT", "grid", GRID)
    row = await repo.set("DOGEUSDT", "grid", GRID, replace(FILTERS, symbol="DOGEUSDT"))
    assert (row.symbol, row.strategy, row.status) == ("DOGEUSDT", "grid", "off")


async def test_a_strategy_by_module_path_is_stored_by_a_name_that_finds_it(
    repo: SettingsRepo,
) -> None:
    row = await repo.set("XRPUSDT", "hedgehog.grid.strategy:GridStrategy", GRID)
    assert row.strategy == "grid"  # the shipped name finds the same class
    row = await repo.set("XRPUSDT", "hedgehog.naive.plugin:NAIVE", {})
    assert row.strategy == "naive"
