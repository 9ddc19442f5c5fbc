"""hedgehog's naive backtest streamed from its Parquet catalog, in a process of its own (issue 14).

    python bench/peers/hedgehog_catalog.py CATALOG --symbol S [--orders FILE]

What `hedgehog backtest --catalog CATALOG --symbol S --json` does, without the CLI:
`run_backtest(CatalogSource(catalog, [S]), config)` with the catalog's exchangeInfo filters and
the naive strategy's default settings (5 chunks, budget 1000, as compare.py), printing one JSON
object (ticks, replay seconds, ledger sha256, orders placed and filled, and the final USDT of the
default balance). catalog_compare.py times it when the CLI has no --catalog yet, and uses
`--orders` (untimed, after the run) to set hedgehog's orders beside Nautilus's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

T0 = time.perf_counter()

from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402

from hedgehog.backtest.runner import BacktestConfig, run_backtest  # noqa: E402
from hedgehog.backtest.source_catalog import CatalogSource  # noqa: E402
from hedgehog.market.catalog import Catalog  # noqa: E402
from hedgehog.naive.settings import TradingSettings  # noqa: E402


def run(root: Path, symbol: str, orders: Path | None, every_tick: bool) -> dict[str, object]:
    catalog = Catalog(root)
    source = CatalogSource(catalog, [symbol])
    settings = {s: TradingSettings(s, chunks=5) for s in source.symbols}
    config = BacktestConfig(settings, catalog.filters(source.symbols), every_tick=every_tick)
    result = asyncio.run(run_backtest(source, config))
    wall = time.perf_counter() - T0
    s = result.summary
    fee = settings[source.symbols[0]].fee
    quote = sum((x.budget * (1 + x.fee) * 2 for x in settings.values()), Decimal(0))
    lines = []
    for o in result.ledger:
        if o.status.value == "FILLED":
            notional = o.price * o.executed_qty
            quote += -notional * (1 + fee) if o.side.value == "BUY" else notional * (1 - fee)
        lines.append(
            f"{o.symbol} {o.side.value} {o.price} {o.orig_qty} {o.status.value} {o.time} "
            f"{o.update_time}\n"
        )
    if orders is not None:
        orders.write_text("".join(lines))
    return {
        "ticks": result.ticks,
        "elapsed_s": round(result.elapsed_s, 3),
        "wall_in_process_s": round(wall, 3),
        "ledger_sha256": s.ledger_sha256,
        "orders_placed": s.orders_placed,
        "fills": s.buys_filled + s.sells_filled,
        "cycles": s.cycles_completed,
        "traders_started": result.traders_started,
        "realised_pnl": str(s.realised_pnl),
        "quote_balance": str(quote),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalog", type=Path)
    parser.add_argument("--symbol", required=True)
    parser.add_argument("--orders", type=Path, help="write the ledger's orders here (untimed)")
    parser.add_argument("--every-tick", action="store_true", help="every trade through")
    args = parser.parse_args()
    print(json.dumps(run(args.catalog, args.symbol, args.orders, args.every_tick)))


if __name__ == "__main__":
    main()
