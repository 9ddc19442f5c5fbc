"""The data of a backtest report, no HTML: the ledger's cycles and the series drawn from them.

`build_model` reads a finished backtest once: its orders grouped into trader cycles (a buy
and, once it filled, its sell), the per-symbol summaries, and, when the data holds trades,
every chart's data (price bars, PnL over time, cycle lanes). `report_page` turns a model
into HTML and `report_charts` draws its charts; both only read it.

The trades are read through their price histories (`backtest.prices`: what a replay keeps of
them, so a streamed backtest needs no tables). Prices are the bars the rest of hedgehog uses
(`hedgehog.market.bars.bars_from_table`, exact Decimals, Binance's kline intervals, recorded
as the replay goes), so the report shows the very candles a strategy on bars or the
simulator's klines would: at `report_bars.chart_interval`, the smallest kline interval
that gives at most MAX_BARS bars over the data's span, so a chart of a 10M-trade backtest is
as light as that of a small one. PnL over time uses the ledger's formulas (`hedgehog.core.pnl`)
on the same intervals: realised at each completed cycle's sell fill, unrealised for
bought-and-unsold chunks at the last price at each interval's end, net of the selling fee;
the last point is at the last trade and equals the summary's realised + unrealised PnL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from hedgehog.backtest.ledger import LedgerSummary, cycle_key, summarise
from hedgehog.backtest.prices import PriceHistory, as_histories, data_span
from hedgehog.backtest.report_bars import MAX_BARS, chart_interval, interval_ends, intervals_spanned
from hedgehog.backtest.report_series import (
    CycleLanes,
    FloatArray,
    IntArray,
    PnlPanel,
    PriceChart,
)
from hedgehog.backtest.runner import BacktestConfig, BacktestResult
from hedgehog.core.client_ids import trader_of
from hedgehog.core.decimals import ONE, ZERO
from hedgehog.core.pnl import buy_cost, cycle_pnl
from hedgehog.core.types import Order, OrderStatus, Side
from hedgehog.market.tables import TradeTable

Data = Mapping[str, TradeTable] | Mapping[str, PriceHistory] | None
"""The trades a backtest ran on, their histories, or None: the result's own (`result.prices`)."""


@dataclass
class Cycle:
    """One trader cycle of the ledger: its buy and (once the buy filled) its sell."""

    trader: str
    buy: Order | None = None
    sell: Order | None = None

    @property
    def bought(self) -> bool:
        return self.buy is not None and self.buy.status == OrderStatus.FILLED

    @property
    def completed(self) -> bool:
        return self.bought and self.sell is not None and self.sell.status == OrderStatus.FILLED

    @property
    def start_ms(self) -> int:
        return min(o.time for o in (self.buy, self.sell) if o is not None)


@dataclass(frozen=True)
class SymbolFigures:
    """One symbol's row of the results: its ledger summary, how many traders ran and the
    median time from a completed cycle's first order to its sell fill (None: none done)."""

    summary: LedgerSummary
    traders: int
    median_cycle_ms: float | None


@dataclass(frozen=True)
class ChartData:
    """What the charts draw: `view` is the time axis (ms); prices are bars of `interval`
    (a Binance kline interval), and `intervals` of them tile the data's span."""

    view: tuple[int, int]
    interval: str
    intervals: int
    prices: list[PriceChart]
    panels: list[PnlPanel]
    lanes: list[CycleLanes]


@dataclass(frozen=True)
class ReportModel:
    """A backtest read for its report. `span` is the first and last trade time of all the
    data (ms), None without trades; then `charts` is None too."""

    result: BacktestResult
    prices: dict[str, PriceHistory]
    config: BacktestConfig
    symbols: list[str]
    cycles: dict[str, list[Cycle]]
    span: tuple[int, int] | None
    unit: str
    total_pnl: Decimal
    per_symbol: dict[str, SymbolFigures]
    charts: ChartData | None


def prices_of(result: BacktestResult, data: Data, bars: bool = False) -> dict[str, PriceHistory]:
    """The price histories of a run: the result's own (a replay records them; with `bars`,
    only if it recorded the charts' bars), else those of `data`."""
    own = result.prices
    if own and (not bars or all(h.bars is not None for h in own.values())):
        return own
    if data is None:
        what = "its charts' bars (BacktestConfig.chart_bars)" if own else "price histories"
        raise ValueError(f"this result has no {what}: give the trades it ran on")
    return as_histories(data, bars)


