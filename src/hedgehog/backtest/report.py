"""`write_report`: a backtest as one self-contained HTML page, plus its charts as PNG files.

The page (`index.html`) needs nothing else: CSS is inline and the charts are embedded as data
URIs, so it still works when moved or mailed; no script, no font, nothing fetched. The same
charts are also written next to it as PNGs. It explains the strategy, every summary figure,
the settings and the data, for a reader who has never seen hedgehog.

Prices are downsampled to a fixed number of time buckets with numpy (min, max and last trade of
each), so the report of a 10M-trade backtest costs about as much as that of a small one. PnL
over time uses the ledger's formulas (`hedgehog.backtest.ledger`): realised at each completed
cycle's sell fill, unrealised for bought-and-unsold chunks at the bucket's last price net of
the selling fee; the last point equals the summary's realised + unrealised PnL.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np

from hedgehog.backtest.ledger import LedgerSummary, cycle_key, summarise
from hedgehog.backtest.report_charts import (
    CycleLanes,
    FloatArray,
    IntArray,
    PnlPanel,
    PriceBuckets,
    PriceChart,
    chart_style,
    cycles_figure,
    pnl_figure,
    price_figure,
    render_png,
)
from hedgehog.backtest.runner import BacktestConfig, BacktestResult
from hedgehog.core.client_ids import trader_of
from hedgehog.core.decimals import ONE, ZERO, fmt
from hedgehog.core.pnl import buy_cost, cycle_pnl
from hedgehog.core.types import Order, OrderStatus, Side
from hedgehog.market.tables import SCALE, TradeTable

BUCKETS = 1000
"""Time buckets of the price and PnL charts (about one per pixel column)."""


def write_report(
    result: BacktestResult,
    tables: Mapping[str, TradeTable],
    config: BacktestConfig,
    out_dir: Path,
) -> Path:
    """Write `index.html` and the chart PNGs of a backtest to `out_dir` (created if needed);
    return the HTML file's path. `tables` and `config` are those given to `run_backtest`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    symbols = sorted(tables)
    cycles = _cycles(result.ledger)
    span = _span(tables)
    charts: list[tuple[str, bytes]] = []
    with chart_style():
        if span is not None:
            view = _padded(span)
            edges = _edges(*span)
            for s in symbols:
                chart = _price_chart(s, tables[s], cycles.get(s, []), config, edges)
                charts.append((f"price_{s}.png", render_png(price_figure(chart, view))))
            panels = _panels(symbols, cycles, tables, config, edges[1:] - 1)
            charts.append(("pnl.png", render_png(pnl_figure(panels, view))))
            lanes = [_lanes(s, cycles.get(s, []), span[1]) for s in symbols]
            charts.append(("cycles.png", render_png(cycles_figure(lanes, view))))
    for name, data in charts:
        (out_dir / name).write_bytes(data)
    page = _page(result, tables, config, symbols, cycles, span, dict(charts))
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


# -- data ----------------------------------------------------------------------------------------
@dataclass
class _Cycle:
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


def _cycles(ledger: Iterable[Order]) -> dict[str, list[_Cycle]]:
    """Cycles per symbol, in the order their first order was placed."""
    by_key: dict[str, _Cycle] = {}
    out: dict[str, list[_Cycle]] = {}
    for o in sorted(ledger, key=lambda o: o.order_id):
        key = cycle_key(o)
        cycle = by_key.get(key)
        if cycle is None:
            cycle = by_key[key] = _Cycle(trader_of(o.client_order_id) or o.client_order_id)
            out.setdefault(o.symbol, []).append(cycle)
        if o.side == Side.BUY:
            cycle.buy = o
        else:
            cycle.sell = o
    return out


def _span(tables: Mapping[str, TradeTable]) -> tuple[int, int] | None:
    """First and last trade time of all the data (ms), None without trades."""
    full = [t for t in tables.values() if len(t)]
    if not full:
        return None
    return min(int(t.time[0]) for t in full), max(int(t.time[-1]) for t in full)


