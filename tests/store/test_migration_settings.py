"""Migration 0003 (settings per strategy), on SQLite and PostgreSQL, with rows written by the
old schema: each naive row's columns become its parameters (status and times kept), trader
states written before strategies were plug-ins load as naive, and the downgrade puts the
columns back (a row of another strategy: naive's defaults, status off)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, bindparam, text
from sqlalchemy.orm import Session

from hedgehog.naive.settings import TradingSettings
from hedgehog.store import Database, SettingsRepo, SqlTraderStore, state_to_json

from .conftest import FILTERS, trader

WHEN = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
OLD_ROWS = [
    # symbol, chunks, budget, buy down, profit, rebuy, fee, status
    ("BTCUSDT", 5, "1000", "0.0001", "0.001", "0.001", "0.001", "off"),
    ("ETHUSDT", 3, "1234.56789012", "0.00000001", "0.0025", "0.01", "0.00075", "shutdown"),
    ("XRPUSDT", 2, "50", "0", "0.5", "0.999", "0", "on"),
]
COLUMNS = ("chunks", "budget", "buy_down_interval", "profit_interval", "rebuy_interval", "fee")


def _write_old_rows(session: Session) -> None:
    """What hedgehog wrote at revision 0002 (its own SQL, not today's models)."""
    for symbol, *values, status in OLD_ROWS:
        session.execute(
            text(
                "INSERT INTO trading_settings (symbol, chunks, budget, buy_down_interval, "
                "profit_interval, rebuy_interval, fee, status, created_at, updated_at) VALUES "
                "(:symbol, :chunks, :budget, :buy_down_interval, :profit_interval, "
                ":rebuy_interval, :fee, :status, :when, :when)"
            ),
            {"symbol": symbol, **dict(zip(COLUMNS, values, strict=True)), "status": status}
            | {"when": WHEN},
        )
    document = state_to_json(trader(7, prefix="r_"))  # no "strategy" key: naive
    session.execute(
        text(
            "INSERT INTO trader_states (symbol, trader_id, number, state, version, created_at, "
            "updated_at) VALUES ('XRPUSDT', 'r_7', 7, :state, 3, :when, :when)"
        ).bindparams(bindparam("state", document, type_=JSON), when=WHEN),
    )


def _old_columns(session: Session) -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in session.execute(
            text(
                "SELECT symbol, chunks, budget, buy_down_interval, profit_interval, "
                "rebuy_interval, fee, status FROM trading_settings ORDER BY symbol"
            )
        )
    ]


async def test_upgrade_keeps_every_row_and_downgrade_puts_the_columns_back(
    db_url: str | None, data_dir: Path
) -> None:
    async with Database(db_url, data_dir) as db:
        await db.migrate("0002")
        await db.run(_write_old_rows)
        await db.migrate("0003")
        assert await db.revision() == "0003"

        repo = SettingsRepo(db)
        rows = {r.symbol: r for r in await repo.all()}
        assert set(rows) == {"BTCUSDT", "ETHUSDT", "XRPUSDT"}
        for symbol, chunks, budget, down, profit, rebuy, fee, status in OLD_ROWS:
            row = rows[symbol]
            assert row.strategy == "naive"
            assert row.status == status
            assert row.created_at == WHEN and row.updated_at == WHEN
            assert row.settings == TradingSettings(
                symbol=symbol,
                chunks=chunks,
                budget=Decimal(budget),
                buy_down_interval=Decimal(down),
                profit_interval=Decimal(profit),
                rebuy_interval=Decimal(rebuy),
                fee=Decimal(fee),
            )
        assert await repo.symbols_with_status("on") == ["XRPUSDT"]
        assert [s.trader_id for s in await SqlTraderStore(db).load("XRPUSDT")] == ["r_7"]

        # today's hedgehog changes them; then an operator goes back to the old schema
        await repo.update("XRPUSDT", budget="60")
        await repo.set("BTCUSDT", "grid", {"lower": "0.4", "upper": "0.44", "levels": 5}, FILTERS)
        await repo.set_status("BTCUSDT", "on")
        await db.downgrade("0002")
        assert await db.revision() == "0002"
        assert await db.run(_old_columns) == [
            ("BTCUSDT", 5, "1000", "0.0001", "0.001", "0.001", "0.001", "off"),  # was grid
            OLD_ROWS[1],
            ("XRPUSDT", 2, "60", "0", "0.5", "0.999", "0", "on"),
        ]

        # and up again: the same settings as before the round trip
        await db.migrate()
        after = {r.symbol: r for r in await repo.all()}
        assert after["ETHUSDT"].settings == rows["ETHUSDT"].settings
        assert after["XRPUSDT"].settings.budget == Decimal(60)
        assert (after["BTCUSDT"].strategy, after["BTCUSDT"].status) == ("naive", "off")


async def test_a_row_damaged_by_hand_before_the_upgrade_stays_damaged_and_named(
    tmp_path: Path,
) -> None:
    """SQLite lets an integer column hold text: the upgrade carries it over as it was, and
    only that symbol fails to read, naming the parameter."""
    import pytest

    from hedgehog.store import CorruptRow

    async with Database(None, tmp_path) as db:
        await db.migrate("0002")
        await db.run(_write_old_rows)
        await db.run(
            lambda s: s.execute(
                text("UPDATE trading_settings SET chunks = 'many' WHERE symbol = 'XRPUSDT'")
            )
        )
        await db.migrate()
        repo = SettingsRepo(db)
        with pytest.raises(CorruptRow, match="XRPUSDT: column params: chunks: 'many'"):
            await repo.get("XRPUSDT")
        assert (await repo.get("ETHUSDT")).settings.chunks == 3
        assert (await repo.update("XRPUSDT", chunks=4)).settings.chunks == 4  # repaired
