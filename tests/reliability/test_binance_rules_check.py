"""The checks of `bench/binance_rules.py` (issue 10's end-to-end run) fire on crafted ledgers
and node statuses, and stay quiet on a clean one: a checker that cannot fail proves nothing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import binance_rules
from binance_rules import check

pytestmark = pytest.mark.skipif(
    not binance_rules.INFO.exists(), reason=f"no saved exchangeInfo in {binance_rules.DATA}"
)
CLEAN = {"buy_rejections": 0, "sell_rejections": 0, "blocked": [], "errored": None}


def order(cid: str, side: str, qty: str, executed: str, status: str, time: int,
          fills: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    return {"clientOrderId": cid, "side": side, "origQty": qty, "executedQty": executed,
            "status": status, "time": time, "updateTime": time, "fills": fills}  # fmt: skip


def fill(qty: str, commission: str, asset: str, ms: int) -> dict[str, Any]:
    return {"qty": qty, "commission": commission, "commissionAsset": asset, "time": ms}


def cycle(sell_qty: str = "9.99", sell_at: int = 2_000) -> list[dict[str, Any]]:
    """A buy of 10 filled in two parts (commission 0.01 XRP), then its sell."""
    buy = order("X-t1-0B", "BUY", "10", "10", "FILLED", 0,
                [fill("4", "0.004", "XRP", 500), fill("6", "0.006", "XRP", 1_000)])  # fmt: skip
    sell = order("X-t1-0S", "SELL", sell_qty, sell_qty, "FILLED", sell_at,
                 [fill(sell_qty, "0.004", "USDT", 60_000)])  # fmt: skip
    return [buy, sell]


LATER_BUY = order("Y-t1-0B", "BUY", "1", "0", "NEW", 99_000, [])


def test_a_clean_run_passes() -> None:
    summary = check(cycle(), CLEAN, 0)
    assert summary["failures"] == []
    assert summary["buys_filled_in_parts"] == 1 and summary["cycles_completed"] == 1


@pytest.mark.parametrize(
    ("ledger", "worst", "code", "expected"),
    [
        (cycle(sell_qty="10"), CLEAN, 0, "sells 10, holds 9.990"),  # commission ignored
        (cycle(sell_at=11_500), CLEAN, 0, "ms late"),  # a stuck trader
        (
            [*cycle()[:1], order("Y-t1-0B", "BUY", "1", "0", "NEW", 99000, [])],
            CLEAN,
            0,
            "no sell",
        ),
        (cycle(), {**CLEAN, "sell_rejections": 1}, 0, "orders refused"),
        (cycle(), {**CLEAN, "blocked": ["cannot sell"]}, 0, "traders blocked"),
        (cycle(), {**CLEAN, "errored": "crashed 6 times"}, 0, "symbol errored"),
        (cycle(), CLEAN, 1, "exited with 1"),
        (cycle()[:1], CLEAN, 0, "no cycle completed"),
    ],
)
def test_each_check_fires(
    ledger: list[dict[str, Any]], worst: dict[str, Any], code: int, expected: str
) -> None:
    failures = check(ledger, worst, code)["failures"]
    assert any(expected in f for f in failures), failures