def _padded(span: tuple[int, int]) -> tuple[int, int]:
    pad = max(500, (span[1] - span[0]) // 100)
    return span[0] - pad, span[1] + pad


def _edges(first: int, last: int) -> IntArray:
    """BUCKETS (or fewer) equal time buckets [edge k, edge k+1) covering first..last ms."""
    n = min(BUCKETS, last - first + 1)
    return first + np.arange(n + 1, dtype=np.int64) * (last - first + 1) // n


def bucket_prices(table: TradeTable, edges: IntArray) -> PriceBuckets:
    """Per non-empty bucket: time and price of its last trade, lowest and highest price."""
    time, price = table.time, table.price
    starts = np.searchsorted(time, edges[:-1], "left")
    ends = np.searchsorted(time, edges[1:], "left")
    keep = ends > starts
    s, e = starts[keep], ends[keep]
    if not len(s):
        none = np.zeros(0, dtype=np.float64)
        return PriceBuckets(np.zeros(0, dtype=np.int64), none, none, none)
    # the buckets tile the table, so each reduceat segment [s[i], s[i+1]) is one bucket
    low = np.minimum.reduceat(price[s[0] : e[-1]], s - s[0]) / SCALE
    high = np.maximum.reduceat(price[s[0] : e[-1]], s - s[0]) / SCALE
    return PriceBuckets(time[e - 1], low, high, price[e - 1] / SCALE)


def _price_chart(
    symbol: str, table: TradeTable, cycles: list[_Cycle], config: BacktestConfig, edges: IntArray
) -> PriceChart:
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
        buckets=bucket_prices(table, edges),
        buy_ms=np.array([o.update_time for o in buys], dtype=np.int64),
        buy_price=np.array([float(o.price) for o in buys], dtype=np.float64),
        sell_ms=np.array([o.update_time for o in sells], dtype=np.int64),
        sell_price=np.array([float(o.price) for o in sells], dtype=np.float64),
        end_ms=int(edges[-1]) - 1,
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


def _price_at(table: TradeTable, at: IntArray) -> FloatArray:
    """The last trade price at or before each time in `at` (the first price before it)."""
    if not len(table):
        return np.zeros(len(at), dtype=np.float64)
    i = np.searchsorted(table.time, at, "right") - 1
    return table.price[np.maximum(i, 0)] / SCALE


def pnl_panels(
    result: BacktestResult, tables: Mapping[str, TradeTable], config: BacktestConfig
) -> list[PnlPanel]:
    """Realised PnL and equity over time, one panel per quote asset (what the PnL chart
    shows); the last equity point is the summary's realised + unrealised PnL."""
    span = _span(tables)
    if span is None:
        return []
    grid = _edges(*span)[1:] - 1
    return _panels(sorted(tables), _cycles(result.ledger), tables, config, grid)


def _panels(
    symbols: list[str],
    cycles: Mapping[str, list[_Cycle]],
    tables: Mapping[str, TradeTable],
    config: BacktestConfig,
    grid: IntArray,
) -> list[PnlPanel]:
    """Realised and equity curves on `grid` (ms), one panel per quote asset."""
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
            value = _price_at(tables[s], grid) * _sum_at(held_t, held_q, grid) * float(ONE - fee)
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


def _lanes(symbol: str, cycles: list[_Cycle], end_ms: int) -> CycleLanes:
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


# -- the page --------------------------------------------------------------------------------------
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
}
_MONEY = ("realised_pnl", "unrealised_pnl", "fees_paid")
SETTINGS: dict[str, str] = {
    "chunks": "traders per symbol: the budget is split in this many equal chunks",
    "budget": "amount of the quote asset the symbol may spend, all chunks together",
    "buy_down_interval": "a buy is placed this fraction below the current price",
    "profit_interval": "a sell is placed this fraction above the buy price, after both fees",
    "rebuy_interval": "a fall of this fraction below a buy starts one more trader",
    "fee": "exchange fee rate charged on each fill",
}
_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
margin:0 auto;max-width:1240px;padding:1.5em}
h1{margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:.25em .6em;
vertical-align:top;text-align:left}th{background:#f4f4f4}td.n{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}code{font-size:90%;color:#555}
.wide{overflow-x:auto}.note{background:#fff4e5;border-left:4px solid #fdae61;padding:.6em 1em}
figure{margin:1em 0}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:93%;max-width:75em}.muted{color:#777;font-size:90%}
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


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


def _num(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _rows(rows: Iterable[Sequence[str]], header: Sequence[str]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(cells) + "</tr>" for cells in rows)
    return f'<div class="wide"><table><tr>{head}</tr>{body}</table></div>'


def _td(value: object, numeric: bool = True) -> str:
    return f'<td class="n">{_e(value)}</td>' if numeric else f"<td>{_e(value)}</td>"


def _pct(value: Decimal) -> str:
    return f"{fmt(value)} ({fmt(value * 100)} %)"


def _page(
    result: BacktestResult,
    tables: Mapping[str, TradeTable],
    config: BacktestConfig,
    symbols: list[str],
    cycles: Mapping[str, list[_Cycle]],
    span: tuple[int, int] | None,
    charts: Mapping[str, bytes],
) -> str:
    quotes = sorted({config.filters[s].quote_asset or "quote asset" for s in symbols})
    unit = quotes[0] if len(quotes) == 1 else "quote asset"
    summary = result.summary
    total = summary.realised_pnl + summary.unrealised_pnl
    fees = {s: config.settings[s].fee for s in symbols}
    per_symbol = {
        s: summarise([o for o in result.ledger if o.symbol == s], fees, result.last_prices)
        for s in symbols
    }
    when = (
        f" replayed from <b>{_utc(span[0])}</b> to <b>{_utc(span[1])}</b> "
        f"({duration(span[1] - span[0])})"
        if span is not None
        else ": the data holds no trades"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>hedgehog backtest: {_e(', '.join(symbols))}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>hedgehog backtest report</h1>",
        f"<p>{result.ticks:,} trades of <b>{len(symbols)} symbol{'s' * (len(symbols) != 1)}"
        f"</b> ({_e(', '.join(symbols)) or 'none'}){when}. "
        f"<b>{summary.cycles_completed:,}</b> cycles completed; total PnL "
        f"<b>{_e(fmt(total))} {_e(unit)}</b> (realised {_e(fmt(summary.realised_pnl))} + "
        f"unrealised {_e(fmt(summary.unrealised_pnl))}), after {_e(fmt(summary.fees_paid))} "
        f"{_e(unit)} of fees. All times are UTC; all amounts are in {_e(unit)}, the quote "
        "asset (the currency prices are quoted in).</p>",
        _notice(summary, result.ticks),
        "<h2>What the strategy does</h2>",
        "<p>hedgehog's <i>naive</i> strategy splits each symbol's budget among <i>chunks</i> "
        "traders: a trader places a limit buy a little below the latest price, and once it "
        "fills, a limit sell above the buy price that covers both fees plus a small profit. "
        "When the sell fills, the <b>cycle</b> is complete, its profit is <b>realised</b>, "
        "and a fresh trader takes the place; if the price falls well below a trader's buy, "
        "one more trader starts (never more than <i>chunks</i> at once), so it buys more as "
        "the price falls.</p>",
        "<p><b>Realised</b> PnL is money made (or lost) by completed cycles. "
        "<b>Unrealised</b> PnL is the paper result of chunks bought but not sold yet, as if "
        "sold at the latest price; it changes with the price until their sell fills. "
        "<b>Equity</b> is the sum of the two. PnL here is always after fees.</p>",
        "<h2>Summary</h2>",
        _summary_table(result, unit, total),
        "<h2>Data and settings</h2>",
        _settings_table(tables, config, symbols, result),
        "<h2>Results per symbol</h2>",
        _symbol_table(symbols, per_symbol, cycles, unit),
    ]
    if charts and span is not None:
        n = len(_edges(*span)) - 1
        buckets = f"{n:,} time buckets of {duration((span[1] - span[0] + 1) / n)}"
        parts += _figures(symbols, charts, unit, buckets)
    parts.append(
        '<p class="muted">The charts are also saved next to this page: '
        f"{_e(', '.join(charts)) or 'none (no trades)'}. Generated by hedgehog from the "
        "backtest's own order ledger; the same data and settings give the same page.</p>"
    )
    parts.append("</body></html>\n")
    return "\n".join(parts)


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


def _summary_table(result: BacktestResult, unit: str, total: Decimal) -> str:
    rows = []
    for key, value in result.as_json().items():
        label, meaning = FIELDS.get(key, (key.replace("_", " "), ""))
        shown = f"{_num(value)} {unit}" if key in _MONEY else _num(value)
        cell = _td(shown, numeric=key != "ledger_sha256")
        rows.append([f"<td>{_e(label)}<br><code>{_e(key)}</code></td>", cell, _td(meaning, False)])
    rows.append(
        [
            _td("total PnL", False),
            _td(f"{fmt(total)} {unit}"),
            _td("realised + unrealised: the result if every held chunk were sold now.", False),
        ]
    )
    rows.append(
        [
            _td("chaos kills", False),
            _td(result.kills),
            _td("Processes killed on purpose to test recovery (0 unless asked for).", False),
        ]
    )
    return _rows(rows, ["figure", "value", "meaning"])


def _settings_table(
    tables: Mapping[str, TradeTable],
    config: BacktestConfig,
    symbols: list[str],
    result: BacktestResult,
) -> str:
    def row(label: str, values: Iterable[object], meaning: str = "") -> list[str]:
        return [_td(label, False), *(_td(v) for v in values), _td(meaning, False)]

    t = [tables[s] for s in symbols]
    last = result.last_prices
    f = [config.filters[s] for s in symbols]
    st = [config.settings[s] for s in symbols]
    rows = [
        row("base / quote asset", (f"{x.base_asset} / {x.quote_asset}" for x in f)),
        row("trades", (f"{len(x):,}" for x in t)),
        row("first trade", (_utc(int(x.time[0])) if len(x) else "-" for x in t)),
        row("last trade", (_utc(int(x.time[-1])) if len(x) else "-" for x in t)),
        row("last price", (fmt(p) if (p := last.get(s)) is not None else "-" for s in symbols)),
        row("tick size", (fmt(x.tick_size) for x in f), "prices are multiples of it"),
        row("step size", (fmt(x.step_size) for x in f), "quantities are multiples of it"),
        row("min notional", (fmt(x.min_notional) for x in f), "smallest order value allowed"),
    ]
    for name, meaning in SETTINGS.items():
        values = [getattr(x, name) for x in st]
        shown = (fmt(v) if name == "budget" else _pct(v) for v in values)
        rows.append(row(name, values if name == "chunks" else shown, meaning))
    header = ["", *(_e(s) for s in symbols), "meaning"]
    return (
        f"<p>{len(symbols)} symbol{'s' * (len(symbols) != 1)}. Exchange rules (filters) and "
        "the strategy's settings of each:</p>" + _rows(rows, header)
    )


def _symbol_table(
    symbols: list[str],
    per_symbol: Mapping[str, LedgerSummary],
    cycles: Mapping[str, list[_Cycle]],
    unit: str,
) -> str:
    rows = []
    for s in symbols:
        x = per_symbol[s]
        done = [c for c in cycles.get(s, []) if c.completed and c.sell is not None]
        took = [c.sell.update_time - c.start_ms for c in done if c.sell is not None]
        rows.append(
            [
                _td(s, False),
                _td(len({c.trader for c in cycles.get(s, [])})),
                _td(x.orders_placed),
                _td(x.buys_filled),
                _td(x.sells_filled),
                _td(x.cycles_completed),
                _td(duration(float(np.median(took))) if took else "-"),
                _td(x.open_buy_orders),
                _td(x.open_sell_orders),
                _td(fmt(x.realised_pnl)),
                _td(fmt(x.unrealised_pnl)),
                _td(fmt(x.realised_pnl + x.unrealised_pnl)),
                _td(fmt(x.fees_paid)),
            ]
        )
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
        f"realised ({_e(unit)})",
        f"unrealised ({_e(unit)})",
        f"total ({_e(unit)})",
        f"fees ({_e(unit)})",
    ]
    return _rows(rows, header)


def _img(name: str, data: bytes, alt: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img src="data:image/png;base64,{b64}" alt="{_e(alt)}" title="{_e(name)}">'


def _figures(symbols: list[str], charts: Mapping[str, bytes], unit: str, buckets: str) -> list[str]:
    out = [
        "<h2>Profit and loss over time</h2><figure>",
        _img("pnl.png", charts["pnl.png"], "realised PnL and equity over time"),
        "<figcaption>The blue steps are the <b>realised</b> PnL: it moves each time a cycle "
        "completes, at the moment its sell fills, by that cycle's profit after fees. The black "
        "line is the <b>equity</b>: realised PnL plus the <b>unrealised</b> PnL of the chunks "
        "held at that moment, valued at that moment's last price minus the selling fee, less "
        "what they cost with the buying fee. The shaded gap between them is the unrealised "
        "part: green while held chunks are worth more than they cost, red while less. At the "
        f"right edge the equity equals the summary's total PnL. Amounts in {_e(unit)} (one "
        f"panel per quote asset); the equity is evaluated at the end of each of {buckets}."
        "</figcaption></figure>",
        "<h2>Price and our trades</h2>",
    ]
    for s in symbols:
        name = f"price_{s}.png"
        out += ["<figure>", _img(name, charts[name], f"{s} price and our fills")]
        out.append(
            f"<figcaption><b>{_e(s)}</b>. The dark line is the price of the last trade in "
            f"each of {buckets} and the pale band the range from the lowest to the highest "
            "trade price in it. Green ▲ mark our buy orders that filled, red ▼ our sells, "
            "at their limit price and fill time. Dotted lines ending in a thick tick at the "
            "right are orders still open when the data ends, from when they were placed: open "
            "buys wait for the price to fall to them, open sells for it to rise to them (each "
            "open sell is a chunk held, part of the unrealised PnL).</figcaption></figure>"
        )
    out += [
        "<h2>Trader cycles</h2><figure>",
        _img("cycles.png", charts["cycles.png"], "timeline of each trader's cycle"),
        "<figcaption>One bar per trader cycle. A naive trader runs exactly one buy→sell "
        "cycle and is then replaced by a fresh trader, so completed cycles per trader id would "
        "all be one; this timeline shows when each ran instead. <b>Grey</b>: its buy order is "
        "waiting to fill. <b>Green</b>: the chunk is held and its sell order waits; the bar "
        "ends when the sell fills and the cycle completes. <b>Orange</b>: still held when the "
        "data ends. Rows are trader slots: at most <i>chunks</i> traders of a symbol run at "
        "once and a new trader takes a free row; consecutive cycles of a row alternate "
        "between a darker and a lighter shade. When a symbol has at most 40 cycles, wide "
        "enough bars are labelled with their trader id.</figcaption></figure>",
    ]
    return out


__all__ = ["BUCKETS", "bucket_prices", "duration", "pnl_panels", "write_report"]
