"""A seeded synthetic market: trades, exchange info, and Binance-format files of them.

The real data in ../shared/data may not ship, so tests, benchmarks and demos generate their
own market here. Only integer draws are used, so a seed gives the same trades on every machine.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from hedgehog.core.decimals import to_decimal
from hedgehog.core.filters import split_symbol
from hedgehog.market.tables import SCALE, BoolArray, IntArray, TradeTable, from_units, to_units

_BLOCK = 1 << 16
_PULL_BLOCK = 1024


def synthetic_trades(
    symbol: str,
    n: int,
    seed: int,
    start_price: str | Decimal = "1.0",
    tick: str | Decimal = "0.0001",
    step: str | Decimal = "0.1",
    start_time_ms: int = 1_700_000_000_000,
    volatility: float = 0.0005,
    band: float = 0.1,
    reversion: int = 20_000,
    first_id: int = 1,
) -> TradeTable:
    """`n` trades of a busy market around `start_price` (floored to a whole tick).

    The bid is a random walk in whole ticks (each trade moves it by up to `volatility` of the
    start price), pulled back toward the start price over about `reversion` trades and
    reflected inside `start_price * (1 ± band)`, so it stays positive and near the start. A
    trade prints at the bid (buyer is maker) or one tick above. Quantities are 1 to 9,999
    steps, times 0-5 ms apart (first at `start_time_ms`), ids consecutive from `first_id`.
    """
    if n < 0 or reversion < 1:
        raise ValueError("n must be >= 0 and reversion >= 1")
    tick_u, step_u = _units(tick, "tick"), _units(step, "step")
    start = max(1, _units(start_price, "start_price") // tick_u)
    move = max(1, round(volatility * start))
    half = max(move, int(band * start))
    low = max(1, start - half)
    width = start + half - low
    if n == 0:
        return TradeTable.empty(symbol)

    moves, maker, steps, gaps = _draws(np.random.Generator(np.random.PCG64(seed)), n, move)
    walk = _revert(moves, reversion) + (start - low)
    folded = np.mod(walk, 2 * width)
    bid = low + np.where(folded > width, 2 * width - folded, folded)
    price = (bid + ~maker) * tick_u
    gaps[0] = 0
    time = start_time_ms + np.cumsum(gaps)
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    return TradeTable(symbol, ids, price, steps * step_u, time, maker)


def _revert(moves: IntArray, reversion: int) -> IntArray:
    """The walk of `moves` (ticks from the start), pulled back toward 0 block by block: each
    block of trades drifts by -deviation * block / reversion, so deviations fade over about
    `reversion` trades. Integer arithmetic, symmetric for rises and falls."""
    out = np.empty_like(moves)
    level = 0
    ramp = np.arange(1, _PULL_BLOCK + 1, dtype=np.int64)
    for lo in range(0, len(moves), _PULL_BLOCK):
        block = moves[lo : lo + _PULL_BLOCK]
        size = len(block)
        pull = abs(level) * size // max(reversion, size)
        drift = ramp[:size] * pull // size
        path = level + np.cumsum(block) - (drift if level > 0 else -drift)
        out[lo : lo + size] = path
        level = int(path[-1])
    return out


def _draws(
    rng: np.random.Generator, n: int, move: int
) -> tuple[IntArray, BoolArray, IntArray, IntArray]:
    """Random moves, maker flags, quantities (in steps) and time gaps, drawn in fixed blocks
    so that the first trades of a short run equal those of a longer run with the same seed."""
    blocks = []
    for _ in range(-(-n // _BLOCK)):
        moves = rng.integers(-move, move + 1, _BLOCK, dtype=np.int64)
        maker = rng.integers(0, 2, _BLOCK, dtype=np.int64).astype(np.bool_)
        digits = rng.integers(1, 5, _BLOCK, dtype=np.int64)
        steps = rng.integers(1, 10**digits, dtype=np.int64)
        gaps = rng.integers(0, 6, _BLOCK, dtype=np.int64)
        blocks.append((moves, maker, steps, gaps))
    moves, maker, steps, gaps = (np.concatenate(c)[:n] for c in zip(*blocks, strict=True))
    return moves, maker, steps, gaps


def _units(value: str | Decimal, what: str) -> int:
    units = to_units(to_decimal(value, what))
    if units <= 0:
        raise ValueError(f"{what} must be positive, got {value}")
    return units


def synthetic_exchange_info(
    symbols: str | Iterable[str],
    tick: str = "0.0001",
    step: str = "0.1",
    min_notional: str = "1",
    min_qty: str | None = None,
) -> dict[str, Any]:
    """An exchangeInfo-shaped answer that `hedgehog.core.filters.parse_exchange_info` reads."""
    names = [symbols] if isinstance(symbols, str) else list(symbols)
    entries = []
    for name in names:
        symbol = name.upper()
        base, quote = split_symbol(symbol)
        filters = [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": _fmt8(tick),
                "maxPrice": "1000000.00000000",
                "tickSize": _fmt8(tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": _fmt8(min_qty or step),
                "maxQty": "9000000.00000000",
                "stepSize": _fmt8(step),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": _fmt8(min_notional),
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ]
        entries.append(
            {
                "symbol": symbol,
                "status": "TRADING",
                "baseAsset": base,
                "baseAssetPrecision": 8,
                "quoteAsset": quote,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
                "isSpotTradingAllowed": True,
                "filters": filters,
            }
        )
    return {"timezone": "UTC", "serverTime": 0, "rateLimits": [], "symbols": entries}


def _fmt8(value: str | Decimal) -> str:
    """Binance's text of an amount: always 8 decimals (ValueError if it has more)."""
    return f"{from_units(to_units(to_decimal(value))):.8f}"


