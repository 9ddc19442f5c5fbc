"""`write_report`: a backtest as one self-contained HTML page, plus its charts as PNG files.

Three steps, one module each: `report_model` reads the run (its cycles, the per-symbol
figures and every chart's series, no HTML), `report_charts` draws the charts as PNGs, and
`report_page` writes the page (`index.html`: inline CSS, the charts embedded as data URIs,
nothing fetched). The same charts are also written next to it as PNGs. This module ties them
together and keeps the names the command line and the tests import.
"""

from __future__ import annotations

from pathlib import Path

from hedgehog.backtest.report_charts import (
    chart_style,
    cycles_figure,
    pnl_figure,
    price_figure,
    render_png,
)
from hedgehog.backtest.report_model import (
    MAX_BARS,
    Data,
    ReportModel,
    build_model,
    chart_interval,
    pnl_panels,
)
from hedgehog.backtest.report_page import duration, render_page
from hedgehog.backtest.runner import BacktestConfig, BacktestResult


def write_report(
    result: BacktestResult,
    data: Data,
    config: BacktestConfig,
    out_dir: Path,
) -> Path:
    """Write `index.html` and the chart PNGs of a backtest to `out_dir` (created if needed);
    return the HTML file's path. `data` and `config` are those given to `run_backtest` (`data`
    may be None: the result's price histories)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = build_model(result, data, config)
    charts = render_charts(model)
    for name, png in charts.items():
        (out_dir / name).write_bytes(png)
    path = out_dir / "index.html"
    path.write_text(render_page(model, charts), encoding="utf-8")
    return path


def render_charts(model: ReportModel) -> dict[str, bytes]:
    """The PNGs by file name, in the page's order: a price chart per symbol, then the PnL
    and the cycles charts; none when the data holds no trades."""
    charts: dict[str, bytes] = {}
    if model.charts is None:
        return charts
    data = model.charts
    with chart_style():
        for chart in data.prices:
            charts[f"price_{chart.symbol}.png"] = render_png(price_figure(chart, data.view))
        charts["pnl.png"] = render_png(pnl_figure(data.panels, data.view))
        charts["cycles.png"] = render_png(cycles_figure(data.lanes, data.view))
    return charts


__all__ = [
    "MAX_BARS",
    "build_model",
    "chart_interval",
    "duration",
    "pnl_panels",
    "render_charts",
    "write_report",
]
