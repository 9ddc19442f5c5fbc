"""The naive strategy in NautilusTrader, streamed from its own ParquetDataCatalog (issue 14).

    bench/peers/.venv/bin/python bench/peers/nautilus_catalog.py write HH_CATALOG NT_CATALOG
        --symbol S
    bench/peers/.venv/bin/python bench/peers/nautilus_catalog.py run NT_CATALOG --symbol S
        [--mode stream|oneshot] [--chunk-size N] [--orders FILE]

Runs in bench/peers/.venv (see setup.sh), never with hedgehog's Python; catalog_compare.py
calls it. `write` copies one symbol of a hedgehog catalog (its day files, read with pyarrow: int64
1e-8 units) into a Nautilus catalog with Nautilus's own writer (`ParquetDataCatalog.write_data`),
a day per call: the `CurrencyPair` of nautilus_naive.py (tick 0.0001, step 0.1, min notional 1,
0.1 % fees) and the trades as `TradeTick`s (built by `TradeTick.from_raw_arrays_to_list`, as
nautilus_naive.py does). `run` is Nautilus's high-level API: a `BacktestNode` with one
`BacktestRunConfig` whose `BacktestDataConfig` names the catalog, the strategy, fill model and
risk settings of nautilus_naive.py given as importable configs, and `chunk_size` set (`--mode
stream`, the default: the node streams the catalog through `engine.run(streaming=True)` chunk by
chunk) or not (`--mode oneshot`: the node loads every tick, then runs). Prints one JSON object:
the timings (import, node build, run), the counts of the strategy and the final balances;
`--orders` writes the orders as nautilus_naive.py does (untimed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

T0 = time.perf_counter()

from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import nautilus_trader  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from nautilus_naive import (  # noqa: E402
    PRICE_PREC,
    SCALE,
    SIZE_PREC,
    VENUE,
    NaiveStrategy,
    currency_pair,
    write_orders,
)
from nautilus_trader.backtest.node import BacktestNode  # noqa: E402
from nautilus_trader.config import (  # noqa: E402
    BacktestDataConfig,
    BacktestEngineConfig,
    BacktestRunConfig,
    BacktestVenueConfig,
    ImportableFillModelConfig,
    ImportableStrategyConfig,
    LoggingConfig,
    RiskEngineConfig,
)
from nautilus_trader.model.data import TradeTick  # noqa: E402
from nautilus_trader.model.enums import AggressorSide  # noqa: E402
from nautilus_trader.persistence.catalog import ParquetDataCatalog  # noqa: E402

T_IMPORTED = time.perf_counter()
BALANCE = Decimal("1000") * Decimal("1.001") * 2  # hedgehog's default, one symbol


def write(hh_root: Path, nt_root: Path, symbol: str) -> dict:
    """Copy `symbol`'s day files of a hedgehog catalog into a Nautilus catalog."""
    started = time.perf_counter()
    catalog = ParquetDataCatalog(str(nt_root))
    instrument = currency_pair(symbol)
    catalog.write_data([instrument])
    days = sorted((hh_root / "trades" / symbol).glob("*.parquet"))
    if not days:
        raise SystemExit(f"no day files of {symbol} under {hh_root}/trades")
    total = 0
    for path in days:
        t = pq.read_table(path)
        price = t.column("price").to_numpy()
        qty = t.column("qty").to_numpy()
        ms = t.column("time").to_numpy()
        sides = np.where(
            t.column("buyer_maker").to_numpy(zero_copy_only=False),
            int(AggressorSide.SELLER),
            int(AggressorSide.BUYER),
        ).astype(np.uint8)
        ts = ms.astype(np.uint64) * np.uint64(1_000_000)
        ticks = TradeTick.from_raw_arrays_to_list(
            instrument.id,
            PRICE_PREC,
            SIZE_PREC,
            price.astype(np.float64) / SCALE,
            qty.astype(np.float64) / SCALE,
            sides,
            [str(i) for i in t.column("trade_id").to_numpy().tolist()],
            ts,
            ts,
        )
        catalog.write_data(ticks)
        total += len(ticks)
        del ticks, t
    size = sum(f.stat().st_size for f in nt_root.rglob("*.parquet"))
    return {
        "trades": total,
        "days": len(days),
        "write_s": round(time.perf_counter() - started, 2),
        "catalog_mb": round(size / 2**20, 1),
    }


def read(nt_root: Path, symbol: str, chunk_size: int) -> dict:
    """Only the node's streaming read: the catalog's chunks turned into TradeTicks, no engine."""
    from nautilus_trader.core.nautilus_pyo3 import DataBackendSession
    from nautilus_trader.model.data import capsule_to_list

    catalog = ParquetDataCatalog(str(nt_root))
    session = catalog.backend_session(
        data_cls=TradeTick,
        identifiers=[f"{symbol}.{VENUE}"],
        session=DataBackendSession(chunk_size=chunk_size),
    )
    started = time.perf_counter()
    trades = 0
    for chunk in session.to_query_result():
        trades += len(capsule_to_list(chunk))
    read_s = time.perf_counter() - started
    return {"trades": trades, "chunk_size": chunk_size, "read_s": round(read_s, 3),
            "total_s": round(time.perf_counter() - T0, 3)}  # fmt: skip


