"""The ranking of a sweep, on hand-made rows: net PnL by default (where realised PnL disagrees),
each metric's direction, undefined values last, ties in plan order, bad names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from hedgehog.backtest.sweep import (
    DEFAULT_RANK,
    LOWER_IS_BETTER,
    SORT_KEYS,
    Outcome,
    rank,
    rank_metric,
    value,
)
from hedgehog.core.errors import ConfigError


def _row(index: int, realised: str, unrealised: str, cycles: int = 1, **metrics: Any) -> Outcome:
    result = {"realised_pnl": realised, "unrealised_pnl": unrealised, "cycles_completed": cycles}
    return Outcome(index, {"n": str(index)}, result, metrics=metrics)


# The case: the best realised PnL (17.24) lost money overall (net -1.69).
ROWS = [
    _row(0, "17.24", "-18.93", cycles=9, fees="2.5", max_drawdown="20.1", sharpe=-1.5),
    _row(1, "2", "-1", cycles=3, fees="0.75", max_drawdown="1.25", sharpe=None),
    _row(2, "5", "-6", cycles=9, fees="0.75", max_drawdown="7", sharpe=0.25),
    _row(3, "-0.5", "1.5", cycles=1, fees="0.1", max_drawdown=None, sharpe=None),
]


def _order(outcomes: list[Outcome], by: str = DEFAULT_RANK) -> list[int]:
    return [o.index for o in rank(outcomes, by)]


def test_net_pnl_is_the_default_and_disagrees_with_realised() -> None:
    # net: 0 -> -1.69, 1 -> 1, 2 -> -1, 3 -> 1 (a tie with 1: plan order)
    assert DEFAULT_RANK == "net_pnl"
    assert _order(ROWS) == [1, 3, 2, 0]
    assert _order(ROWS, "total_pnl") == [1, 3, 2, 0]
    assert _order(ROWS, "realised_pnl") == [0, 2, 1, 3]
    assert _order(ROWS, "realised") == [0, 2, 1, 3]
    assert value(ROWS[0], "net_pnl") == Decimal("-1.69")


def test_lower_is_better_for_drawdown_and_fees() -> None:
    assert _order(ROWS, "fees") == [3, 1, 2, 0]  # 0.1, 0.75, 0.75 (tie: plan order), 2.5
    assert _order(ROWS, "max_drawdown") == [1, 2, 0, 3]  # 1.25, 7, 20.1, then the null
    assert set(LOWER_IS_BETTER) == {
        "max_drawdown",
        "max_drawdown_pct",
        "fees",
        "exposure",
        "avg_cycle_s",
        "median_cycle_s",
    }


def test_undefined_values_rank_last_in_plan_order() -> None:
    assert _order(ROWS, "sharpe") == [2, 0, 1, 3]  # 0.25, -1.5, then two nulls
    missing = Outcome(4, {}, ROWS[0].result)  # no metrics at all (another run_one)
    assert _order([missing, *ROWS], "win_rate") == [0, 1, 2, 3, 4]  # every value null
    assert _order([missing, *ROWS], "sharpe") == [2, 0, 1, 3, 4]


def test_ties_keep_plan_order_whatever_the_input_order() -> None:
    assert _order(list(reversed(ROWS)), "cycles_completed") == [0, 2, 1, 3]  # 9, 9, 3, 1
    same = [_row(i, "1", "0") for i in (3, 1, 2, 0)]
    assert _order(same) == [0, 1, 2, 3]


def test_floats_and_exact_decimals_compare_by_value() -> None:
    rows = [
        _row(0, "0", "0", win_rate=0.5, return_pct=-0.25),
        _row(1, "0", "0", win_rate=0.75, return_pct=1e-06),
        _row(2, "0", "0", win_rate=0.5000001, return_pct=float("nan")),
    ]
    assert _order(rows, "win_rate") == [1, 2, 0]
    assert _order(rows, "return_pct") == [1, 0, 2]  # not a number: undefined
    assert value(rows[1], "win_rate") == Decimal("0.75")


def test_failed_combinations_are_not_ranked() -> None:
    failed = Outcome(9, {"n": "9"}, error="boom")
    assert _order([failed, *ROWS]) == [1, 3, 2, 0]


@pytest.mark.parametrize(
    ("name", "canonical", "higher"),
    [
        ("net_pnl", "net_pnl", True),
        ("Net-PnL", "net_pnl", True),
        ("realised", "realised_pnl", True),
        ("realized_pnl", "realised_pnl", True),
        ("max-drawdown-pct", "max_drawdown_pct", False),
        ("sortino", "sortino", True),
        ("exposure", "exposure", False),
    ],
)
def test_metric_names(name: str, canonical: str, higher: bool) -> None:
    metric = rank_metric(name)
    assert (metric.name, metric.higher_is_better) == (canonical, higher)


def test_a_bad_name_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        rank(ROWS, "pnl")
    message = str(caught.value)
    assert message.startswith("cannot rank by 'pnl'; choose from net_pnl, total_pnl, ")
    assert all(name in message for name in SORT_KEYS)
    assert "lower is better for max_drawdown, max_drawdown_pct, fees" in message
    with pytest.raises(ConfigError, match="cannot rank by 'capital'"):
        rank_metric("capital")  # the same for every combination of most sweeps: not a rank
