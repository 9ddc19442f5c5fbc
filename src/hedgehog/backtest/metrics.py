"""A backtest's figures a trader can act on: pure functions of the ledger, the trades and the
settings (no I/O). Per symbol and for the whole run (symbols added up, money in their quote
assets as numbers):

- `net_pnl`: realised + unrealised PnL (`ledger.summarise`'s formulas); `fees`: fees paid.
- `capital`: the quote budget each symbol was given (its settings' `budget`; summed for the
  run); `return_pct` = net_pnl / capital × 100.
- equity: capital + the PnL curve of `report_model.quote_panels` (realised at each sell fill,
  bought-and-unsold chunks marked at the last trade price at or before each time, net of the
  selling fee: the close of the 1 m bar of `bars_from_table(table, "1m")` holding that time),
  sampled at the end of every minute of the data's span, starting from the capital.
- `max_drawdown`: the largest fall of that per-minute equity from a previous peak (quote
  amount) and `max_drawdown_pct` that fall over the peak × 100.
- `sharpe` and `sortino`: of the hourly equity returns r_i = V_i / V_{i-1} - 1 (V sampled at
  each hour's end, V_0 = capital at the span's start), risk-free rate 0, annualised:
  sharpe = mean(r) / std(r, ddof=1) × sqrt(24 × 365); sortino = mean(r) / sqrt(mean(min(r, 0)²))
  × sqrt(24 × 365). Null, with the reason in `null_reasons`, when fewer than two returns, a zero
  deviation, no negative return (sortino) or no capital.
- `win_rate`: completed cycles whose PnL (`core.pnl.cycle_pnl`) is > 0, over completed cycles.
- `avg_cycle_s`, `median_cycle_s`: completed cycles from their first order to their sell fill.
- `exposure`: the share of the span (first to last trade) during which a position was held
  (from a buy fill to its sell fill, or to the end).
- `buy_hold_pnl`, `buy_hold_return_pct`: the capital spent at the first trade's price paying
  the fee (qty = capital / (p0 × (1 + fee))), marked at the last trade's price net of the fee.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from hedgehog.backtest.ledger import summarise
from hedgehog.backtest.prices import PriceHistory, data_span
from hedgehog.backtest.report_bars import interval_ends
from hedgehog.backtest.report_model import Cycle, Data, group_cycles, prices_of, quote_panels
from hedgehog.backtest.runner import BacktestConfig, BacktestResult
from hedgehog.core.decimals import ONE, ZERO, fmt
from hedgehog.core.pnl import cycle_pnl
from hedgehog.market.tables import SCALE

HOURS_A_YEAR = 24 * 365
MONEY = Decimal("0.00000001")


@dataclass
class Metrics:
    """The figures of one symbol or of the run (see the module's docstring)."""

    net_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    capital: Decimal | None = None
    return_pct: float | None = None
    max_drawdown: Decimal | None = None
    max_drawdown_pct: float | None = None
    sharpe: float | None = None
    sortino: float | None = None
    cycles_completed: int = 0
    win_rate: float | None = None
    avg_cycle_s: float | None = None
    median_cycle_s: float | None = None
    exposure: float | None = None
    buy_hold_pnl: Decimal | None = None
    buy_hold_return_pct: float | None = None
    null_reasons: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in vars(self).items():
            if isinstance(value, Decimal):
                out[key] = fmt(value.quantize(MONEY))
            elif isinstance(value, float):
                out[key] = round(value, 6)
            else:
                out[key] = value
        return out


@dataclass(frozen=True)
class RunMetrics:
    run: Metrics
    symbols: dict[str, Metrics]

    def as_json(self) -> dict[str, Any]:
        return {
            "metrics": self.run.as_json(),
            "symbols": {s: m.as_json() for s, m in self.symbols.items()},
        }


@dataclass(frozen=True)
class EquityCurve:
    """Each symbol's PnL (quote asset, float: marked at the trades' prices) at the end of
    every `interval` of the data's span (`times`, ms; the last one cut at the last trade), and
    each symbol's capital (None: its settings have no budget). Equity is capital + PnL; the
    metrics start it from the capital at `start` (the first trade's time; None: no trades)."""

    times: np.ndarray
    pnl: dict[str, np.ndarray]
    capital: dict[str, Decimal | None]
    start: int | None = None

    def equity(self, symbol: str) -> np.ndarray:
        """capital + PnL of `symbol` (PnL alone without a capital)."""
        return float(self.capital[symbol] or 0) + self.pnl[symbol]

    def total(self) -> np.ndarray:
        """The symbols' equities added up (one quote asset assumed, as the run's metrics)."""
        return sum((self.equity(s) for s in self.pnl), np.zeros(len(self.times)))


def equity_curve(
    result: BacktestResult, config: BacktestConfig, data: Data = None, interval: str = "1m"
) -> EquityCurve:
    """The equity curve the metrics read (per minute for the drawdown, per hour for Sharpe
    and Sortino): the report's PnL formula (`report_model.quote_panels`) on every interval's
    end. `data` may be None: the result's price histories."""
    prices = prices_of(result, data)
    cycles = group_cycles(result.ledger)
    span = data_span(prices)
    grid = interval_ends(*span, interval) if span is not None else np.zeros(0, dtype=np.int64)
    symbols = sorted(prices)
    return EquityCurve(
        times=grid,
        pnl={s: _equity(s, cycles.get(s, []), prices, config, grid) for s in symbols},
        capital={s: _capital(config.settings[s]) for s in symbols},
        start=None if span is None else span[0],
    )


def compute(result: BacktestResult, data: Data, config: BacktestConfig) -> RunMetrics:
    """The run's and each symbol's metrics (`data` and `config` as given to `run_backtest`;
    `data` may be None: the result's price histories)."""
    prices = prices_of(result, data)
    symbols = sorted(prices)
    cycles = group_cycles(result.ledger)
    span = data_span(prices)
    minutes = equity_curve(result, config, prices, "1m")
    hours = equity_curve(result, config, prices, "1h")
    per: dict[str, Metrics] = {}
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for s in symbols:
        fee = config.settings[s].fee
        summary = summarise(
            [o for o in result.ledger if o.symbol == s],
            {s: fee},
            result.last_prices,
            result.paid_in_coins,
        )
        capital = _capital(config.settings[s])
        m = Metrics(net_pnl=summary.realised_pnl + summary.unrealised_pnl, fees=summary.fees_paid)
        own = cycles.get(s, [])
        curve = (minutes.pnl[s], hours.pnl[s])
        curves[s] = curve
        _fill(m, capital, curve, own, {s: fee}, span)
        m.buy_hold_pnl = buy_and_hold(prices[s], capital, fee) if capital else None
        if m.buy_hold_pnl is not None and capital:
            m.buy_hold_return_pct = float(m.buy_hold_pnl / capital * 100)
        elif capital:
            m.null_reasons["buy_hold_pnl"] = "no trades"
        per[s] = m
    run = Metrics(
        net_pnl=result.summary.realised_pnl + result.summary.unrealised_pnl,
        fees=result.summary.fees_paid,
    )
    capitals = [_capital(config.settings[s]) for s in symbols]
    capital = sum((c for c in capitals if c), ZERO) if all(capitals) and capitals else None
    total = (
        sum((curves[s][0] for s in symbols), np.zeros(len(minutes.times))),
        sum((curves[s][1] for s in symbols), np.zeros(len(hours.times))),
    )
    every = [c for s in symbols for c in cycles.get(s, [])]
    _fill(run, capital, total, every, {s: config.settings[s].fee for s in symbols}, span)
    holds = [per[s].buy_hold_pnl for s in symbols]
    if capital and all(h is not None for h in holds):
        run.buy_hold_pnl = sum((h for h in holds if h is not None), ZERO)
        run.buy_hold_return_pct = float(run.buy_hold_pnl / capital * 100)
    return RunMetrics(run=run, symbols=per)


def _capital(settings: Any) -> Decimal | None:
    budget = getattr(settings, "budget", None)
    return Decimal(budget) if budget is not None and Decimal(budget) > 0 else None


def _equity(
    symbol: str,
    cycles: list[Cycle],
    prices: Mapping[str, PriceHistory],
    config: BacktestConfig,
    grid: np.ndarray,
) -> np.ndarray:
    """The symbol's PnL on `grid`: the report's equity curve (one formula for both)."""
    if not len(grid):
        return np.zeros(0)
    return quote_panels([symbol], {symbol: cycles}, prices, config, grid)[0].equity


def _fill(
    m: Metrics,
    capital: Decimal | None,
    curves: tuple[np.ndarray, np.ndarray],
    cycles: list[Cycle],
    fees: Mapping[str, Decimal],
    span: tuple[int, int] | None,
) -> None:
    """Set everything but the PnL, the fees and buy-and-hold."""
    m.capital = capital
    done = [c for c in cycles if c.completed and c.buy is not None and c.sell is not None]
    m.cycles_completed = len(done)
    if capital is None:
        for key in ("return_pct", "max_drawdown", "sharpe", "sortino", "buy_hold_pnl"):
            m.null_reasons[key] = "no capital: the strategy's settings have no budget"
    else:
        m.return_pct = float(m.net_pnl / capital * 100)
        dd, dd_pct = max_drawdown(float(capital) + np.concatenate(([0.0], curves[0])))
        m.max_drawdown = Decimal(repr(round(dd, 8)))
        m.max_drawdown_pct = dd_pct
        values = float(capital) + np.concatenate(([0.0], curves[1]))
        m.sharpe, why = sharpe(hourly_returns(values))
        if why:
            m.null_reasons["sharpe"] = why
        m.sortino, why = sortino(hourly_returns(values))
        if why:
            m.null_reasons["sortino"] = why
    if done:
        wins = 0
        for c in done:
            assert c.buy is not None and c.sell is not None
            pnl = cycle_pnl(c.sell.executed_qty, c.buy.price, c.sell.price, fees[c.buy.symbol])
            wins += pnl > 0
        m.win_rate = wins / len(done)
        took = [(c.sell.update_time - c.start_ms) / 1000 for c in done if c.sell is not None]
        m.avg_cycle_s = float(np.mean(took))
        m.median_cycle_s = float(np.median(took))
    else:
        for key in ("win_rate", "avg_cycle_s", "median_cycle_s"):
            m.null_reasons[key] = "no completed cycle"
    if span is None or span[1] <= span[0]:
        m.null_reasons["exposure"] = "the data spans no time"
    else:
        m.exposure = exposure(held_intervals(cycles, span[1]), *span)


def max_drawdown(values: np.ndarray) -> tuple[float, float | None]:
    """The largest fall of `values` from an earlier peak, and that fall over the peak × 100."""
    if not len(values):
        return 0.0, None
    peaks = np.maximum.accumulate(values)
    falls = peaks - values
    i = int(np.argmax(falls))
    pct = float(falls[i] / peaks[i] * 100) if peaks[i] > 0 else None
    return float(falls[i]), pct


def hourly_returns(values: np.ndarray) -> np.ndarray:
    """r_i = V_i / V_{i-1} - 1."""
    values = np.asarray(values, dtype=np.float64)
    return values[1:] / values[:-1] - 1 if len(values) > 1 else np.zeros(0)


def sharpe(returns: np.ndarray) -> tuple[float | None, str | None]:
    """mean / std (ddof 1) × sqrt(24 × 365), risk-free 0; (None, why) when undefined."""
    if len(returns) < 2:
        return None, f"{len(returns)} hourly return(s): at least 2 are needed"
    std = float(np.std(returns, ddof=1))
    if std == 0:
        return None, "hourly returns do not vary (zero deviation)"
    return float(np.mean(returns)) / std * math.sqrt(HOURS_A_YEAR), None


def sortino(returns: np.ndarray) -> tuple[float | None, str | None]:
    """mean / sqrt(mean(min(r, 0)²)) × sqrt(24 × 365); (None, why) when undefined."""
    if len(returns) < 2:
        return None, f"{len(returns)} hourly return(s): at least 2 are needed"
    down = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    if down == 0:
        return None, "no negative hourly return (zero downside deviation)"
    return float(np.mean(returns)) / down * math.sqrt(HOURS_A_YEAR), None


def held_intervals(cycles: list[Cycle], end_ms: int) -> list[tuple[int, int]]:
    """From each filled buy to its sell fill (or `end_ms` when unsold)."""
    out = []
    for c in cycles:
        if not c.bought or c.buy is None:
            continue
        end = c.sell.update_time if c.completed and c.sell is not None else end_ms
        out.append((c.buy.update_time, end))
    return out


def exposure(intervals: list[tuple[int, int]], first: int, last: int) -> float:
    """The share of [first, last] covered by the union of `intervals`."""
    covered, reach = 0, first
    for start, end in sorted(intervals):
        start, end = max(start, reach), min(end, last)
        if end > start:
            covered += end - start
            reach = end
    return covered / (last - first)


def buy_and_hold(history: PriceHistory, capital: Decimal, fee: Decimal) -> Decimal | None:
    """PnL of spending `capital` at the first trade's price and marking it at the last's."""
    if history.first_price is None or history.last_price is None:
        return None
    first = Decimal(history.first_price) / SCALE
    last = Decimal(history.last_price) / SCALE
    qty = capital / (first * (ONE + fee))
    return qty * last * (ONE - fee) - capital


__all__ = [
    "HOURS_A_YEAR",
    "EquityCurve",
    "Metrics",
    "RunMetrics",
    "buy_and_hold",
    "compute",
    "equity_curve",
    "exposure",
    "held_intervals",
    "hourly_returns",
    "max_drawdown",
    "sharpe",
    "sortino",
]
