"""The ranking of a sweep's outcomes: best first by one metric (net PnL by default).

Each metric knows which way is better: PnL, return, Sharpe, Sortino, win rate and cycles
higher; drawdown, fees, exposure (time with capital at risk) and cycle durations lower. A
combination whose metric is undefined (null, e.g. Sharpe with fewer than two hourly returns)
ranks after every defined one; failed combinations are not ranked; ties keep plan order. So
the same sweep always ranks the same way.

`net_pnl`, `total_pnl` (its older name), `realised_pnl` and `cycles_completed` are read from the
run's exact result (`BacktestResult.as_json()`); the others from its metrics
(`hedgehog.backtest.metrics`, computed in the worker: `Outcome.metrics`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgehog.backtest.sweep_pool import Outcome
from hedgehog.core.errors import ConfigError


@dataclass(frozen=True)
class RankMetric:
    """A figure a sweep can rank by, and which way is better."""

    name: str
    higher_is_better: bool
    label: str  # the table's column title
    from_result: bool = False  # read from the result (exact), else from the metrics


_METRICS = (
    RankMetric("net_pnl", True, "net PnL", from_result=True),
    RankMetric("total_pnl", True, "net PnL", from_result=True),
    RankMetric("realised_pnl", True, "realised PnL", from_result=True),
    RankMetric("cycles_completed", True, "cycles", from_result=True),
    RankMetric("return_pct", True, "return %"),
    RankMetric("max_drawdown", False, "max drawdown"),
    RankMetric("max_drawdown_pct", False, "max drawdown %"),
    RankMetric("sharpe", True, "Sharpe"),
    RankMetric("sortino", True, "Sortino"),
    RankMetric("win_rate", True, "win rate"),
    RankMetric("fees", False, "fees"),
    RankMetric("exposure", False, "exposure"),
    RankMetric("avg_cycle_s", False, "avg cycle"),
    RankMetric("median_cycle_s", False, "median cycle"),
)
RANK_METRICS: dict[str, RankMetric] = {m.name: m for m in _METRICS}
ALIASES = {"realised": "realised_pnl", "realized": "realised_pnl", "realized_pnl": "realised_pnl"}
DEFAULT_RANK = "net_pnl"
SORT_KEYS = tuple(RANK_METRICS)
"""Every name `rank` accepts (besides the `ALIASES`)."""
LOWER_IS_BETTER = tuple(m.name for m in _METRICS if not m.higher_is_better)


def rank_metric(name: str) -> RankMetric:
    """The metric called `name` (case and `-` forgiven; `realised` is `realised_pnl`), or a
    `ConfigError` listing the valid names."""
    key = name.strip().lower().replace("-", "_")
    found = RANK_METRICS.get(ALIASES.get(key, key))
    if found is None:
        raise ConfigError(
            f"cannot rank by {name!r}; choose from {', '.join(SORT_KEYS)} "
            f"(lower is better for {', '.join(LOWER_IS_BETTER)}; higher for the others)"
        )
    return found


def total_pnl(result: Mapping[str, Any]) -> Decimal:
    """Realised + unrealised PnL: the net PnL, exact."""
    return Decimal(result["realised_pnl"]) + Decimal(result["unrealised_pnl"])


def value(outcome: Outcome, by: str | RankMetric) -> Decimal | None:
    """The outcome's figure for `by`, exact, or None when undefined (a null metric, or no
    result or metrics to read it from)."""
    metric = by if isinstance(by, RankMetric) else rank_metric(by)
    if metric.from_result:
        result = outcome.result
        if result is None:
            return None
        if metric.name in ("net_pnl", "total_pnl"):
            return total_pnl(result)
        return _number(result.get(metric.name))
    return _number((outcome.metrics or {}).get(metric.name))


def _number(raw: Any) -> Decimal | None:
    """A metric as `Metrics.as_json` gives it (exact decimal text, a float, an int or None)."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, float) and not math.isfinite(raw):
        return None
    try:
        number = Decimal(raw)
    except (ArithmeticError, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def score(result: Mapping[str, Any], by: str) -> Decimal:
    """A result's figure for a metric read from the result (`net_pnl`, `total_pnl`,
    `realised_pnl`, `cycles_completed`)."""
    found = value(Outcome(0, {}, dict(result)), by)
    if found is None:
        raise ConfigError(f"{by!r} is not in the result; it is one of the run's metrics")
    return found


def rank(outcomes: Sequence[Outcome], by: str = DEFAULT_RANK) -> list[Outcome]:
    """The successful outcomes, best first by `by` (its own direction); undefined values
    last; ties in plan order (`Outcome.index`)."""
    metric = rank_metric(by)
    sign = -1 if metric.higher_is_better else 1

    def key(outcome: Outcome) -> tuple[bool, Decimal, int]:
        found = value(outcome, metric)
        return (found is None, sign * found if found is not None else Decimal(0), outcome.index)

    return sorted((o for o in outcomes if o.result is not None), key=key)


__all__ = [
    "ALIASES",
    "DEFAULT_RANK",
    "LOWER_IS_BETTER",
    "RANK_METRICS",
    "SORT_KEYS",
    "RankMetric",
    "rank",
    "rank_metric",
    "score",
    "total_pnl",
    "value",
]
