"""`hedgehog backtest --from-db SYMBOL --from DAY --to DAY`: trades recorded by the warehouse
replay exactly as the same trades from a Binance zip (same ledger, byte for byte), days are
UTC and inclusive, and bad input gets a clear message.

The recorded database (`recorded`) is built once: a synthetic XRPUSDT market that starts a few
seconds before 2024-01-02 00:00 UTC, recorded through the warehouse's `TradeRecorder`, plus a
trade in the last millisecond of 2024-01-02, one at 2024-01-03 00:00:00.000, and some ETHUSDT.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import typer
from sqlalchemy import update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hedgehog.cli.backtest import backtest
from hedgehog.core.types import TradeEvent
from hedgehog.market.synthetic import synthetic_trades, write_binance_zip
from hedgehog.market.tables import TradeTable
from hedgehog.runtime import Runtime
from hedgehog.runtime.pubsub import PubSub
from hedgehog.store import CorruptRow, Database, TradeEventRepo
from hedgehog.store.models import TradeEventRow
from hedgehog.warehouse import RecorderOptions, Warehouse, load_recorded, recorded_span, replay

DAY = 1_704_153_600_000  # 2024-01-02 00:00:00 UTC, in ms
DAY_MS = 86_400_000
FILTERS = ("--tick-size", "0.0001", "--step-size", "0.1")
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/test"


@dataclass(frozen=True)
class Recorded:
    data_dir: Path
    table: TradeTable  # every XRPUSDT trade recorded
    day: TradeTable  # those of 2024-01-02

    def env(self, **extra: str | None) -> dict[str, str | None]:
        return {"HEDGEHOG_DATA_DIR": str(self.data_dir), "HEDGEHOG_DATABASE_URL": None, **extra}


def _market() -> TradeTable:
    base = synthetic_trades("XRPUSDT", 12_000, seed=5, start_time_ms=DAY - 5_000)
    n = len(base)
    edge = np.array([DAY + DAY_MS - 1, DAY + DAY_MS])  # last ms of the day; next day's first
    return TradeTable(
        "XRPUSDT",
        np.concatenate([base.trade_id, [n + 1, n + 2]]),
        np.concatenate([base.price, base.price[-2:]]),
        np.concatenate([base.qty, base.qty[-2:]]),
        np.concatenate([base.time, edge]),
        np.concatenate([base.buyer_maker, base.buyer_maker[-2:]]),
    )


def _only(table: TradeTable, start_ms: int, end_ms: int) -> TradeTable:
    keep = (table.time >= start_ms) & (table.time < end_ms)
    columns = (table.trade_id, table.price, table.qty, table.time, table.buyer_maker)
    return TradeTable(table.symbol, *(c[keep] for c in columns))


async def _record(data_dir: Path, table: TradeTable) -> None:
    """Publish the market on TRADE_EVENTS:XRPUSDT with the warehouse recording it."""
    async with Database(None, data_dir) as db:
        await db.migrate()
        rt = Runtime()
        pubsub = PubSub(rt)
        warehouse = Warehouse(rt, pubsub, db, RecorderOptions(batch_size=1_000))
        await warehouse.start()
        await warehouse.start_recording("TRADE_EVENTS:XRPUSDT")
        for event in table.events():
            pubsub.broadcast("TRADE_EVENTS:XRPUSDT", event)
        await warehouse.stop_recording("TRADE_EVENTS:XRPUSDT")  # writes what is buffered
        await rt.shutdown()
        eth = synthetic_trades("ETHUSDT", 50, seed=1, start_time_ms=DAY + 1_000)
        await TradeEventRepo(db).insert_many(eth.events())


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    data_dir = tmp_path_factory.mktemp("warehouse") / "data"
    table = _market()
    asyncio.run(_record(data_dir, table))
    return Recorded(data_dir, table, _only(table, DAY, DAY + DAY_MS))


def _stable(out: str) -> dict[str, object]:
    data = json.loads(out)
    for key in ("elapsed_s", "ticks_per_s", "restarts"):
        data.pop(key)
    data.pop("skipped_rows")  # per file read: a zip names its file, the database has none
    return data


def test_from_db_replays_exactly_as_the_same_trades_from_a_zip(
    recorded: Recorded, tmp_path: Path
) -> None:
    assert 9_000 < len(recorded.day) < len(recorded.table) - 1  # some trades are outside
    zipped = write_binance_zip(recorded.day, tmp_path / "XRPUSDT-trades-2024-01-02.zip")
    hedgehog = [sys.executable, "-m", "hedgehog", "backtest"]
    env = {k: v for k, v in recorded.env().items() if v is not None}
    env = {**{k: v for k, v in os.environ.items() if k != "HEDGEHOG_DATABASE_URL"}, **env}
    runs = [
        subprocess.Popen(
            [*hedgehog, *args, *FILTERS, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for args in (
            ["--from-db", "xrpusdt", "--from", "2024-01-02", "--to", "2024-01-02"],
            [str(zipped)],
        )
    ]
    (from_db, db_err), (from_zip, zip_err) = (run.communicate(timeout=120) for run in runs)
    assert [run.returncode for run in runs] == [0, 0], db_err + zip_err
    result = _stable(from_db)
    assert result["ticks"] == len(recorded.day)
    assert isinstance(result["orders_placed"], int) and result["orders_placed"] > 0
    assert result == _stable(from_zip)  # the same ledger_sha256, PnL, fees, counts


def _cli(args: list[str], env: dict[str, str | None]) -> tuple[int, str, str]:
    app = typer.Typer()
    app.command()(backtest)
    result = CliRunner().invoke(app, args, env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (["--from", "2024-01-03"], "next day"),  # open-ended: from that day on
        (["--to", "2024-01-01"], "before"),  # open-ended: until the end of that day
        (["--from", "2023-12-01", "--to", "2024-01-01"], "before"),
        ([], "all"),
    ],
)
def test_days_are_utc_and_inclusive(recorded: Recorded, days: list[str], expected: str) -> None:
    code, out, err = _cli(["--from-db", "XRPUSDT", *days, *FILTERS, "--json"], recorded.env())
    assert code == 0, err
    want = {
        "next day": 1,
        "before": int(np.sum(recorded.table.time < DAY)),
        "all": len(recorded.table),
    }[expected]
    assert json.loads(out)["ticks"] == want


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2024-1-2", "--to", "2024-01-02"], "--from '2024-1-2' is not a day: give "),
        (["--from", "2024-01-02", "--to", "2024-02-30"], "--to '2024-02-30' is not a day"),
        (["--from", "2024-01-03", "--to", "2024-01-02"], "--from 2024-01-03 is after --to"),
        (
            ["--from", "2024-03-01", "--to", "2024-03-02"],
            "no trades of XRPUSDT recorded between 2024-03-01 and 2024-03-02 in the database "
            "at sqlite+pysqlite:///",
        ),
        (["--from", "2024-03-01"], "(it has trades from 2024-01-01 to 2024-01-03)"),
        (["--to", "2023-01-01"], "no trades of XRPUSDT recorded until 2023-01-01 in"),
        (["--symbol", "XRPUSDT"], "--symbol picks from trade files"),
        (["--synthetic", "XRPUSDT"], "give trade files, --synthetic or --from-db: only one"),
        (["some.zip"], "give trade files, --synthetic or --from-db: only one"),
    ],
)
def test_bad_from_db_input_is_a_clear_error(
    recorded: Recorded, args: list[str], message: str
) -> None:
    code, _, err = _cli(["--from-db", "XRPUSDT", *args, *FILTERS], recorded.env())
    assert code == 2
    assert message in " ".join(err.split())  # rich may wrap long lines
    assert "Traceback" not in err


def test_a_symbol_never_recorded(recorded: Recorded) -> None:
    code, _, err = _cli(["--from-db", "btcusdt", *FILTERS], recorded.env())
    assert code == 2
    assert "no trades of BTCUSDT recorded in the database at" in err
    assert "(it has none of this symbol)" in " ".join(err.split())


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {"HEDGEHOG_DATABASE_URL": UNREACHABLE}, "cannot reach the database at postgresql"),
        ([], {"HEDGEHOG_DATABASE_URL": "nonsense://"}, "unsupported database URL"),
        ([], {"HEDGEHOG_TESTNET": "maybe"}, "bad setting HEDGEHOG_TESTNET"),
        (["--synthetic", "XRPUSDT", "--from", "2024-01-01"], {}, "--from and --to choose"),
    ],
)
def test_other_errors(tmp_path: Path, args: list[str], env: dict[str, str], message: str) -> None:
    base: dict[str, str | None] = {
        "HEDGEHOG_DATA_DIR": str(tmp_path),
        "HEDGEHOG_DATABASE_URL": None,
    }
    from_db = [] if "--synthetic" in args else ["--from-db", "XRPUSDT"]
    code, _, err = _cli([*from_db, *args, *FILTERS], {**base, **env})
    assert code == 2
    assert message in " ".join(err.split())


# -- load_recorded, on SQLite and PostgreSQL --------------------------------------------------
async def test_load_recorded_selects_and_orders_like_a_file(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replay, "CHUNK", 997)  # several chunks, the last one short
    table = _market()
    events = list(table.events())
    await TradeEventRepo(db).insert_many(reversed(events))  # stored in any order
    await TradeEventRepo(db).insert_many(synthetic_trades("ETHUSDT", 10, 1).events())
    assert await load_recorded(db, "xrpusdt") == table
    assert await load_recorded(db, "XRPUSDT", DAY, DAY + DAY_MS) == _only(table, DAY, DAY + DAY_MS)
    assert await load_recorded(db, "XRPUSDT", end_ms=DAY) == _only(table, 0, DAY)
    assert await load_recorded(db, "BTCUSDT") == TradeTable.empty("BTCUSDT")
    assert await recorded_span(db, "XRPUSDT") == (int(table.time[0]), DAY + DAY_MS)
    assert await recorded_span(db, "BTCUSDT") is None


@pytest.mark.parametrize(
    ("price", "problem"),
    [
        ("abc", "holds 'abc', which is not an amount in whole 1e-8 units"),
        ("0.000000001", "holds '0.000000001', which is not an amount in whole 1e-8 units"),
        ("0", "holds '0', which is not a positive amount"),
    ],
)
async def test_load_recorded_names_a_corrupt_row(tmp_path: Path, price: str, problem: str) -> None:
    async with Database(None, tmp_path) as db:
        await db.migrate()
        trades = [TradeEvent("XRPUSDT", i, Decimal("0.5"), Decimal("1"), DAY + i) for i in (1, 2)]
        await TradeEventRepo(db).insert_many(trades)

        def damage(session: Session) -> None:
            row = TradeEventRow
            session.execute(update(row).where(row.trade_id == 2).values(price=price))

        await db.run(damage)
        with pytest.raises(CorruptRow, match="trade_events row XRPUSDT/2: column price") as info:
            await load_recorded(db, "XRPUSDT")
        assert problem in str(info.value)
