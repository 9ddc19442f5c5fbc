"""Each check of the chaos run fires on a crafted case, and none fires on a clean one
(bench/chaos_check.py, bench/chaos_money.py): a checker that cannot fail proves nothing."""

from __future__ import annotations

import sys
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from chaos_aim import Strike, aim_summary
from chaos_check import Evidence, Market, Ref, Row, Trader, check_order_path
from chaos_money import check_money, known_at_ns, sell_due_ns

S = 1_000_000_000  # one second in ns
BUY, SELL = "AAAUSDT-t1-0B", "AAAUSDT-t1-0S"


def order(oid: int, cid: str, side: str, qty: str, status: str, price: str = "1", **kw: Any):
    fills = kw.pop("fills", [])
    executed = sum((D(f["qty"]) for f in fills), D(0))
    return {"orderId": oid, "clientOrderId": cid, "symbol": "AAAUSDT", "side": side,
            "price": price, "origQty": qty, "executedQty": str(executed), "status": status,
            "time": kw.pop("time", 0), "updateTime": 0, "fills": fills, **kw}  # fmt: skip


def fill(qty: str, price: str, commission: str, asset: str, ms: int) -> dict[str, Any]:
    return {"price": price, "qty": qty, "commission": commission, "commissionAsset": asset,
            "tradeId": 1, "time": ms}  # fmt: skip


def arrival(cid: str, at_ns: int, oid: int | None, side: str = "BUY", error: Any = None):
    return {"clientOrderId": cid, "at_ns": at_ns, "orderId": oid, "side": side,
            "symbol": "AAAUSDT", "error": error}  # fmt: skip


