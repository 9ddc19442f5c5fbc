"""What `hedgehog sweep` prints: the ranking as a table, or as one JSON document.

The table shows each combination's swept settings, net PnL, realised PnL, cycles, the
ranking metric when it is another figure, and the start of its ledger's hash; amounts are
rounded for reading. `--json` keeps every figure exact (the result's decimal text, the
metrics as `Metrics.as_json` gives them).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from rich import box
from rich.table import Table

from hedgehog.backtest.sweep import Outcome, RankMetric, total_pnl, value
from hedgehog.cli.console import out

_SHOWN = ("net_pnl", "total_pnl", "realised_pnl", "cycles_completed")  # columns of every table
_MONEY = ("net_pnl", "total_pnl", "realised_pnl", "max_drawdown", "fees")
_SHARES = ("win_rate", "exposure")  # fractions, shown as percentages
_SECONDS = ("avg_cycle_s", "median_cycle_s")


def rank_value(outcome: Outcome, metric: RankMetric) -> Any:
    """The figure the outcome was ranked by, as exact as its source keeps it (JSON-ready):
    net PnL as decimal text, a metric as `Metrics.as_json` gives it, None when undefined."""
    if metric.name in ("net_pnl", "total_pnl"):
        return str(total_pnl(outcome.result)) if outcome.result is not None else None
    if metric.from_result:
        return (outcome.result or {}).get(metric.name)
    return (outcome.metrics or {}).get(metric.name)


def document(
    *,
    strategy: str,
    shown: list[Outcome],
    metric: RankMetric,
    top: int | None,
    outcomes: list[Outcome],
    ranked: int,
    failed: list[Outcome],
    workers: int,
    elapsed: float,
    report: str | None,
) -> dict[str, Any]:
    """The `--json` document: today's keys (`runs` of params and result, `sorted_by`, ...)
    and the new ones (each run's `metrics`, `symbols` and `rank_value`; `rank_by`,
    `higher_is_better`, `top`, `ranked`, `report`)."""
    return {
        "strategy": strategy,
        "runs": [
            {
                "params": o.params,
                "result": o.result,
                "metrics": o.metrics,
                "symbols": o.symbols,
                "rank_value": rank_value(o, metric),
            }
            for o in shown
        ],
        "sorted_by": metric.name,
        "rank_by": metric.name,
        "higher_is_better": metric.higher_is_better,
        "top": top,
        "combinations": len(outcomes),
        "ranked": ranked,
        "failures": [{"params": o.params, "error": o.error} for o in failed],
        "workers": workers,
        "elapsed_s": round(elapsed, 3),
        "report": report,
    }


def print_table(
    shown: list[Outcome],
    names: list[str],
    metric: RankMetric,
    strategy: str,
    total: int,
    workers: int,
    elapsed: float,
) -> None:
    """The ranking, best first; amounts rounded to 4 decimals (--json has them exact)."""
    direction = "" if metric.higher_is_better else " (lowest)"
    table = Table(
        title=f"hedgehog sweep: {total:,} combinations, best {metric.name.replace('_', ' ')} "
        f"first{direction}",
        caption=f"{strategy}, {workers} worker{'s' * (workers != 1)}, {elapsed:.1f} s",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("#", justify="right")
    for name in names:
        words = [len(w) for w in name.split("_")]
        width = max([len(o.params.get(name, "")) for o in shown] + words)
        table.add_column(name.replace("_", " "), justify="right", style="cyan", min_width=width)
    extra = metric.name not in _SHOWN
    titles = ["net PnL", "realised PnL", "cycles"] + ([metric.label] if extra else [])
    for title in titles:
        table.add_column(title, justify="right", no_wrap=True)
    table.add_column("ledger", no_wrap=True)
    for place, outcome in enumerate(shown, 1):
        result: dict[str, Any] = outcome.result or {}
        cells = [
            _round(total_pnl(result)),
            _round(Decimal(result["realised_pnl"])),
            f"{result['cycles_completed']:,}",
        ]
        if extra:
            cells.append(fmt_metric(metric.name, value(outcome, metric)))
        table.add_row(
            str(place),
            *(outcome.params.get(n, "") for n in names),
            *cells,
            result["ledger_sha256"][:8],
        )
    out.print(table)


def fmt_metric(name: str, number: Decimal | None) -> str:
    """A metric for the table: money to 4 decimals, shares as %, durations in seconds,
    ratios to 3 decimals; `n/a` when undefined."""
    if number is None:
        return "n/a"
    if name in _MONEY:
        return _round(number)
    if name in _SHARES:
        return f"{_round(number * 100, '0.01')}%"
    if name in _SECONDS:
        return f"{_round(number, '0.1')} s"
    if name == "cycles_completed":
        return f"{int(number):,}"
    return _round(number, "0.001")


def _round(number: Decimal, places: str = "0.0001") -> str:
    return f"{number.quantize(Decimal(places), rounding=ROUND_HALF_EVEN):,f}"


__all__ = ["document", "fmt_metric", "print_table", "rank_value"]
