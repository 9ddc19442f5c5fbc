"""The ranking of a sweep's outcomes: best first by realised PnL, total PnL or cycles
completed; failed combinations are not ranked and ties keep plan order, so the same sweep
always ranks the same way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from hedgehog.backtest.sweep_pool import Outcome
from hedgehog.core.errors import ConfigError

SORT_KEYS = ("realised_pnl", "total_pnl", "cycles_completed")


def total_pnl(result: Mapping[str, Any]) -> Decimal:
    return Decimal(result["realised_pnl"]) + Decimal(result["unrealised_pnl"])


def score(result: Mapping[str, Any], by: str) -> Decimal:
    """The value that ranks a result (higher is better)."""
    if by == "total_pnl":
        return total_pnl(result)
    if by == "realised_pnl":
        return Decimal(result["realised_pnl"])
    if by == "cycles_completed":
        return Decimal(int(result["cycles_completed"]))
    raise ConfigError(f"cannot sort by {by!r}; choose from {', '.join(SORT_KEYS)}")


def rank(outcomes: Sequence[Outcome], by: str = "realised_pnl") -> list[Outcome]:
    """The successful outcomes, best first by `by`; ties keep plan order."""
    if by not in SORT_KEYS:
        raise ConfigError(f"cannot sort by {by!r}; choose from {', '.join(SORT_KEYS)}")
    ok = [o for o in outcomes if o.result is not None]
    return sorted(ok, key=lambda o: (-score(o.result or {}, by), o.index))


__all__ = ["SORT_KEYS", "rank", "score", "total_pnl"]
