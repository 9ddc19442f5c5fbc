"""Streaming replay (issue 14, item 6): the trades replayed chunk by chunk, one window of time
at a time, give the very ledger and figures of all the trades at once — over many synthetic
markets cut anywhere (hypothesis), with chaos kills, in both replay modes, and on the real day
cut into hours. A source that breaks the order (a mutant) is caught by the same check."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgehog.backtest import metrics
from hedgehog.backtest.prices import PriceRecorder, histories_of
from hedgehog.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from hedgehog.backtest.source import Chunk, TablesSource, window
from hedgehog.core.errors import DataError
from hedgehog.core.filters import load_exchange_info, parse_exchange_info
from hedgehog.market.loaders import load_trades
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades
from hedgehog.market.tables import TradeTable
from hedgehog.naive.settings import TradingSettings
from tests.conftest import shared_data_dir

HOUR = 3_600_000
T0 = 1_700_000_000_000  # synthetic_trades' first trade


def stable(r: BacktestResult) -> dict[str, Any]:
    data = r.as_json()
    for key in ("elapsed_s", "ticks_per_s"):
        data.pop(key)
    return data


def _config(names: list[str], chunks: int = 5, kills: int = 0, seed: int = 0) -> BacktestConfig:
    filters = parse_exchange_info(synthetic_exchange_info(names, "0.0001", "0.1"))
    trading = {
        s: TradingSettings.parse(
            s,
            chunks=chunks,
            budget="100",
            buy_down_interval="0.0005",
            profit_interval="0.0005",
            rebuy_interval="0.001",
        )
        for s in names
    }
    return BacktestConfig(trading, filters, chaos_kills=kills, chaos_seed=seed)


def _market(n: int, symbols: int, seed: int, stretch: int = 1) -> dict[str, TradeTable]:
    """Synthetic trades (a few ms apart), their times spread `stretch` times further."""
    names = [f"S{i}USDT" for i in range(symbols)]
    tables = {s: synthetic_trades(s, n, seed + i, volatility=0.002) for i, s in enumerate(names)}
    if stretch == 1:
        return tables
    return {
        s: TradeTable(s, t.trade_id, t.price, t.qty, T0 + (t.time - T0) * stretch, t.buyer_maker)
        for s, t in tables.items()
    }


def _span(tables: dict[str, TradeTable]) -> int:
    return max(int(t.time[-1]) for t in tables.values()) - min(
        int(t.time[0]) for t in tables.values()
    )


def _same_histories(a: BacktestResult, b: BacktestResult) -> None:
    assert a.prices.keys() == b.prices.keys()
    for s, h in a.prices.items():
        g = b.prices[s]
        assert (h.trades, h.first_time, h.last_time, h.first_price, h.last_price) == (
            g.trades,
            g.first_time,
            g.last_time,
            g.first_price,
            g.last_price,
        )
        assert np.array_equal(h.minute_open, g.minute_open)
        assert np.array_equal(h.minute_close, g.minute_close)
        assert (h.interval, h.bars) == (g.interval, g.bars)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(300, 4_000),
    symbols=st.integers(1, 3),
    parts=st.integers(2, 40),
    stretch=st.sampled_from([1, 1_000, 10_000]),
    kills=st.integers(0, 4),
    every_tick=st.booleans(),
)
def test_chunks_replay_as_the_whole(
    seed: int, n: int, symbols: int, parts: int, stretch: int, kills: int, every_tick: bool
) -> None:
    """Cut into `parts` windows; over seconds to hours (minutes, hours and bars across cuts)."""
    tables = _market(n, symbols, seed, stretch)
    config = _config(sorted(tables), kills=kills, seed=seed)
    config.every_tick, config.chart_bars = every_tick, True
    whole = asyncio.run(run_backtest(tables, config))
    streamed = asyncio.run(run_backtest(TablesSource(tables, _span(tables) // parts + 1), config))
    assert stable(streamed) == stable(whole)
    assert streamed.ledger == whole.ledger and streamed.kills == whole.kills
    _same_histories(streamed, whole)
    assert metrics.compute(streamed, None, config) == metrics.compute(whole, None, config)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 1_000),
    n=st.integers(1, 3_000),
    cuts=st.lists(st.floats(0, 1), max_size=6),
    stretch=st.sampled_from([1, 100, 5_000, 50_000]),
)
def test_histories_recorded_in_chunks_are_those_of_the_whole(
    seed: int, n: int, cuts: list[float], stretch: int
) -> None:
    """Cut anywhere (inside a minute, a bar, between symbols' trades), over spans from
    seconds (1s bars) to days (the bars coarsen as the span grows): the same histories."""
    tables = _market(n, 2, seed, stretch)
    first = min(int(t.time[0]) for t in tables.values())
    edges = [None, *sorted({first + int(c * _span(tables)) for c in cuts}), None]
    recorder = PriceRecorder(sorted(tables), bars=True)
    for lo, hi in itertools.pairwise(edges):
        recorder.add({s: window(t, lo, hi) for s, t in tables.items()})
    chunked, whole = recorder.finish(), histories_of(tables)
    for s in tables:
        a, b = chunked[s], whole[s]
        assert (a.trades, a.first_price, a.last_price, a.interval) == (
            b.trades,
            b.first_price,
            b.last_price,
            b.interval,
        )
        assert np.array_equal(a.minute_close, b.minute_close) and a.bars == b.bars


class Mutant:
    """A source that is wrong in one way: `swap` yields the last two windows of
    `TablesSource` the other way round (time order broken); `drop` loses the first trade of
    every window after the first (a reader that loses the row at a cut)."""

    def __init__(self, tables: dict[str, TradeTable], window_ms: int, kind: str) -> None:
        self.inner, self.kind = TablesSource(tables, window_ms), kind

    @property
    def symbols(self) -> list[str]:
        return self.inner.symbols

    def count(self) -> int:
        return self.inner.count()

    def chunks(self) -> Iterator[Chunk]:
        parts = list(self.inner.chunks())
        if self.kind == "swap":
            parts[-2], parts[-1] = parts[-1], parts[-2]
        else:
            parts[1:] = [
                {s: t.slice(min(1, len(t)), len(t)) for s, t in p.items()} for p in parts[1:]
            ]
        yield from parts


def test_the_checks_catch_a_source_out_of_order_or_losing_trades() -> None:
    tables = _market(3_000, 2, 3, stretch=1_000)
    config = _config(sorted(tables))
    whole = asyncio.run(run_backtest(tables, config))
    assert whole.summary.cycles_completed > 10  # a market where something happens
    size = _span(tables) // 8 + 1
    good = asyncio.run(run_backtest(TablesSource(tables, size), config))
    assert stable(good) == stable(whole)
    lossy = asyncio.run(run_backtest(Mutant(tables, size, "drop"), config))
    assert stable(lossy) != stable(whole)
    with pytest.raises(DataError, match="out of time order"):
        asyncio.run(run_backtest(Mutant(tables, size, "swap"), config))


def test_a_chunk_of_an_unknown_symbol_is_refused() -> None:
    tables = _market(100, 1, 1)

    class Stray(TablesSource):
        def chunks(self) -> Iterator[Chunk]:
            yield {"OTHERUSDT": TradeTable.empty("OTHERUSDT")}

    with pytest.raises(ValueError, match="OTHERUSDT"):
        asyncio.run(run_backtest(Stray(tables), _config(sorted(tables))))


def test_the_real_day_in_hours_is_the_real_day() -> None:
    data = shared_data_dir("XRPUSDT-trades-2019-05-25.zip", "exchangeInfo.json")
    tables = load_trades(data / "XRPUSDT-trades-2019-05-25.zip").tables
    filters = load_exchange_info(data / "exchangeInfo.json")
    trading = {"XRPUSDT": TradingSettings("XRPUSDT")}
    config = BacktestConfig(trading, filters, chart_bars=True)
    whole = asyncio.run(run_backtest(tables, config))
    hours = asyncio.run(run_backtest(TablesSource(tables, HOUR), config))
    assert whole.summary.ledger_sha256.startswith("24b4ed0e")
    assert stable(hours) == stable(whole)
    _same_histories(hours, whole)
    assert metrics.compute(hours, None, config) == metrics.compute(whole, tables, config)
