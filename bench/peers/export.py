"""Write bench/backtest.py's seeded synthetic markets to bench/peers/data/ for the peer runs.

    python bench/peers/export.py [--quick] [--force]

Runs with hedgehog's Python. Each case is a folder `data/<symbols>x<trades>-seed<seed>/` with
one `<SYMBOL>.npz` per symbol (int64 columns `trade_id`, `price` and `qty` in 1e-8 units,
`time` in ms, and `buyer_maker` as 0/1) and a `meta.json` (symbols, tick, step, seed, count).
Both hedgehog (`compare.py`) and NautilusTrader (`nautilus_naive.py`) replay these files, so
they see the very same trades. Symbol i of a case uses seed + i, as in bench/backtest.py.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hedgehog.market.synthetic import synthetic_trades
from hedgehog.market.tables import TradeTable

DATA = Path(__file__).resolve().parent / "data"
TICK, STEP, SEED = "0.0001", "0.1", 7


@dataclass(frozen=True)
class Case:
    symbols: int
    trades: int  # per symbol
    seed: int = SEED

    @property
    def name(self) -> str:
        return f"{self.symbols}x{self.trades}-seed{self.seed}"

    @property
    def names(self) -> list[str]:
        return [f"SYM{i}USDT" for i in range(self.symbols)]

    @property
    def path(self) -> Path:
        return DATA / self.name

    @property
    def total(self) -> int:
        return self.symbols * self.trades


def cases(quick: bool = False) -> list[Case]:
    """bench/backtest.py's two cases (10x fewer trades with `quick`)."""
    scale = 10 if quick else 1
    return [Case(1, 1_000_000 // scale), Case(10, 200_000 // scale)]


def export(case: Case, force: bool = False) -> Path:
    """Write `case` unless it is already there; return its folder."""
    meta_path = case.path / "meta.json"
    if meta_path.exists() and not force:
        return case.path
    case.path.mkdir(parents=True, exist_ok=True)
    for i, symbol in enumerate(case.names):
        t = synthetic_trades(symbol, case.trades, case.seed + i)
        np.savez(
            case.path / f"{symbol}.npz",
            trade_id=t.trade_id,
            price=t.price,
            qty=t.qty,
            time=t.time,
            buyer_maker=t.buyer_maker.astype(np.int8),
        )
    meta = {
        "symbols": case.names,
        "trades_per_symbol": case.trades,
        "seed": case.seed,
        "tick": TICK,
        "step": STEP,
        "units": "price and qty in 1e-8 units, time in ms",
    }
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")  # written last: marks completion
    return case.path


def load(case: Case) -> dict[str, TradeTable]:
    """The case's trades as hedgehog tables (export first if needed)."""
    export(case)
    tables = {}
    for symbol in case.names:
        with np.load(case.path / f"{symbol}.npz") as z:
            tables[symbol] = TradeTable(
                symbol,
                z["trade_id"],
                z["price"],
                z["qty"],
                z["time"],
                z["buyer_maker"].astype(np.bool_),
            )
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer trades")
    parser.add_argument("--force", action="store_true", help="rewrite existing files")
    args = parser.parse_args()
    for case in cases(args.quick):
        print(export(case, args.force))


if __name__ == "__main__":
    main()
