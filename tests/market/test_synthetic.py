"""The synthetic market: deterministic, exact, busy, and written in Binance's own format."""

from __future__ import annotations

import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from hedgehog.core.filters import parse_exchange_info
from hedgehog.market.loaders import load_trades
from hedgehog.market.synthetic import (
    binance_csv_bytes,
    synthetic_exchange_info,
    synthetic_trades,
    write_binance_csv,
    write_binance_zip,
)


def swings(prices: list[int], size: float) -> int:
    """Reversals of at least `size` (relative): the fills of a grid spaced `size` apart."""
    extreme, rising, count = prices[0], True, 0
    for p in prices:
        if (rising and p > extreme) or (not rising and p < extreme):
            extreme = p
        elif p <= extreme * (1 - size) if rising else p >= extreme * (1 + size):
            count, rising, extreme = count + 1, not rising, p
    return count


def test_a_seed_gives_the_same_trades_everywhere() -> None:
    t = synthetic_trades("xrpusdt", 1000, 42)
    assert t == synthetic_trades("XRPUSDT", 1000, 42)
    assert t != synthetic_trades("XRPUSDT", 1000, 43)
    long = synthetic_trades("XRPUSDT", 300_000, 42)  # several blocks: reversion, reflection
    assert long.slice(0, 1000) == t  # a short run is a prefix of a long one
    assert (int(long.price.sum()), int(long.qty.sum())) == (29950909450000, 4154306230000000)
    assert (int(long.time[-1]), int(long.price[-1])) == (1700000748966, 101260000)
    # Golden values: integer draws only, so these hold on every machine.
    assert t.price[:5].tolist() == [99950000, 99980000, 100010000, 100000000, 99990000]
    assert t.qty[:5].tolist() == [20000000, 880000000, 38110000000, 35960000000, 1930000000]
    assert t.time[:5].tolist() == [
        1700000000000,
        1700000000001,
        1700000000002,
        1700000000003,
        1700000000006,
    ]
    assert t.buyer_maker[:5].tolist() == [True, True, False, False, False]
    assert (int(t.price.sum()), int(t.qty.sum())) == (100239090000, 13258980000000)


def test_trades_respect_tick_step_band_ids_and_times() -> None:
    t = synthetic_trades(
        "BTCUSDT",
        50_000,
        7,
        start_price="30000.5",
        tick="0.01",
        step="0.00001",
        start_time_ms=1_600_000_000_000,
        first_id=100,
    )
    assert len(t) == 50_000 and t.symbol == "BTCUSDT"
    assert np.all(t.price % 1_000_000 == 0) and np.all(t.qty % 1_000 == 0)
    assert t.qty.min() >= 1_000 and t.qty.max() <= 10_000 * 1_000
    low, high = (30000.5 * f * 10**8 for f in (0.9, 1.1))
    assert low <= t.price.min() and t.price.max() <= high + 10**6
    assert t.trade_id.tolist() == list(range(100, 50_100))
    gaps = np.diff(t.time)
    assert t.time[0] == 1_600_000_000_000 and gaps.min() == 0 and gaps.max() <= 5
    assert 0.1 < np.mean(gaps == 0) < 0.3
    assert 0.4 < t.buyer_maker.mean() < 0.6


def test_a_long_walk_stays_positive_and_around_the_start() -> None:
    t = synthetic_trades("X", 200_000, 3, start_price="0.0003", tick="0.0001", volatility=0.01)
    assert t.price.min() >= 10_000  # never below one tick
    t = synthetic_trades("X", 200_000, 3, start_price="1.0")
    assert t.price.min() >= 0.9e8 and t.price.max() <= 1.1e8 + 10_000
    assert np.mean(t.price < 1e8) > 0.1 and np.mean(t.price > 1e8) > 0.1  # around the start


