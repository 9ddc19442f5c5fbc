"""Property: whatever is placed, filled or cancelled through the REST API, every balance equals
its start plus the flows of all fills minus all commissions (from `/_sim/ledger`)."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgehog.simulator import start_simulator

from .conftest import BALANCES, Api

PRICES = st.sampled_from(["0.48", "0.49", "0.5", "0.51", "0.52"])
OPS = st.one_of(
    st.tuples(st.just("limit"), st.sampled_from(["BUY", "SELL"]), PRICES,
              st.sampled_from(["GTC", "IOC", "FOK"]), st.integers(10, 60)),
    st.tuples(st.just("market"), st.sampled_from(["BUY", "SELL"]), st.integers(5, 40)),
    st.tuples(st.just("trade"), PRICES, st.integers(1, 50)),
    st.tuples(st.just("cancel"), st.integers(1, 30)),
)  # fmt: skip


async def run(ops: list[tuple[Any, ...]]) -> None:
    sim = await start_simulator(symbols=["XRPUSDT"], balances=BALANCES)
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(session, sim)
            await api.trade("0.5")
            for op in ops:
                if op[0] == "limit":
                    _, side, price, tif, qty = op
                    await api.order(side=side, price=price, timeInForce=tif, quantity=qty)
                elif op[0] == "market":
                    await api.signed("POST", "/api/v3/order", symbol="XRPUSDT", side=op[1],
                                     type="MARKET", quantity=op[2])  # fmt: skip
                elif op[0] == "trade":
                    await api.trade(op[1], qty=str(op[2]))
                else:
                    await api.signed("DELETE", "/api/v3/order", symbol="XRPUSDT", orderId=op[1])
            ledger = await api.sim_get("ledger")
            _, account, _ = await api.signed("GET", "/api/v3/account")
    finally:
        await sim.close()
    expected = dict(BALANCES)
    for order in ledger["orders"]:
        sign = 1 if order["side"] == "BUY" else -1
        for fill in order["fills"]:
            qty = D(fill["qty"])
            expected["XRP"] += sign * qty
            expected["USDT"] -= sign * qty * D(fill["price"])
            expected[fill["commissionAsset"]] -= D(fill["commission"])
    held = {b["asset"]: D(b["free"]) + D(b["locked"]) for b in account["balances"]}
    assert held == {a: v for a, v in expected.items() if a in held}
    assert all(D(b["free"]) >= 0 and D(b["locked"]) >= 0 for b in account["balances"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPS, min_size=1, max_size=25))
def test_balances_reconcile_with_the_ledger(ops: list[tuple[Any, ...]]) -> None:
    asyncio.run(run(ops))
