"""The HTML report of a backtest: self-contained, complete, deterministic, and honest about
runs that did not trade."""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import struct
from decimal import Decimal
from importlib import resources
from pathlib import Path

import matplotlib as mpl
import pytest

from hedgehog.backtest.report import (
    MAX_BARS,
    build_model,
    chart_interval,
    duration,
    pnl_panels,
    write_report,
)
from hedgehog.backtest.report_bars import interval_ends, intervals_spanned, table_bars
from hedgehog.backtest.report_page import template
from hedgehog.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from hedgehog.core.client_ids import trader_of as trader_id
from hedgehog.core.decimals import fmt
from hedgehog.core.filters import parse_exchange_info
from hedgehog.market.bars import DAY, INTERVALS, MINUTE, bars_from_table
from hedgehog.market.synthetic import synthetic_exchange_info, synthetic_trades
from hedgehog.market.tables import TradeTable
from hedgehog.naive.settings import TradingSettings

SYMBOLS = ["AAAUSDT", "BBBUSDT"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
Run = tuple[BacktestResult, dict[str, TradeTable], BacktestConfig]


def _run(n: int = 5_000, symbols: list[str] = SYMBOLS, **settings: object) -> Run:
    tables = {s: synthetic_trades(s, n, seed=i + 3) for i, s in enumerate(symbols)}
    filters = parse_exchange_info(synthetic_exchange_info(symbols, "0.0001", "0.1"))
    values = {"chunks": 3, "budget": Decimal(300), **settings}
    config = BacktestConfig({s: TradingSettings(s, **values) for s in symbols}, filters)  # type: ignore[arg-type]
    return asyncio.run(run_backtest(tables, config)), tables, config


@pytest.fixture(scope="module")
def run() -> Run:
    return _run()


@pytest.fixture(scope="module")
def report(run: Run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(*run, tmp_path_factory.mktemp("report") / "out")


def _html(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _pngs(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.png"))}


def test_the_run_traded(run: Run) -> None:
    result = run[0]
    assert result.summary.cycles_completed > 0
    assert {o.symbol for o in result.ledger} == set(SYMBOLS)


def test_report_is_one_self_contained_page(report: Path) -> None:
    assert report.name == "index.html" and report.is_file()
    page = _html(report)
    assert "http://" not in page and "https://" not in page
    for loader in ("<script", "<link", "@import", "url(", "<iframe", "<object"):
        assert loader not in page.lower()
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)


def test_the_page_text_comes_from_packaged_templates(report: Path) -> None:
    page = _html(report)
    for name in ("report.html", "report_figures.html", "report_price.html"):
        resource = resources.files("hedgehog.backtest").joinpath("templates", name)
        assert resource.is_file(), name  # pyproject.toml's package-data ships it
        assert template(name).template.endswith("\n")  # whole lines
    assert "$" not in page  # every placeholder filled
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</body></html>\n")


def test_every_chart_is_embedded_and_saved(report: Path) -> None:
    page = _html(report)
    files = _pngs(report.parent)
    assert set(files) == {"pnl.png", "cycles.png", *(f"price_{s}.png" for s in SYMBOLS)}
    embedded = [base64.b64decode(b) for b in re.findall(r"data:image/png;base64,([^\"]+)", page)]
    assert sorted(embedded) == sorted(files.values())


def test_pngs_are_valid_and_sane(report: Path) -> None:
    for name, data in _pngs(report.parent).items():
        assert data.startswith(PNG_MAGIC), name
        assert data[12:16] == b"IHDR"
        width, height = struct.unpack(">II", data[16:24])
        assert width == 1200 and 300 <= height <= 3000, (name, width, height)
        assert 5_000 < len(data) < 2_000_000, (name, len(data))


def test_page_mentions_every_summary_field_symbol_and_setting(run: Run, report: Path) -> None:
    result = run[0]
    page = _html(report)
    for key, value in result.as_json().items():
        assert f"<code>{key}</code>" in page
        if isinstance(value, str):
            assert value in page
    for symbol in SYMBOLS:
        assert symbol in page
        assert f"price_{symbol}.png" in page
    for name in ("chunks", "budget", "buy_down_interval", "profit_interval", "rebuy_interval"):
        assert name in page
    assert "2 symbols" in page
    assert "2023-11-14 22:13:20.000 UTC" in page  # the first trade of the synthetic market
    total = result.summary.realised_pnl + result.summary.unrealised_pnl
    assert fmt(total) in page
    assert "USDT" in page and "realised" in page and "unrealised" in page


def test_same_run_same_bytes(run: Run, report: Path, tmp_path: Path) -> None:
    again = write_report(*run, tmp_path / "again")
    assert _pngs(again.parent) == _pngs(report.parent)
    assert _html(again) == _html(report)


def test_charts_do_not_depend_on_run_time(report: Path, tmp_path: Path) -> None:
    rerun = _run()  # a new backtest: same ledger, other elapsed_s
    assert _pngs(write_report(*rerun, tmp_path).parent) == _pngs(report.parent)


def test_equity_ends_at_the_summary_total(run: Run) -> None:
    result, tables, config = run
    (panel,) = pnl_panels(result, tables, config)
    assert panel.quote == "USDT"
    summary = result.summary
    assert float(panel.realised[-1]) == pytest.approx(float(summary.realised_pnl), abs=1e-9)
    total = float(summary.realised_pnl + summary.unrealised_pnl)
    assert float(panel.equity[-1]) == pytest.approx(total, abs=1e-6)
    assert float(panel.step_realised[-1]) == float(summary.realised_pnl)
    assert len(panel.step_ms) == summary.cycles_completed
    assert panel.realised[0] <= panel.realised[-1] or summary.realised_pnl < 0


def test_the_price_charts_are_the_tables_bars_at_the_chosen_interval(run: Run) -> None:
    """The report's prices are `bars_from_table`'s bars (the aggregator the simulator's
    klines and strategies use), all symbols at one interval chosen from the data's span."""
    result, tables, config = run
    model = build_model(result, tables, config)
    assert model.span is not None and model.charts is not None
    interval = model.charts.interval
    assert interval == chart_interval(*model.span) == "1s"  # 5,000 trades over 12.4 s
    assert model.charts.intervals == intervals_spanned(*model.span, interval) == 13
    for chart in model.charts.prices:
        table = tables[chart.symbol]
        assert chart.bars == bars_from_table(table, interval)
        # and each bar is its interval's trades: lowest, highest and last price
        assert sum(b.trades for b in chart.bars) == len(table)
        for bar in chart.bars:
            rows = (table.time >= bar.open_time) & (table.time <= bar.close_time)
            prices = [table.price_decimal(i) for i in rows.nonzero()[0]]
            assert (bar.low, bar.high, bar.close) == (min(prices), max(prices), prices[-1])
    # the PnL is evaluated at the end of the same intervals, the last point at the last trade
    (panel,) = model.charts.panels
    assert panel.grid_ms.tolist() == interval_ends(*model.span, interval).tolist()
    assert len(panel.grid_ms) == 13 and int(panel.grid_ms[-1]) == model.span[1]


@pytest.mark.parametrize(
    ("seconds", "interval"),
    [
        (0, "1s"),
        (MAX_BARS - 1, "1s"),  # MAX_BARS one-second intervals, from an aligned start
        (MAX_BARS, "1m"),
        (86_400, "1m"),  # a day: 1,440 one-minute bars
        (3 * 86_400, "3m"),  # 4,320 one-minute bars would be too many: 1,440 of 3 min
        (30 * 86_400, "30m"),
        (365 * 86_400, "6h"),
        (20 * 365 * 86_400, "1d"),  # beyond 1d's 2,000 days: still 1d
    ],
)
def test_the_interval_is_the_smallest_kline_interval_within_max_bars(
    seconds: int, interval: str
) -> None:
    first = 1_700_000_000_000 - 1_700_000_000_000 % DAY  # aligned on every interval
    last = first + seconds * 1_000
    assert chart_interval(first, last) == interval
    names = list(INTERVALS)
    smaller = names[: names.index(interval)]
    assert all(intervals_spanned(first, last, n) > MAX_BARS for n in smaller)
    assert intervals_spanned(first, last, interval) <= MAX_BARS or interval == "1d"


@pytest.mark.parametrize("part", [1, 7, 400, 1_000, 100_000])
def test_table_bars_by_parts_are_bars_from_table(part: int) -> None:
    """Cut where an interval begins, the parts' bars are the whole table's (parts of 1 and 7
    trades are smaller than the intervals: each interval is then one part)."""
    table = synthetic_trades("AAAUSDT", 3_000, seed=9)
    for interval in ("1s", "1m"):
        assert table_bars(table, interval, part) == bars_from_table(table, interval)
    assert table_bars(TradeTable.empty("AAAUSDT"), "1s", part) == []


def test_interval_ends_tile_the_span() -> None:
    first, last = 1_700_000_012_345, 1_700_000_012_345 + 5 * MINUTE
    ends = interval_ends(first, last, "1m").tolist()
    assert len(ends) == intervals_spanned(first, last, "1m") == 6
    assert ends[0] == first - first % MINUTE + MINUTE - 1 and ends[-1] == last
    assert all(b - a == MINUTE for a, b in itertools.pairwise(ends[:-1]))


def test_the_page_states_the_interval_rule(run: Run, report: Path) -> None:
    page = _html(report)
    assert "<b>1s bars</b>" in page
    assert f"at most {MAX_BARS:,} bars" in page and "smallest of Binance's kline intervals" in page
    assert "1s, 13 intervals here" in page


def test_a_run_without_fills_says_so(tmp_path: Path) -> None:
    run = _run(n=2_000, buy_down_interval=Decimal("0.5"))  # buys far below the market
    summary = run[0].summary
    assert summary.orders_placed > 0 and summary.buys_filled == 0
    page = _html(write_report(*run, tmp_path))
    assert "none filled" in page
    assert len(_pngs(tmp_path)) == 4


def test_a_run_without_trades_or_orders_says_so(tmp_path: Path) -> None:
    tables = {s: TradeTable.empty(s) for s in SYMBOLS}
    filters = parse_exchange_info(synthetic_exchange_info(SYMBOLS, "0.0001", "0.1"))
    config = BacktestConfig({s: TradingSettings(s) for s in SYMBOLS}, filters)
    result = asyncio.run(run_backtest(tables, config))
    assert result.ledger == []
    page = _html(write_report(result, tables, config, tmp_path / "empty"))
    assert "No orders were placed" in page and "no trades" in page
    for key in result.as_json():
        assert f"<code>{key}</code>" in page


def test_one_pnl_panel_per_quote_asset(tmp_path: Path) -> None:
    run = _run(n=2_000, symbols=["AAAUSDT", "CCCBTC"])
    assert [p.quote for p in pnl_panels(*run)] == ["BTC", "USDT"]
    page = _html(write_report(*run, tmp_path))
    assert "quote asset" in page and "CCCBTC" in page


def test_the_report_leaves_matplotlib_settings_alone(run: Run, tmp_path: Path) -> None:
    before = dict(mpl.rcParams)
    write_report(*run, tmp_path)
    assert dict(mpl.rcParams) == before


def test_trader_ids_and_durations() -> None:
    assert trader_id("XRPUSDT-12-0B") == "12"
    assert trader_id("0a1b2c3d-run7-3-5S") == "run7-3"  # a digested symbol, a prefixed id
    assert trader_id("odd") == ""  # not ours: the report shows such an order as its own row
    assert [duration(x) for x in (850, 12_300, 245_000, 10_920_000, 187_200_000)] == [
        "850 ms",
        "12.3 s",
        "4 min 05 s",
        "3 h 02 min",
        "2 d 04 h",
    ]