def test_the_market_is_busy_enough_for_a_grid() -> None:
    prices = synthetic_trades("XRPUSDT", 10_000, 1).price.tolist()
    assert swings(prices, 0.001) >= 300
    assert swings(prices, 0.003) >= 50
    assert swings(prices, 0.005) >= 20


def test_a_million_trades_is_compact() -> None:
    """(Its speed, ~0.2 s for a million, is `bench/hot_paths.py`'s `synthetic_million_s`.)"""
    t = synthetic_trades("XRPUSDT", 1_000_000, 5)
    assert len(t) == 1_000_000 and t.nbytes / len(t) <= 100


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": -1}, "n must be"),
        ({"tick": "0"}, "tick must be positive"),
        ({"step": "0.000000001"}, "more than 8 decimals"),
        ({"reversion": 0}, "reversion >= 1"),
        ({"start_price": "-1"}, "positive"),
        ({"tick": 0.01}, "floats are not accepted"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"symbol": "X", "n": 10, "seed": 1} | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        synthetic_trades(**args)  # type: ignore[arg-type]


def test_no_trades_is_an_empty_table() -> None:
    assert len(synthetic_trades("X", 0, 1)) == 0


def test_exchange_info_parses_into_filters() -> None:
    info = synthetic_exchange_info(["xrpusdt", "BTCUSDT"], tick="0.01", step="0.00001")
    filters = parse_exchange_info(info)
    btc = filters["BTCUSDT"]
    assert (btc.base_asset, btc.quote_asset) == ("BTC", "USDT")
    assert btc.tick_size == Decimal("0.01") and btc.step_size == Decimal("0.00001")
    assert btc.min_qty == Decimal("0.00001") and btc.min_notional == Decimal(1)
    assert btc.check(Decimal("30000.01"), Decimal("0.001")) is None
    assert "PRICE_FILTER" in (btc.check(Decimal("30000.001"), Decimal("0.001")) or "")
    assert "MIN_NOTIONAL" in (btc.check(Decimal("100"), Decimal("0.001")) or "")
    one = parse_exchange_info(synthetic_exchange_info("ETHBTC", min_qty="1", min_notional="0"))
    assert one["ETHBTC"].quote_asset == "BTC" and one["ETHBTC"].min_qty == 1
    assert info["symbols"][0]["filters"][0]["tickSize"] == "0.01000000"


def test_binance_csv_text_matches_the_public_data_format(tmp_path: Path) -> None:
    t = synthetic_trades("XRPUSDT", 3, 42)
    lines = binance_csv_bytes(t).decode().split("\r\n")
    assert lines.pop() == ""
    assert lines == [
        "1,0.99950000,0.20000000,0.19990000,1700000000000,True,True",
        "2,0.99980000,8.80000000,8.79824000,1700000000001,True,True",
        "3,1.00010000,381.10000000,381.13811000,1700000000002,False,True",
    ]
    micros = binance_csv_bytes(t, micros=True).decode().splitlines()
    assert micros[0].split(",")[4] == "1700000000000000"
    path = write_binance_csv(t, tmp_path / "XRPUSDT-trades-2023-11-14.csv")
    assert load_trades([path]).table() == t


def test_zip_round_trip_in_milliseconds_and_microseconds(tmp_path: Path) -> None:
    t = synthetic_trades("XRPUSDT", 20_000, 9)
    path = write_binance_zip(t, tmp_path)
    assert path.name == "XRPUSDT-trades-2023-11-14.zip"
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["XRPUSDT-trades-2023-11-14.csv"]
    assert load_trades([path]).table() == t
    micros = write_binance_zip(t, tmp_path / "XRPUSDT-trades-2025-01-01.zip", micros=True)
    assert load_trades([micros]).table() == t
    (tmp_path / "again").mkdir()
    again = write_binance_zip(t, tmp_path / "again")
    assert again.read_bytes() == path.read_bytes()  # deterministic bytes
    with pytest.raises(ValueError, match="empty"):
        write_binance_zip(synthetic_trades("X", 0, 1), tmp_path)
