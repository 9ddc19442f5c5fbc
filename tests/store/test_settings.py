"""`SettingsRepo`: seeding from exchange info, reads, validated updates (nothing stored when
invalid), statuses, and rows corrupted by hand."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from hedgehog.core.errors import ConfigError
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


async def test_a_corrupt_row_fails_alone_and_an_update_repairs_it(
    db: Database, repo: SettingsRepo
) -> None:
    await _damage(db, "XRPUSDT", budget="abc")
    with pytest.raises(CorruptRow, match="trading_settings row XRPUSDT: column budget holds 'abc'"):
        await repo.get("XRPUSDT")
    assert isinstance(CorruptRow("x"), ConfigError)
    assert (await repo.get("BTCUSDT")).settings.budget == Decimal(1000)  # others load fine
    assert await repo.symbols_with_status("off") == ["BTCUSDT", "ETHBTC", "XRPUSDT"]
    with pytest.raises(CorruptRow, match="XRPUSDT: column budget"):
        await repo.all()
    with pytest.raises(CorruptRow, match="XRPUSDT: column budget"):
        await repo.update("XRPUSDT", chunks=2)  # the broken column is kept: still broken
    repaired = await repo.update("XRPUSDT", budget="500")
    assert repaired.settings.budget == Decimal(500)
    assert len(await repo.all()) == 3


async def test_a_number_out_of_range_written_by_hand_is_corrupt(
    db: Database, repo: SettingsRepo
) -> None:
    await _damage(db, "ETHBTC", fee="-0.5")
    with pytest.raises(CorruptRow, match="trading_settings row ETHBTC: ETHBTC: fee must be in"):
        await repo.get("ETHBTC")


async def test_a_non_numeric_chunks_written_by_hand(db_url: str | None, db: Database) -> None:
    if db_url is not None:
        pytest.skip("PostgreSQL's integer column cannot hold text; only SQLite can be damaged so")
    repo = SettingsRepo(db)
    await repo.seed_from_exchange_info(EXCHANGE)
    await _damage(db, "XRPUSDT", chunks="many")
    with pytest.raises(CorruptRow, match="XRPUSDT: column chunks holds 'many'"):
        await repo.get("XRPUSDT")