def build_model(result: BacktestResult, data: Data, config: BacktestConfig) -> ReportModel:
    """The report's data of a backtest (`data` and `config` as given to `run_backtest`)."""
    prices = prices_of(result, data, bars=True)
    symbols = sorted(prices)
    cycles = group_cycles(result.ledger)
    span = data_span(prices)
    quotes = sorted({config.filters[s].quote_asset or "quote asset" for s in symbols})
    summary = result.summary
    fees = {s: config.settings[s].fee for s in symbols}
    per_symbol = {
        s: _symbol_figures(
            summarise([o for o in result.ledger if o.symbol == s], fees, result.last_prices),
            cycles.get(s, []),
        )
        for s in symbols
    }
    charts = None
    if span is not None:
        interval = chart_interval(*span)
        grid = interval_ends(*span, interval)
        charts = ChartData(
            view=padded(span),
            interval=interval,
            intervals=len(grid),
            prices=[
                price_chart(s, prices[s], cycles.get(s, []), config, interval, span[1])
                for s in symbols
            ],
            panels=quote_panels(symbols, cycles, prices, config, grid),
            lanes=[cycle_lanes(s, cycles.get(s, []), span[1]) for s in symbols],
        )
    return ReportModel(
        result=result,
        prices=prices,
        config=config,
        symbols=symbols,
        cycles=cycles,
        span=span,
        unit=quotes[0] if len(quotes) == 1 else "quote asset",
        total_pnl=summary.realised_pnl + summary.unrealised_pnl,
        per_symbol=per_symbol,
        charts=charts,
    )


def _symbol_figures(summary: LedgerSummary, cycles: list[Cycle]) -> SymbolFigures:
    done = [c for c in cycles if c.completed and c.sell is not None]
    took = [c.sell.update_time - c.start_ms for c in done if c.sell is not None]
    return SymbolFigures(
        summary=summary,
        traders=len({c.trader for c in cycles}),
        median_cycle_ms=float(np.median(took)) if took else None,
    )


def group_cycles(ledger: Iterable[Order]) -> dict[str, list[Cycle]]:
    """Cycles per symbol, in the order their first order was placed."""
    by_key: dict[str, Cycle] = {}
    out: dict[str, list[Cycle]] = {}
    for o in sorted(ledger, key=lambda o: o.order_id):
        key = cycle_key(o)
        cycle = by_key.get(key)
        if cycle is None:
            cycle = by_key[key] = Cycle(trader_of(o.client_order_id) or o.client_order_id)
            out.setdefault(o.symbol, []).append(cycle)
        if o.side == Side.BUY:
            cycle.buy = o
        else:
            cycle.sell = o
    return out


