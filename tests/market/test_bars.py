"""Bars: Binance's kline fields folded from trades, the streaming aggregator and the
vectorized table path equal on every interval, exact amounts, resampling, intervals."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgehog.core.errors import ConfigError
from hedgehog.core.types import TradeEvent, bars_topic
from hedgehog.market.bars import (
    INTERVALS,
    Bar,
    BarAggregator,
    bars_from_table,
    parse_interval,
    resample,
)
from hedgehog.market.synthetic import synthetic_trades
from hedgehog.market.tables import TradeTable
from hedgehog.simulator.history import SymbolHistory
from hedgehog.simulator.klines import klines

D = Decimal
INT64_MAX = 2**63 - 1


def trade(tid: int, price: str, qty: str, time: int, maker: bool = False) -> TradeEvent:
    return TradeEvent("XRPUSDT", tid, D(price), D(qty), time, maker, time)


def streamed(table: TradeTable, interval: str) -> list[Bar]:
    agg = BarAggregator(table.symbol, interval)
    bars = [bar for t in table.events() for bar in agg.add(t)]
    last = agg.flush()
    return bars + ([last] if last is not None else [])


def test_a_bar_has_binance_s_kline_fields() -> None:
    agg = BarAggregator("xrpusdt", "1m")
    assert agg.add(trade(7, "0.5", "10", 60_000)) == []
    assert agg.add(trade(8, "0.7", "2", 60_500, maker=True)) == []
    assert agg.add(trade(9, "0.4", "1.5", 119_999)) == []
    current = agg.current
    assert current is not None and current.close == D("0.4")
    (bar,) = agg.add(trade(10, "0.6", "1", 180_000))  # 120_000..179_999 had no trade: no bar
    assert bar == Bar(
        symbol="XRPUSDT", interval="1m", open_time=60_000, close_time=119_999,
        open=D("0.5"), high=D("0.7"), low=D("0.4"), close=D("0.4"),
        volume=D("13.5"), quote_volume=D("7.0"), trades=3, first_id=7, last_id=9,
        taker_buy_volume=D("11.5"), taker_buy_quote_volume=D("5.6"),
    )  # fmt: skip
    assert str(bar.quote_volume) == "7" and str(bar.volume) == "13.5"  # canonical amounts
    last = agg.flush()
    assert last is not None and (last.open_time, last.trades, last.first_id) == (180_000, 1, 10)
    assert agg.flush() is None and agg.current is None


def test_a_trade_of_a_stepped_back_clock_joins_the_open_bar() -> None:
    agg = BarAggregator("XRPUSDT", "1s")
    agg.add(trade(1, "1", "1", 5_000))
    assert agg.add(trade(2, "2", "1", 4_000)) == []  # the bar is never reopened
    bar = agg.flush()
    assert bar is not None and (bar.open_time, bar.trades, bar.high) == (5_000, 2, D(2))


def test_another_symbol_s_trade_is_refused() -> None:
    agg = BarAggregator("BTCUSDT", "1m")
    with pytest.raises(ValueError, match="XRPUSDT"):
        agg.add(trade(1, "1", "1", 0))


def test_amounts_are_exact_beyond_the_default_decimal_precision() -> None:
    agg = BarAggregator("XRPUSDT", "1d")
    big = "92233720368.54775807"  # the largest 1e-8 amount of a table
    for i in range(3):
        agg.add(trade(i, big, big, i))
    bar = agg.flush()
    assert bar is not None
    exact = 3 * (INT64_MAX**2)  # in 1e-16 units
    assert bar.quote_volume.as_tuple().digits == tuple(map(int, str(exact)))
    assert bar.volume == D(3 * INT64_MAX) / 10**8


@pytest.mark.parametrize("text", ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h",
                                  "8h", "12h", "1d"])  # fmt: skip
def test_binance_s_fixed_intervals(text: str) -> None:
    assert parse_interval(text) == INTERVALS[text]
    assert parse_interval("4h") == 4 * 3_600_000


@pytest.mark.parametrize("text", ["1M", "1w", "3d", "2m", "1H", " 1m", "", "60000", None])
def test_other_intervals_are_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="1s, 1m, 3m"):
        parse_interval(text)
    with pytest.raises(ConfigError):
        BarAggregator("XRPUSDT", text)


def test_the_topic() -> None:
    assert bars_topic("XRPUSDT", "1m") == "BARS:XRPUSDT:1m"


def test_synthetic_trades_give_the_same_bars_both_ways() -> None:
    table = synthetic_trades("XRPUSDT", 20_000, seed=5)
    for interval in ("1s", "1m", "1h"):
        bars = bars_from_table(table, interval)
        assert bars == streamed(table, interval)
        assert sum(b.trades for b in bars) == len(table)
        assert [b.open_time for b in bars] == sorted({b.open_time for b in bars})


@st.composite
def tables(draw: st.DrawFn) -> TradeTable:
    n = draw(st.integers(0, 60))
    big = draw(st.booleans())  # amounts up to int64: the exact limb sums
    amount = st.integers(1, INT64_MAX if big else 10**12)
    start = draw(st.integers(0, 2 * 86_400_000))
    steps = draw(st.lists(st.sampled_from([0, 1, 999, 1_000, 59_999, 3_600_000, 10**8]),
                          min_size=n, max_size=n))  # fmt: skip
    times = start + np.cumsum(np.array(steps, dtype=np.int64))
    return TradeTable(
        "XRPUSDT",
        np.arange(1, n + 1, dtype=np.int64) * draw(st.integers(1, 3)),
        np.array(draw(st.lists(amount, min_size=n, max_size=n)), dtype=np.int64),
        np.array(draw(st.lists(amount, min_size=n, max_size=n)), dtype=np.int64),
        times,
        np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=np.bool_),
    )


@settings(max_examples=150, deadline=None)
@given(tables())
def test_the_table_path_equals_the_stream_on_every_interval(table: TradeTable) -> None:
    for interval in INTERVALS:
        vectorized, stream = bars_from_table(table, interval), streamed(table, interval)
        assert vectorized == stream
        assert list(map(repr, vectorized)) == list(map(repr, stream))  # the same digits too


@settings(max_examples=50, deadline=None)
@given(tables(), st.sampled_from(["1m", "5m", "1h", "4h", "1d"]))
def test_resampled_one_second_bars_equal_the_wider_bars(table: TradeTable, wide: str) -> None:
    assert resample(bars_from_table(table, "1s"), wide) == bars_from_table(table, wide)


def test_resampling_needs_a_multiple_width() -> None:
    bars = bars_from_table(synthetic_trades("XRPUSDT", 100, seed=1), "4h")
    with pytest.raises(ValueError, match="tile"):
        resample(bars, "6h")


def test_the_simulator_s_klines_are_these_bars() -> None:
    trades = synthetic_trades("XRPUSDT", 5_000, seed=8)
    stretched = trades.time[0] + (trades.time - trades.time[0]) * 200  # ~40 minutes
    table = TradeTable("XRPUSDT", trades.trade_id, trades.price, trades.qty, stretched,
                       trades.buyer_maker)  # fmt: skip
    history = SymbolHistory()
    for t in table.events():
        history.add(t)
    assert history.seconds.rows == [bar.row() for bar in bars_from_table(table, "1s")]
    now = int(table.time[-1])
    for interval in ("1m", "5m", "1h"):
        rows = klines(history, interval, None, None, 1000, now)
        traded = [(close, row) for close, row in rows if row[7]]  # flat empty periods: no bar
        bars = bars_from_table(table, interval)
        assert traded == [(bar.close_time, bar.row()) for bar in bars]
        assert len(bars) > 1 or interval == "1h"


@given(
    st.lists(st.tuples(st.integers(0, 200_000), st.integers(1, 500)), min_size=1, max_size=200),
    st.sampled_from(["1s", "1m"]),
)
def test_price_bars_are_the_bars_ohlc(rows: list[tuple[int, int]], interval: str) -> None:
    """The views' cheap aggregator gives exactly the OHLC of the full one, clocks stepping
    back included (the times here are not sorted)."""
    from hedgehog.market.bars import BarAggregator, PriceAggregator

    full, cheap = BarAggregator("XRPUSDT", interval), PriceAggregator(interval)
    for n, (time, price) in enumerate(rows):
        trade = TradeEvent("XRPUSDT", n, Decimal(price) / 1000, Decimal(1), time, n % 2 == 0)
        closed = full.add(trade)
        got = cheap.add(trade)
        expected = [(b.open_time, b.open, b.high, b.low, b.close) for b in closed]
        assert ([got] if got is not None else []) == expected
        bar = full.current
        assert bar is not None and cheap.current == (
            bar.open_time,
            bar.open,
            bar.high,
            bar.low,
            bar.close,
        )
