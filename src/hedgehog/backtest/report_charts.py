"""The charts of a backtest report, drawn with matplotlib's Agg renderer.

No pyplot: each chart is a standalone `Figure` on its own Agg canvas, so the process-wide
backend is never touched. Drawing happens under fixed style settings (`chart_style`) and PNGs
are written without the "Software" tag, so the same data gives the same bytes on every run.
The inputs are small (at most a few thousand bars and points); the report module prepares
them. Prices arrive as exact `Bar`s and become floats here, for drawing only.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import numpy.typing as npt
from matplotlib import style
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from hedgehog.backtest.report_series import (
    CycleLanes,
    FloatArray,
    IntArray,
    PnlPanel,
    PriceChart,
)
from hedgehog.market.bars import Bar

DPI = 100
WIDTH_IN = 12.0
BUY = "#1a9641"
SELL = "#d7191c"
DONE_ALT = "#78c679"
WAITING = "#bdbdbd"
WAITING_ALT = "#969696"
OPEN = "#fdae61"
DEAD = "#e0e0e0"
_LEFT, _RIGHT = 1.0, 0.3  # margins in inches, room for the y tick labels and the axis label
_FORMATS = ["%Y", "%b", "%d %b", "%H:%M", "%H:%M:%S", "%H:%M:%S.%f"]
_OFFSETS = ["UTC", "%Y UTC", "%b %Y UTC", "%d %b %Y UTC", "%d %b %Y UTC", "%d %b %Y UTC"]
_CYCLES_MAX_IN = 24.0  # the panels of the cycles chart share at most this height
_LABEL_LIMIT = 40  # label cycles with their trader id when a symbol has at most this many


@contextmanager
def chart_style() -> Iterator[None]:
    """Matplotlib's default style plus ours, whatever the user's matplotlibrc says."""
    with (
        style.context("default"),
        mpl.rc_context(
            {
                "figure.dpi": DPI,
                "savefig.dpi": DPI,
                "svg.hashsalt": "hedgehog-report",
                "font.family": "DejaVu Sans",
                "font.size": 9,
                "text.parse_math": False,
                "axes.grid": True,
                "grid.alpha": 0.3,
                "axes.spines.top": False,
                "axes.spines.right": False,
                "legend.fontsize": 8,
                "path.simplify": True,
                "agg.path.chunksize": 20_000,
            }
        ),
    ):
        yield


def render_png(fig: Figure) -> bytes:
    """The figure as PNG bytes: fixed DPI, no software tag, no timestamp."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def datenum(ms: IntArray | Sequence[int]) -> FloatArray:
    """Epoch milliseconds as matplotlib date numbers (UTC)."""
    days = mdates.date2num(np.asarray(ms, dtype=np.int64).astype("datetime64[ms]"))  # type: ignore[no-untyped-call]
    return np.asarray(days, dtype=np.float64)