def run_config(
    nt_root: Path, symbol: str, chunk_size: int | None, idle: bool = False
) -> BacktestRunConfig:
    iid = f"{symbol}.{VENUE}"
    here = "nautilus_naive"
    strategy = ImportableStrategyConfig(
        strategy_path=f"{here}:{'IdleStrategy' if idle else 'NaiveStrategy'}",
        config_path=f"{here}:NaiveConfig",
        config={"instrument_ids": [iid]},
    )
    fills = ImportableFillModelConfig(
        fill_model_path=f"{here}:LimitPriceFillModel",
        config_path="nautilus_trader.backtest.config:FillModelConfig",
        config={},
    )
    venue = BacktestVenueConfig(
        name=str(VENUE),
        oms_type="NETTING",
        account_type="CASH",
        starting_balances=[f"{BALANCE} USDT"],
        book_type="L1_MBP",
        fill_model=fills,
    )
    data = BacktestDataConfig(
        catalog_path=str(nt_root), data_cls=TradeTick, instrument_id=iid
    )  # fmt: skip
    engine = BacktestEngineConfig(
        strategies=[strategy],
        logging=LoggingConfig(log_level="ERROR"),
        # the checks, without the default throttle of 100 orders/s, as in nautilus_naive.py
        risk_engine=RiskEngineConfig(max_order_submit_rate="1000000/00:00:01"),
        run_analysis=False,
    )
    return BacktestRunConfig(
        engine=engine,
        venues=[venue],
        data=[data],
        chunk_size=chunk_size,
        dispose_on_completion=False,
        raise_exception=True,
    )


def run(
    nt_root: Path, symbol: str, chunk_size: int | None, orders_out: Path | None, idle: bool
) -> dict:
    config = run_config(nt_root, symbol, chunk_size, idle)
    node = BacktestNode(configs=[config])
    node.build()
    t_built = time.perf_counter()
    node.run()
    t_run = time.perf_counter()
    engine = node.get_engine(config.id)
    strategy = next(s for s in engine.trader.strategies() if isinstance(s, NaiveStrategy))
    counts = dict(strategy.counts)
    account = engine.cache.account_for_venue(VENUE)
    balances = {c.code: str(b.total.as_decimal()) for c, b in account.balances().items()}
    trades = strategy.leaders[next(iter(strategy.leaders))].seq  # ticks the strategy saw
    iterations = engine.iteration  # data the engine handled (the same count)
    if orders_out is not None:
        write_orders(engine, orders_out)
    return {
        "peer": "nautilus_trader",
        "version": nautilus_trader.__version__,
        "python": sys.version.split()[0],
        "mode": "stream" if chunk_size else "oneshot",
        "strategy": "idle" if idle else "naive",
        "chunk_size": chunk_size,
        "trades": trades,
        "engine_iterations": iterations,
        "import_s": round(T_IMPORTED - T0, 3),
        "build_s": round(t_built - T_IMPORTED, 3),
        "run_s": round(t_run - t_built, 3),
        "total_s": round(t_run - T0, 3),
        "orders": counts["buys_placed"] + counts["sells_placed"],
        "traders_started": sum(leader.started for leader in strategy.leaders.values()),
        **counts,
        "realised_pnl": str(strategy.realised_pnl),
        "final_balances": balances,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write", help="copy a symbol of a hedgehog catalog into a Nautilus one")
    w.add_argument("hh_catalog", type=Path)
    w.add_argument("nt_catalog", type=Path)
    w.add_argument("--symbol", required=True)
    r = sub.add_parser("run", help="the naive strategy over the Nautilus catalog (BacktestNode)")
    r.add_argument("nt_catalog", type=Path)
    r.add_argument("--symbol", required=True)
    r.add_argument("--mode", choices=("stream", "oneshot"), default="stream")
    r.add_argument("--chunk-size", type=int, default=100_000, help="ticks per streamed chunk")
    r.add_argument("--orders", type=Path, help="also write every order to this file (untimed)")
    r.add_argument("--idle", action="store_true", help="a strategy that ignores the trades")
    d = sub.add_parser("read", help="only the streaming read into TradeTicks (no engine)")
    d.add_argument("nt_catalog", type=Path)
    d.add_argument("--symbol", required=True)
    d.add_argument("--chunk-size", type=int, default=100_000)
    args = parser.parse_args()
    if args.command == "write":
        out = write(args.hh_catalog, args.nt_catalog, args.symbol)
    elif args.command == "read":
        out = read(args.nt_catalog, args.symbol, args.chunk_size)
    else:
        chunk = args.chunk_size if args.mode == "stream" else None
        out = run(args.nt_catalog, args.symbol, chunk, args.orders, args.idle)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