def binance_csv_bytes(table: TradeTable, micros: bool = False) -> bytes:
    """The table as a headerless Binance trades CSV, CRLF lines (times in µs when `micros`).

    quote_qty is price * qty truncated to 8 decimals. A Binance file loaded and written back
    gives its own bytes again.
    """
    q_units = pl.col("price").cast(pl.Int128) * pl.col("qty") // SCALE
    df = pl.DataFrame(
        {
            "id": table.trade_id,
            "price": table.price,
            "qty": table.qty,
            "time": table.time * 1000 if micros else table.time,
            "maker": table.buyer_maker,
        }
    )
    out = df.select(
        "id",
        _text(pl.col("price")),
        _text(pl.col("qty")),
        _text(q_units).alias("quote_qty"),
        "time",
        pl.when("maker").then(pl.lit("True")).otherwise(pl.lit("False")),
        pl.lit("True").alias("best"),
    )
    csv = out.write_csv(include_header=False, quote_style="never", line_terminator="\r\n")
    return csv.encode()


def _text(units: pl.Expr) -> pl.Expr:
    """Units of 1e-8 as Binance text, e.g. 38286000 -> '0.38286000'."""
    whole = (units // SCALE).cast(pl.String)
    return pl.concat_str(whole, pl.lit("."), (units % SCALE).cast(pl.String).str.zfill(8))


def write_binance_csv(table: TradeTable, path: str | Path, micros: bool = False) -> Path:
    """Write the table as a bare Binance trades CSV at `path`."""
    target = Path(path)
    target.write_bytes(binance_csv_bytes(table, micros))
    return target


def write_binance_zip(table: TradeTable, path: str | Path, micros: bool = False) -> Path:
    """Write a Binance public-data zip; a directory `path` gets SYMBOL-trades-YYYY-MM-DD.zip.

    The zip's timestamp is the first trade's day, so a table always gives the same bytes.
    """
    if not len(table):
        raise ValueError("cannot write an empty table as a Binance zip")
    day = datetime.fromtimestamp(int(table.time[0]) / 1000, UTC)
    target = Path(path)
    if target.is_dir():
        target = target / f"{table.symbol}-trades-{day:%Y-%m-%d}.zip"
    info = zipfile.ZipInfo(target.name.removesuffix(".zip") + ".csv", day.timetuple()[:6])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        data = binance_csv_bytes(table, micros)
        zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)  # fast
    target.write_bytes(buffer.getvalue())
    return target
