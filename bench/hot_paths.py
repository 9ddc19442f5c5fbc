"""Hot-path benchmark (issue 11): the speeds the unit suite used to assert, measured here.

    python bench/hot_paths.py [--quick] [--json]

The unit tests check what these paths do; a wall-clock figure depends on the machine and its
load (one failed at 49,332 rows/s against a 50,000 goal on a loaded CI machine), so the figures
live here, each with its goal:
- `store_insert_rows_per_s`: `TradeEventRepo.insert_many` on SQLite (goal >= 50,000 rows/s,
  what the warehouse's recorder needs).
- `engine_deep_book_trades_per_s`: paper engine trades that cross nothing, with 20,000 resting
  orders in a band (goal >= 200,000 trades/s: the hot path is O(1) in the book's depth).
- `synthetic_million_s`: seconds to generate 1,000,000 synthetic trades (goal <= 2 s).
`--quick` uses 10x fewer rows, orders and trades (CI's smoke run); goals apply to full runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Side, TradeEvent
from hedgehog.exchange.paper.engine import MatchingEngine
from hedgehog.market.synthetic import synthetic_trades
from hedgehog.store import Database, TradeEventRepo

GOALS = {
    "store_insert_rows_per_s": 50_000,
    "engine_deep_book_trades_per_s": 200_000,
    "synthetic_million_s": 2.0,
}
XRP = SymbolFilters(
    "XRPUSDT", "XRP", "USDT", Decimal("0.0001"), Decimal("0.1"), min_notional=Decimal("1")
)


async def store_insert(rows: int, workdir: Path) -> float:
    """Rows per second inserted into a fresh SQLite store in one call."""
    db = Database(None, workdir)
    await db.migrate()
    try:
        repo = TradeEventRepo(db)
        trades = [
            TradeEvent("XRPUSDT", i, Decimal("0.4318"), Decimal("12.5"), 1_558_742_400_000 + i * 7)
            for i in range(rows)
        ]
        started = time.perf_counter()
        await repo.insert_many(trades)
        elapsed = time.perf_counter() - started
        if await repo.count("XRPUSDT") != rows:
            raise SystemExit("the store lost rows: a bug")
        return rows / elapsed
    finally:
        await db.close()


def engine_deep_book(orders: int, trades: int) -> float:
    """Trades per second through the engine's `on_trade` when none crosses the resting band."""
    big = Decimal(10**9)
    engine = MatchingEngine({"XRPUSDT": XRP}, balances={"USDT": big, "XRP": big})
    for i in range(orders // 2):
        step = Decimal(i % 1000) / 10000
        engine.place("XRPUSDT", Side.BUY, Decimal("0.2") + step, Decimal("10"), f"b{i}", 0)
        engine.place("XRPUSDT", Side.SELL, Decimal("0.6") + step, Decimal("10"), f"s{i}", 0)
    events = [
        TradeEvent("XRPUSDT", i, Decimal(f"0.{4000 + i % 1000}"), Decimal("1"), i)
        for i in range(trades)
    ]
    on_trade = engine.on_trade
    started = time.perf_counter()
    for event in events:
        on_trade(event)
    elapsed = time.perf_counter() - started
    if engine.stats()["filled"] != 0:
        raise SystemExit("a trade inside the band filled an order: a bug")
    return trades / elapsed


def synthetic_generation(trades: int) -> float:
    """Seconds to generate `trades` synthetic trades, scaled to a million."""
    started = time.perf_counter()
    table = synthetic_trades("XRPUSDT", trades, 5)
    elapsed = time.perf_counter() - started
    if len(table) != trades:
        raise SystemExit("synthetic_trades returned the wrong count: a bug")
    return elapsed * 1_000_000 / trades


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller (CI)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    with tempfile.TemporaryDirectory() as tmp:
        rate = asyncio.run(store_insert(60_000 // scale, Path(tmp)))
    results: dict[str, Any] = {
        "store_insert_rows_per_s": rate,
        "engine_deep_book_trades_per_s": engine_deep_book(20_000 // scale, 100_000 // scale),
        "synthetic_million_s": synthetic_generation(1_000_000 // scale),
    }
    meta = {"quick": args.quick, "python": sys.version.split()[0], "machine": platform.machine()}
    if args.json:
        print(json.dumps({**results, "goals": GOALS, **meta}))
        return
    for key, value in results.items():
        print(f"{key}: {value:,.3f} (goal {GOALS[key]:,})")
    print(meta)


if __name__ == "__main__":
    main()