def _time_axis(ax: Axes, span: tuple[int, int], label: bool = True) -> None:
    locator = mdates.AutoDateLocator(tz=UTC, minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(  # type: ignore[no-untyped-call]
        locator, tz=UTC, formats=_FORMATS, offset_formats=_OFFSETS
    )
    ax.xaxis.set_major_formatter(formatter)
    lo, hi = datenum(list(span))
    ax.set_xlim(float(lo), float(hi))
    if label:
        ax.set_xlabel("time (UTC)")
    else:  # a panel above another one with the same time axis
        ax.tick_params(labelbottom=False)
        ax.xaxis.get_offset_text().set_visible(False)


def _figure(
    title: str, panels: Sequence[float], top: float, gap: float, bottom: float = 0.6
) -> tuple[Figure, list[Axes]]:
    """A figure of stacked axes laid out in inches (`panels` are their heights).

    Fixed margins instead of a layout engine: a layout engine draws every figure twice.
    """
    height = top + sum(panels) + gap * (len(panels) - 1) + bottom
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    fig.text(0.5, 1 - 0.1 / height, title, ha="center", va="top", fontsize=12)
    axes: list[Axes] = []
    y = height - top
    for h in panels:
        y -= h
        box = (_LEFT / WIDTH_IN, y / height, (WIDTH_IN - _LEFT - _RIGHT) / WIDTH_IN, h / height)
        axes.append(fig.add_axes(box))
        y -= gap
    return fig, axes


def _empty(ax: Axes, message: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, transform=ax.transAxes)


def _legend_above(ax: Axes, ncols: int) -> None:
    ax.legend(
        loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=ncols, frameon=False, borderaxespad=0
    )


# -- price -------------------------------------------------------------------------------------
def price_figure(chart: PriceChart, span: tuple[int, int]) -> Figure:
    title = f"{chart.symbol}: price of 1 {chart.base} in {chart.quote}, and our orders"
    fig, (ax,) = _figure(title, [3.6], top=0.75, gap=0)
    if not chart.bars:
        _empty(ax, f"no trades of {chart.symbol} in the data")
        return fig
    _draw_bars(ax, chart.bars)
    fills = len(chart.buy_ms) + len(chart.sell_ms)
    size, alpha = (36.0, 0.9) if fills <= 2_000 else (12.0, 0.6)
    for ms, price, marker, color, what in (
        (chart.buy_ms, chart.buy_price, "^", BUY, "buy"),
        (chart.sell_ms, chart.sell_price, "v", SELL, "sell"),
    ):
        label = f"our {what} fills ({len(ms):,})"
        x = datenum(ms)
        ax.scatter(
            x, price, s=size, c=color, marker=marker, alpha=alpha, lw=0, zorder=3, label=label
        )
    end = float(datenum([chart.end_ms])[0])
    for orders, color, what in ((chart.open_buys, BUY, "buy"), (chart.open_sells, SELL, "sell")):
        if not orders:
            continue
        placed = datenum([ms for ms, _ in orders])
        prices = [p for _, p in orders]
        ax.hlines(prices, placed, end, colors=color, linestyles="dotted", lw=0.9, zorder=2)
        label = f"{what} orders open at the end ({len(orders):,})"
        ax.scatter(
            [end] * len(prices), prices, marker="_", s=300, c=color, lw=2.5, zorder=4, label=label
        )
    _time_axis(ax, span)
    ax.set_ylabel(f"price ({chart.quote})")
    _legend_above(ax, ncols=6)
    return fig


def _draw_bars(ax: Axes, bars: Sequence[Bar]) -> None:
    """Each bar as a box over its interval (a tenth of it left free on each side, so bars
    stay apart) from its low to its high price, edged so that a bar of one price still
    shows; and a line joining the bars' closes at their boxes' right edges."""
    interval = bars[0].interval
    start = datenum([b.open_time for b in bars])
    end = datenum([b.close_time + 1 for b in bars])
    gap = (end - start) * 0.1
    t0, t1 = start + gap, end - gap
    low = np.array([float(b.low) for b in bars], dtype=np.float64)
    high = np.array([float(b.high) for b in bars], dtype=np.float64)
    close = np.array([float(b.close) for b in bars], dtype=np.float64)
    boxes = PolyCollection(
        list(_boxes(t0, t1, low, high)),
        facecolors="#9ecae1",
        edgecolors="#9ecae1",
        lw=0.5,
        label=f"low–high of each {interval} bar ({len(bars):,})",
    )
    ax.add_collection(boxes)
    ax.plot(t1, close, color="#08519c", lw=0.8, label="close of each bar")


# -- profit and loss -----------------------------------------------------------------------------
def pnl_figure(panels: Sequence[PnlPanel], span: tuple[int, int]) -> Figure:
    n = max(1, len(panels))
    fig, axes = _figure("Profit and loss over time (after fees)", [3.2] * n, top=0.9, gap=1.1)
    if not panels:
        _empty(axes[0], "no trades in the data")
        return fig
    for ax, p in zip(axes, panels, strict=True):
        x = datenum(p.grid_ms)
        first = np.array([span[0]], dtype=np.int64)
        steps_x = datenum(np.concatenate([first, p.step_ms, p.grid_ms[-1:]]))
        final = float(p.step_realised[-1]) if len(p.step_realised) else 0.0
        steps_y = np.concatenate([[0.0], p.step_realised, [final]])
        ax.axhline(0.0, color="#636363", lw=0.8)
        gain = p.equity >= p.realised
        ax.fill_between(
            x,
            p.realised,
            p.equity,
            where=gain,
            interpolate=True,
            color=BUY,
            alpha=0.2,
            lw=0,
            label="unrealised gain",
        )
        ax.fill_between(
            x,
            p.realised,
            p.equity,
            where=~gain,
            interpolate=True,
            color=SELL,
            alpha=0.2,
            lw=0,
            label="unrealised loss",
        )
        ax.plot(
            steps_x,
            steps_y,
            drawstyle="steps-post",
            color="#2171b5",
            lw=1.4,
            label=f"realised PnL (end: {final:,.4f} {p.quote})",
        )
        last = float(p.equity[-1]) if len(p.equity) else 0.0
        ax.plot(
            x,
            p.equity,
            color="black",
            lw=0.9,
            label=f"equity = realised + unrealised (end: {last:,.4f} {p.quote})",
        )
        _time_axis(ax, span)
        ax.set_ylabel(f"PnL ({p.quote})")
        _legend_above(ax, ncols=2)
    return fig


# -- trader cycles -------------------------------------------------------------------------------
def _boxes(x0: FloatArray, x1: FloatArray, lo: FloatArray, hi: FloatArray) -> FloatArray:
    """Rectangles [x0, x1] x [lo, hi] as an (n, 4, 2) array of corners."""
    return np.stack(
        [
            np.stack([x0, lo], 1),
            np.stack([x0, hi], 1),
            np.stack([x1, hi], 1),
            np.stack([x1, lo], 1),
        ],
        axis=1,
    )


def _alternate(lane: IntArray) -> npt.NDArray[np.bool_]:
    """True for the 2nd, 4th, ... bar of each lane (bars in start order)."""
    seen: dict[int, int] = {}
    out = np.zeros(len(lane), dtype=np.bool_)
    for i, row in enumerate(lane.tolist()):
        n = seen[row] = seen.get(row, 0) + 1
        out[i] = n % 2 == 0
    return out


def cycles_figure(symbols: Sequence[CycleLanes], span: tuple[int, int]) -> Figure:
    heights = [max(1, int(s.lane.max()) + 1 if len(s.lane) else 1) for s in symbols] or [1]
    title = "Each trader's cycle: waiting for its buy, then holding until its sell fills"
    inches = [min(3.5, 0.3 + 0.25 * h) for h in heights]
    if sum(inches) > _CYCLES_MAX_IN:  # many symbols: thinner rows, not an endless image
        inches = [max(0.3, x * _CYCLES_MAX_IN / sum(inches)) for x in inches]
    fig, axes = _figure(title, inches, top=0.75, gap=0.2)
    if not symbols:
        _empty(axes[0], "no symbols")
        return fig
    for ax, s, lanes in zip(axes, symbols, heights, strict=True):
        if not len(s.lane):
            _empty(ax, f"{s.symbol}: no orders were placed")
            continue
        y = s.lane.astype(np.float64)
        start, end = datenum(s.start_ms), datenum(s.end_ms)
        bought = s.filled_ms >= 0
        filled = datenum(np.where(bought, s.filled_ms, s.end_ms))
        alt = _alternate(s.lane)  # every other cycle of a row in a lighter shade
        # waiting: placed -> filled (or -> end / cancellation when the buy never filled)
        wait_colors = np.where(s.dead, DEAD, np.where(alt, WAITING_ALT, WAITING))
        waits = _boxes(start, filled, y - 0.38, y + 0.38)
        ax.add_collection(PolyCollection(list(waits), facecolors=list(wait_colors), lw=0))
        hold_colors = np.where(s.completed, np.where(alt, DONE_ALT, BUY), OPEN)[bought]
        bars = _boxes(filled[bought], end[bought], y[bought] - 0.38, y[bought] + 0.38)
        ax.add_collection(PolyCollection(list(bars), facecolors=list(hold_colors), lw=0))
        if len(s.labels) <= _LABEL_LIMIT:  # on bars wide enough to hold one
            lo, hi = datenum(list(span))
            wide = (end - start) >= 0.03 * (hi - lo)
            for x0, yy, text, ok in zip(start, y, s.labels, wide, strict=True):
                if ok:
                    ax.text(x0, yy, f" {text}", va="center", ha="left", fontsize=7, clip_on=True)
        ax.set_ylim(lanes - 0.5, -0.5)
        ax.set_yticks(range(lanes), [str(i + 1) for i in range(lanes)] if lanes <= 12 else [])
        ax.set_ylabel(f"{s.symbol}\ntrader slot", fontsize=8)
        ax.grid(axis="y", visible=False)
        _time_axis(ax, span, label=ax is axes[-1])
    handles = [
        Patch(color=WAITING, label="waiting for the buy to fill"),
        Patch(color=BUY, label="holding, then sold: cycle completed"),
        Patch(color=OPEN, label="holding, sell still open at the end"),
        Patch(color=DEAD, label="buy cancelled or rejected"),
    ]
    axes[0].legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.01),
        ncols=4,
        frameon=False,
        borderaxespad=0,
    )
    return fig


__all__ = [
    "CycleLanes",
    "PnlPanel",
    "PriceChart",
    "chart_style",
    "cycles_figure",
    "datenum",
    "pnl_figure",
    "price_figure",
    "render_png",
]