def clean() -> Evidence:
    """A bought 10 AAA at 1 USDT (0.01 AAA commission), its sell of 9.9 open."""
    buy = order(1, BUY, "BUY", "10", "FILLED", fills=[fill("10", "1", "0.01", "AAA", 1000)])
    sell = order(2, SELL, "SELL", "9.9", "NEW", price="1.1", time=1500)
    return Evidence(
        ledger=[buy, sell],
        arrivals=[arrival(BUY, S // 2, 1), arrival(SELL, S + S // 2, 2, "SELL")],
        rows=[
            Row(BUY, "AAAUSDT", "BUY", "FILLED", D(10), 1, "t1", S // 4),
            Row(SELL, "AAAUSDT", "SELL", "NEW", D(0), 2, "t1", S + S // 4),
        ],
        traders=[Trader("AAAUSDT", "t1", Ref(BUY, "FILLED", D(10)), Ref(SELL, "NEW"), D("0.01"))],
        markets={"AAAUSDT": Market("AAA", "USDT", D("0.1"), D("0.1"), D(1))},
        start_balances={"USDT": D(100)},
        final_balances={"USDT": (D(90), D(0)), "AAA": (D("0.09"), D("9.9"))},
        end_ns=100 * S,
    )


def violations(ev: Evidence) -> dict[str, int]:
    found = {**check_order_path(ev), **check_money(ev)}
    return {name: n for name, n in found.items() if n}


def test_a_clean_run_has_no_violation() -> None:
    assert violations(clean()) == {}


def test_a_call_before_its_intent_committed() -> None:
    ev = clean()
    ev.rows[1] = replace(ev.rows[1], intent_ns=2 * S)  # committed after the sell arrived
    assert violations(ev) == {"call_before_intent": 1}


def test_a_call_without_any_intent_and_an_order_the_store_lost() -> None:
    ev = clean()
    del ev.rows[1]
    assert violations(ev) == {"call_without_intent": 1, "orders_lost_by_store": 1}


def test_an_exchange_order_without_a_recorded_arrival() -> None:
    ev = clean()
    ev.arrivals.pop()
    found = violations(ev)
    assert found["orders_without_arrival"] == 1


def test_a_row_claiming_an_order_the_exchange_never_saw() -> None:
    ev = clean()
    ev.rows.append(Row("AAAUSDT-t2-0B", "AAAUSDT", "BUY", "NEW", D(0), 7, "t2", S))
    assert violations(ev) == {"phantom_rows": 1}


def test_an_intent_left_pending() -> None:
    ev = clean()
    ev.rows.append(Row("AAAUSDT-t2-0B", "AAAUSDT", "BUY", "PENDING", D(0), None, "t2", S))
    assert violations(ev) == {"pending_left": 1}


def test_a_lost_fill() -> None:
    ev = clean()
    ev.rows[0] = replace(ev.rows[0], status="NEW", executed_qty=D(0))
    found = violations(ev)
    assert found["lost_fills"] == 1


def test_a_buy_placed_twice_under_a_reused_client_id() -> None:
    ev = clean()
    again = order(3, BUY, "BUY", "10", "NEW")  # re-placed id of a filled order: a second order
    ev.ledger.append(again)
    ev.arrivals.append(arrival(BUY, 3 * S, 3))
    ev.final_balances["USDT"] = (D(80), D("10.01"))  # its quote locked, fee included
    found = violations(ev)
    assert found["duplicate_orders"] == 1
    assert found["reused_client_ids"] == 1
    assert "unowned_open_orders" not in found  # its trader sees the id...
    assert found["states_disagree"] == 1  # ...but as the filled one, not the new one


def test_an_open_order_no_stored_trader_owns() -> None:
    ev = clean()
    ev.traders = []
    assert violations(ev) == {"unowned_open_orders": 1}


def test_a_trader_state_that_disagrees_with_the_exchange() -> None:
    ev = clean()
    ev.traders[0] = replace(ev.traders[0], sell=Ref(SELL, "PENDING"))
    assert violations(ev) == {"states_disagree": 1}


def test_a_sell_placed_late_or_never() -> None:
    ev = clean()
    ev.arrivals[1] = arrival(SELL, 12 * S, 2, "SELL")
    assert violations(ev) == {"late_sells": 1}
    ev = clean()
    ev.node_down = [(S // 2, 3 * S)]  # no node when it filled: known at 3 s, sold at 1.5 s
    assert violations(ev) == {}
    ev = clean()  # the node that knew was killed at 3 s; its successor answered at 4 s
    ev.node_down = [(3 * S, 4 * S)]
    ev.arrivals[1] = arrival(SELL, 12 * S, 2, "SELL")  # 11 s after the fill, 8 s after 4 s
    assert violations(ev) == {}
    ev.arrivals[1] = arrival(SELL, 15 * S, 2, "SELL")  # 11 s after its successor answered
    assert violations(ev) == {"late_sells": 1}
    ev = clean()
    del ev.ledger[1], ev.arrivals[1], ev.rows[1]
    ev.traders[0] = replace(ev.traders[0], sell=None)
    ev.final_balances["AAA"] = (D("9.99"), D(0))
    assert violations(ev) == {"missing_sells": 1}


def test_dust_is_a_reason_for_no_sell() -> None:
    ev = clean()
    ev.markets["AAAUSDT"] = replace(ev.markets["AAAUSDT"], min_notional=D(50))
    del ev.ledger[1], ev.arrivals[1], ev.rows[1]
    ev.traders[0] = replace(ev.traders[0], sell=None)
    ev.final_balances["AAA"] = (D("9.99"), D(0))
    assert violations(ev) == {}


def test_a_sell_of_more_than_the_buy_left_after_its_commission() -> None:
    ev = clean()
    ev.ledger[1]["origQty"] = "10"  # the commission was taken in AAA: only 9.99 is there
    found = violations(ev)
    assert found["oversold_positions"] == 1


def test_a_sell_refused_for_balance() -> None:
    ev = clean()
    msg = {"code": -2010, "msg": "Account has insufficient balance for requested action."}
    ev.arrivals.insert(1, arrival("AAAUSDT-t1-0S", S + S // 3, None, "SELL", msg))
    assert violations(ev) == {"sells_rejected_for_balance": 1}


@pytest.mark.parametrize(
    ("asset", "balance", "name"),
    [
        ("USDT", (D(91), D(0)), "unreconciled_balances"),
        ("AAA", (D("-0.01"), D("10")), "negative_balances"),
    ],
)
def test_balances_that_do_not_reconcile(asset: str, balance: Any, name: str) -> None:
    ev = clean()
    ev.final_balances[asset] = balance
    assert violations(ev)[name] == 1


def test_the_store_and_the_exchange_disagree_on_holdings_and_fees() -> None:
    ev = clean()
    ev.rows[0] = replace(ev.rows[0], executed_qty=D(11))  # the store believes 11 bought
    assert violations(ev) == {"holdings_disagree": 1}
    ev = clean()
    ev.traders[0] = replace(ev.traders[0], buy_fee_base=D(0))  # it missed the AAA commission
    assert violations(ev) == {"fees_disagree": 1}


def test_a_sell_without_its_buy() -> None:
    ev = clean()
    ev.ledger.append(order(5, "AAAUSDT-t9-4S", "SELL", "1", "CANCELED"))
    ev.arrivals.append(arrival("AAAUSDT-t9-4S", S, 5, "SELL"))
    ev.rows.append(Row("AAAUSDT-t9-4S", "AAAUSDT", "SELL", "CANCELED", D(0), 5, "t9", S // 2))
    assert violations(ev) == {"orphaned_sells": 1}


def test_kill_moments_and_when_a_fill_was_known() -> None:
    assert known_at_ns(5, [(1, 10)]) == 10
    assert known_at_ns(12, [(1, 10)]) == 12
    # due 10 after the fill, unless the node is killed sooner: then 10 after its successor
    assert sell_due_ns(0, [], 10) == 10
    assert sell_due_ns(0, [(10, 12)], 10) == 10  # killed just as it was due: still late
    assert sell_due_ns(0, [(3, 4), (9, 11), (30, 31)], 10) == 21
    assert sell_due_ns(5, [(1, 7)], 10) == 17  # filled while no node ran
    strikes = [Strike("intent", 100, "a"), Strike("intent", 100, "b"), Strike("fill", 1, "c")]
    summary = aim_summary(strikes, [arrival("a", 150, 1), arrival("b", 50, 2)])
    assert summary["intent"] == {"kills": 2, "timed_out": 0, "before_the_call": 1}
    assert summary["fill"] == {"kills": 1, "timed_out": 0}
