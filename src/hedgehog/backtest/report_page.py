"""The report's HTML page, made from a `ReportModel` (`report_model`) and its charts' PNGs.

The page needs nothing else: CSS is inline and the charts are embedded as data URIs, so it
still works when moved or mailed; no script, no font, nothing fetched. It explains the
strategy, every summary figure, the settings and the data, for a reader who has never seen
hedgehog. Its fixed text (CSS, explanations, chart captions) lives in `templates/*.html`,
filled with `string.Template`; every template is whole lines, and a fragment goes where a
line starts. The tables, built from the model, are made here. Every value shown is escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from string import Template
from typing import Any

from hedgehog.backtest.ledger import LedgerSummary
from hedgehog.backtest.report_model import MAX_BARS, ChartData, ReportModel
from hedgehog.core.decimals import fmt

FIELDS: dict[str, tuple[str, str]] = {
    "ticks": ("trades replayed", "Public trades of the market data, all symbols together."),
    "orders_placed": ("orders placed", "Orders our traders placed, buys and sells."),
    "buys_filled": ("buys filled", "Buy orders that filled completely: chunks bought."),
    "sells_filled": ("sells filled", "Sell orders that filled completely: chunks sold."),
    "cycles_completed": (
        "cycles completed",
        "Buy-then-sell round trips that finished; each one realised its profit or loss.",
    ),
    "open_buy_orders": ("open buy orders", "Buy orders still waiting when the data ended."),
    "open_sell_orders": (
        "open sell orders",
        "Sell orders still waiting when the data ended: chunks bought and not sold yet.",
    ),
    "realised_pnl": (
        "realised PnL",
        "Profit or loss locked in by completed cycles, after both fees: "
        "qty × sell price × (1 − fee) − qty × buy price × (1 + fee).",
    ),
    "unrealised_pnl": (
        "unrealised PnL",
        "Paper profit or loss of the chunks still held: their value at the last price, net of "
        "the selling fee, minus what they cost with the buying fee. Not locked in.",
    ),
    "fees_paid": ("fees paid", "Exchange fees on every fill: value of the fill × fee rate."),
    "ledger_sha256": (
        "ledger fingerprint",
        "SHA-256 of every order; the same data and settings always give the same value.",
    ),
    "traders_started": (
        "traders started",
        "Traders the strategy started; each runs one cycle and a fresh one replaces it.",
    ),
    "restarts": (
        "restarts",
        "Traders restarted after a crash or a deliberate (chaos) kill; they resume their cycle.",
    ),
    "elapsed_s": ("run time (s)", "Wall-clock seconds the backtest took; depends on the machine."),
    "ticks_per_s": ("speed (trades/s)", "Trades replayed per second of run time."),
    "halted": (
        "halted",
        "Symbols run with max_loss: where their PnL fell below -max_loss (no buy after), or None.",
    ),
}
"""Each summary figure (`BacktestResult.as_json()` key): its label and what it means."""
_MONEY = ("realised_pnl", "unrealised_pnl", "fees_paid")
SETTINGS: dict[str, str] = {
    "chunks": "traders per symbol: the budget is split in this many equal chunks",
    "budget": "amount of the quote asset the symbol may spend, all chunks together",
    "buy_down_interval": "a buy is placed this fraction below the current price",
    "profit_interval": "a sell is placed this fraction above the buy price, after both fees",
    "rebuy_interval": "a fall of this fraction below a buy starts one more trader",
    "fee": "exchange fee rate charged on each fill",
}
"""Each strategy setting and what it means."""


@cache
def template(name: str) -> Template:
    """`templates/<name>` of this package (shipped as package data)."""
    text = files("hedgehog.backtest").joinpath("templates", name).read_text(encoding="utf-8")
    return Template(text)


def render_page(model: ReportModel, charts: Mapping[str, bytes]) -> str:
    """The whole page; `charts` are the PNGs written beside it, by file name."""
    result, symbols, span, unit = model.result, model.symbols, model.span, model.unit
    summary = result.summary
    when = (
        f" replayed from <b>{_utc(span[0])}</b> to <b>{_utc(span[1])}</b> "
        f"({duration(span[1] - span[0])})"
        if span is not None
        else ": the data holds no trades"
    )
    figures = ""
    if charts and span is not None and model.charts is not None:
        figures = _figures(symbols, charts, unit, model.charts)
    return template("report.html").substitute(
        title=_e(", ".join(symbols)),
        ticks=f"{result.ticks:,}",
        symbol_count=_symbols(len(symbols)),
        symbol_list=_e(", ".join(symbols)) or "none",
        when=when,
        cycles=f"{summary.cycles_completed:,}",
        total=_e(fmt(model.total_pnl)),
        unit=_e(unit),
        realised=_e(fmt(summary.realised_pnl)),
        unrealised=_e(fmt(summary.unrealised_pnl)),
        fees=_e(fmt(summary.fees_paid)),
        notice=_notice(summary, result.ticks) + _halts(result.halted),
        summary=_summary_table(model),
        metrics=_metrics_table(model),
        settings=_settings_table(model),
        per_symbol=_symbol_table(model),
        figures=figures,
        chart_files=_e(", ".join(charts)) or "none (no trades)",
    )


def duration(ms: float) -> str:
    """A readable duration: 850 ms, 12.3 s, 4 min 05 s, 3 h 02 min, 2 d 04 h."""
    s = ms / 1000
    if s < 1:
        return f"{ms:.0f} ms"
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(s), 60)
    h, m = divmod(m, 60)
    d, h = divmod(h, 24)
    if d:
        return f"{d} d {h:02d} h"
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s"


# -- values as text ------------------------------------------------------------------------------
def _e(value: object) -> str:
    return html.escape(str(value))


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _symbols(n: int) -> str:
    return f"{n} symbol{'s' * (n != 1)}"


def _num(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _pct(value: Decimal) -> str:
    return f"{fmt(value)} ({fmt(value * 100)} %)"


# -- tables --------------------------------------------------------------------------------------
def _rows(rows: Iterable[Sequence[str]], header: Sequence[str]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(cells) + "</tr>" for cells in rows)
    return f'<div class="wide"><table><tr>{head}</tr>{body}</table></div>'


def _td(value: object, numeric: bool = True) -> str:
    return f'<td class="n">{_e(value)}</td>' if numeric else f"<td>{_e(value)}</td>"


def _notice(summary: LedgerSummary, ticks: int) -> str:
    if summary.orders_placed == 0:
        why = (
            "the data holds no trades"
            if ticks == 0
            else "no trader found a price to buy at (check the budget per chunk against the "
            "symbol's minimum order size)"
        )
        text = f"No orders were placed in this run: {why}. Nothing was bought or sold."
    elif summary.buys_filled == 0:
        text = (
            "Orders were placed but none filled: the price never came down to our buy orders "
            "(they are drawn as open orders in the price charts). Nothing was bought, so "
            "there is no profit or loss."
        )
    elif summary.cycles_completed == 0:
        text = (
            "No cycle completed: chunks were bought but the price never rose to their sell "
            "orders, so all of the PnL is unrealised."
        )
    else:
        return ""
    return f'<p class="note"><b>Note.</b> {_e(text)}</p>'


def _halts(halted: Mapping[str, Any]) -> str:
    """A line per symbol the max-loss control halted (none without the control)."""
    lines = [
        f'<p class="note"><b>{_e(symbol)} halted.</b> {_e(h["reason"])} at {_utc(h["time"])}; '
        "no buy was placed after it.</p>"
        for symbol, h in sorted(halted.items())
        if h
    ]
    return "".join(lines)


def _summary_table(model: ReportModel) -> str:
    unit = model.unit
    rows = []
    for key, value in model.result.as_json().items():
        label, meaning = FIELDS.get(key, (key.replace("_", " "), ""))
        shown = f"{_num(value)} {unit}" if key in _MONEY else _num(value)
        cell = _td(shown, numeric=key != "ledger_sha256")
        rows.append([f"<td>{_e(label)}<br><code>{_e(key)}</code></td>", cell, _td(meaning, False)])
    rows.append(
        [
            _td("total PnL", False),
            _td(f"{fmt(model.total_pnl)} {unit}"),
            _td("realised + unrealised: the result if every held chunk were sold now.", False),
        ]
    )
    rows.append(
        [
            _td("chaos kills", False),
            _td(model.result.kills),
            _td("Processes killed on purpose to test recovery (0 unless asked for).", False),
        ]
    )
    return _rows(rows, ["figure", "value", "meaning"])


_METRICS: dict[str, tuple[str, str]] = {
    "net_pnl": ("net PnL", "Realised + unrealised PnL, after fees."),
    "fees": ("fees", "Fees paid on every fill."),
    "capital": ("capital", "The quote budget each symbol was given (summed for the run)."),
    "return_pct": ("return %", "Net PnL over the capital, in percent."),
    "max_drawdown": ("max drawdown", "Largest fall of per-minute equity from an earlier peak."),
    "max_drawdown_pct": ("max drawdown %", "That fall over the peak's equity, in percent."),
    "sharpe": ("Sharpe", "mean / standard deviation of hourly returns × √(24×365)."),
    "sortino": ("Sortino", "mean / downside deviation of hourly returns × √(24×365)."),
    "cycles_completed": ("cycles completed", "Buys whose sell filled."),
    "win_rate": ("win rate", "Share of completed cycles with a profit."),
    "avg_cycle_s": ("average cycle", "From a cycle's first order to its sell fill."),
    "median_cycle_s": ("median cycle", "From a cycle's first order to its sell fill."),
    "exposure": ("exposure", "Share of the data's span with a position held."),
    "buy_hold_pnl": ("buy and hold PnL", "The capital bought at the first price, held."),
    "buy_hold_return_pct": ("buy and hold return %", "Buy and hold's PnL over the capital."),
}


def _metric_cell(key: str, figures: dict[str, Any]) -> str:
    value = figures.get(key)
    if value is None:
        why = figures["null_reasons"].get(key)
        return _td(f"n/a ({why})" if why else "n/a")
    if key in ("avg_cycle_s", "median_cycle_s"):
        return _td(duration(value * 1000))
    if key in ("win_rate", "exposure"):
        return _td(f"{value * 100:.2f} %")
    if isinstance(value, float):
        return _td(f"{value:.4f}" if "pct" not in key else f"{value:.4f} %")
    return _td(_num(value))


def _metrics_table(model: ReportModel) -> str:
    from hedgehog.backtest.metrics import compute

    figures = compute(model.result, model.prices, model.config).as_json()
    columns = [("run", figures["metrics"])]
    if len(model.symbols) > 1:
        columns += [(s, figures["symbols"][s]) for s in model.symbols]
    rows = [
        [_td(label, False), *(_metric_cell(key, f) for _, f in columns), _td(meaning, False)]
        for key, (label, meaning) in _METRICS.items()
    ]
    return _rows(rows, ["metric", *(_e(c) for c, _ in columns), "meaning"])


def _settings_table(model: ReportModel) -> str:
    def row(label: str, values: Iterable[object], meaning: str = "") -> list[str]:
        return [_td(label, False), *(_td(v) for v in values), _td(meaning, False)]

    symbols = model.symbols
    t = [model.prices[s] for s in symbols]
    last = model.result.last_prices
    f = [model.config.filters[s] for s in symbols]
    st = [model.config.settings[s] for s in symbols]
    rows = [
        row("base / quote asset", (f"{x.base_asset} / {x.quote_asset}" for x in f)),
        row("trades", (f"{x.trades:,}" for x in t)),
        row("first trade", (_utc(x.first_time) if x.first_time is not None else "-" for x in t)),
        row("last trade", (_utc(x.last_time) if x.last_time is not None else "-" for x in t)),
        row("last price", (fmt(p) if (p := last.get(s)) is not None else "-" for s in symbols)),
        row("tick size", (fmt(x.tick_size) for x in f), "prices are multiples of it"),
        row("step size", (fmt(x.step_size) for x in f), "quantities are multiples of it"),
        row("min notional", (fmt(x.min_notional) for x in f), "smallest order value allowed"),
    ]
    if all(type(x).__name__ == "TradingSettings" for x in st):  # naive: explained, in %
        for name, meaning in SETTINGS.items():
            values = [getattr(x, name) for x in st]
            shown = (fmt(v) if name == "budget" else _pct(v) for v in values)
            rows.append(row(name, values if name == "chunks" else shown, meaning))
    else:  # another strategy: its settings as it states them
        given = [x.as_dict() for x in st]
        for name in [k for k in given[0] if k != "symbol"]:
            rows.append(row(name, (str(d.get(name, "-")) for d in given)))
    header = ["", *(_e(s) for s in symbols), "meaning"]
    return (
        f"<p>{_symbols(len(symbols))}. Exchange rules (filters) and "
        "the strategy's settings of each:</p>" + _rows(rows, header)
    )


def _symbol_table(model: ReportModel) -> str:
    rows = []
    for s in model.symbols:
        figures = model.per_symbol[s]
        x, took = figures.summary, figures.median_cycle_ms
        rows.append(
            [
                _td(s, False),
                _td(figures.traders),
                _td(x.orders_placed),
                _td(x.buys_filled),
                _td(x.sells_filled),
                _td(x.cycles_completed),
                _td(duration(took) if took is not None else "-"),
                _td(x.open_buy_orders),
                _td(x.open_sell_orders),
                _td(fmt(x.realised_pnl)),
                _td(fmt(x.unrealised_pnl)),
                _td(fmt(x.realised_pnl + x.unrealised_pnl)),
                _td(fmt(x.fees_paid)),
            ]
        )
    unit = _e(model.unit)
    header = [
        "symbol",
        "traders",
        "orders",
        "buys filled",
        "sells filled",
        "cycles completed",
        "median cycle (buy placed → sold)",
        "open buys",
        "open sells",
        f"realised ({unit})",
        f"unrealised ({unit})",
        f"total ({unit})",
        f"fees ({unit})",
    ]
    return _rows(rows, header)


# -- charts --------------------------------------------------------------------------------------
def _img(name: str, data: bytes, alt: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img src="data:image/png;base64,{b64}" alt="{_e(alt)}" title="{_e(name)}">'


def _figures(symbols: list[str], charts: Mapping[str, bytes], unit: str, data: ChartData) -> str:
    interval = _e(data.interval)
    prices = "".join(
        template("report_price.html").substitute(
            image=_img(f"price_{s}.png", charts[f"price_{s}.png"], f"{s} price and our fills"),
            symbol=_e(s),
            interval=interval,
            max_bars=f"{MAX_BARS:,}",
            intervals=f"{data.intervals:,}",
        )
        for s in symbols
    )
    return template("report_figures.html").substitute(
        pnl_image=_img("pnl.png", charts["pnl.png"], "realised PnL and equity over time"),
        unit=_e(unit),
        interval=interval,
        prices=prices,
        cycles_image=_img("cycles.png", charts["cycles.png"], "timeline of each trader's cycle"),
    )


__all__ = ["FIELDS", "SETTINGS", "duration", "render_page", "template"]