def padded(span: tuple[int, int]) -> tuple[int, int]:
    """The charts' time axis: the span and a margin on each side."""
    pad = max(500, (span[1] - span[0]) // 100)
    return span[0] - pad, span[1] + pad


def price_chart(
    symbol: str,
    history: PriceHistory,
    cycles: list[Cycle],
    config: BacktestConfig,
    interval: str,
    end_ms: int,
) -> PriceChart:
    """The symbol's bars of `interval` (its history's), our fills and the orders still open at
    the data's end (`end_ms`, where they are marked)."""
    if history.bars and history.interval != interval:
        raise ValueError(f"{symbol}'s history has {history.interval} bars, not {interval}")
    filters = config.filters[symbol]
    fills: dict[Side, list[Order]] = {Side.BUY: [], Side.SELL: []}
    open_orders: dict[Side, list[tuple[int, float]]] = {Side.BUY: [], Side.SELL: []}
    for c in cycles:
        for o in (c.buy, c.sell):
            if o is None:
                continue
            if o.status == OrderStatus.FILLED:
                fills[o.side].append(o)
            elif o.status.is_open:
                open_orders[o.side].append((o.time, float(o.price)))
    buys, sells = fills[Side.BUY], fills[Side.SELL]
    return PriceChart(
        symbol=symbol,
        base=filters.base_asset or "base asset",
        quote=filters.quote_asset or "quote asset",
        bars=history.bars or [],
        buy_ms=np.array([o.update_time for o in buys], dtype=np.int64),
        buy_price=np.array([float(o.price) for o in buys], dtype=np.float64),
        sell_ms=np.array([o.update_time for o in sells], dtype=np.int64),
        sell_price=np.array([float(o.price) for o in sells], dtype=np.float64),
        end_ms=end_ms,
        open_buys=open_orders[Side.BUY],
        open_sells=open_orders[Side.SELL],
    )


def _sum_at(times: Sequence[int], values: Sequence[float], at: IntArray) -> FloatArray:
    """For each time in `at`, the sum of the values whose time is <= it."""
    if not len(times):
        return np.zeros(len(at), dtype=np.float64)
    t = np.asarray(times, dtype=np.int64)
    order = np.argsort(t, kind="stable")
    total = np.cumsum(np.asarray(values, dtype=np.float64)[order])
    i = np.searchsorted(t[order], at, "right")
    return np.where(i > 0, total[np.maximum(i - 1, 0)], 0.0)


def pnl_panels(result: BacktestResult, data: Data, config: BacktestConfig) -> list[PnlPanel]:
    """Realised PnL and equity over time, one panel per quote asset (what the PnL chart
    shows); the last equity point is the summary's realised + unrealised PnL."""
    prices = prices_of(result, data, bars=True)
    span = data_span(prices)
    if span is None:
        return []
    grid = interval_ends(*span, chart_interval(*span))
    return quote_panels(sorted(prices), group_cycles(result.ledger), prices, config, grid)


def quote_panels(
    symbols: list[str],
    cycles: Mapping[str, list[Cycle]],
    prices: Mapping[str, PriceHistory],
    config: BacktestConfig,
    grid: IntArray,
) -> list[PnlPanel]:
    """Realised and equity curves on `grid` (ms: interval ends, see `PriceHistory.price_at`),
    one panel per quote asset."""
    quotes: dict[str, list[str]] = {}
    for s in symbols:
        quotes.setdefault(config.filters[s].quote_asset or "quote asset", []).append(s)
    panels = []
    for quote, group in sorted(quotes.items()):
        unrealised = np.zeros(len(grid), dtype=np.float64)
        steps: list[tuple[int, Decimal]] = []
        for s in group:
            fee = config.settings[s].fee
            held_t: list[int] = []
            held_q: list[float] = []
            held_cost: list[float] = []
            for c in cycles.get(s, []):
                if not c.bought or c.buy is None:
                    continue
                buy = c.buy
                q, cost = float(buy.executed_qty), float(buy_cost(buy.executed_qty, buy.price, fee))
                held_t.append(buy.update_time)
                held_q.append(q)
                held_cost.append(cost)
                if c.completed and c.sell is not None:
                    sell = c.sell
                    qs = sell.executed_qty
                    pnl = cycle_pnl(qs, buy.price, sell.price, fee)
                    steps.append((sell.update_time, pnl))
                    held_t.append(sell.update_time)
                    held_q.append(-q)
                    held_cost.append(-cost)
            value = prices[s].price_at(grid) * _sum_at(held_t, held_q, grid) * float(ONE - fee)
            unrealised += value - _sum_at(held_t, held_cost, grid)
        steps.sort(key=lambda step: step[0])
        realised = _sum_at([t for t, _ in steps], [float(p) for _, p in steps], grid)
        running, exact = ZERO, []
        for _, p in steps:
            running += p
            exact.append(float(running))
        panels.append(
            PnlPanel(
                quote=quote,
                grid_ms=grid,
                realised=realised,
                equity=realised + unrealised,
                step_ms=np.array([t for t, _ in steps], dtype=np.int64),
                step_realised=np.array(exact, dtype=np.float64),
            )
        )
    return panels


def cycle_lanes(symbol: str, cycles: list[Cycle], end_ms: int) -> CycleLanes:
    """The symbol's cycles as bars, each in the first lane free when it starts."""
    ordered = sorted(cycles, key=lambda c: c.start_ms)
    lane_free: list[int] = []  # per lane: when its last bar ends
    rows: list[tuple[int, int, int, int, bool, bool]] = []
    for c in ordered:
        start = c.start_ms
        filled = c.buy.update_time if c.bought and c.buy is not None else -1
        dead = filled < 0 and c.buy is not None and c.buy.status.is_dead
        if c.completed and c.sell is not None:
            end = c.sell.update_time
        elif dead and c.buy is not None:
            end = c.buy.update_time
        else:
            end = end_ms
        lane = next((i for i, free in enumerate(lane_free) if free <= start), len(lane_free))
        if lane == len(lane_free):
            lane_free.append(end)
        lane_free[lane] = end
        rows.append((lane, start, filled, end, c.completed, dead))
    columns = list(zip(*rows, strict=True)) if rows else [()] * 6
    return CycleLanes(
        symbol=symbol,
        lane=np.array(columns[0], dtype=np.int64),
        start_ms=np.array(columns[1], dtype=np.int64),
        filled_ms=np.array(columns[2], dtype=np.int64),
        end_ms=np.array(columns[3], dtype=np.int64),
        completed=np.array(columns[4], dtype=np.bool_),
        dead=np.array(columns[5], dtype=np.bool_),
        labels=[f"#{c.trader}" for c in ordered],
    )


__all__ = [
    "MAX_BARS",
    "ChartData",
    "Cycle",
    "ReportModel",
    "SymbolFigures",
    "build_model",
    "chart_interval",
    "cycle_lanes",
    "data_span",
    "group_cycles",
    "interval_ends",
    "intervals_spanned",
    "padded",
    "pnl_panels",
    "price_chart",
    "prices_of",
    "quote_panels",
]
