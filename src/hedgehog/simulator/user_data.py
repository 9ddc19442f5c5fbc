"""The account's shapes that several endpoints share: commission rates and balance events.

- `account_commission`: `GET /api/v3/account/commission` and WS API `account.commission`;
- `order_commission`: `POST /api/v3/order/test` / `order.test` with `computeCommissionRates`;
- `position_event`: the `outboundAccountPosition` that follows an order event which moved
  balances (the symbol's base and quote asset, and the commission asset when another, e.g.
  BNB), on the WS API subscriptions and on listen-key streams alike.

The simulator has no special or tax commission and no BNB discount: those rates are zero, and
`discount.enabledForAccount` says whether the account pays its fees in BNB.
"""

from __future__ import annotations

from typing import Any

from hedgehog.core.decimals import ZERO
from hedgehog.core.errors import UnknownSymbol
from hedgehog.exchange.paper.rules import BNB, Commission, Rules
from hedgehog.simulator.market import Market, amount

_NONE = amount(ZERO)


def _discount(rules: Rules) -> dict[str, Any]:
    return {"enabledForAccount": rules.commission is Commission.BNB, "enabledForSymbol": True,
            "discountAsset": BNB, "discount": _NONE}  # fmt: skip


def account_commission(rules: Rules, symbol: str) -> dict[str, Any]:
    """The commission rates of `symbol` for this account."""
    zero = {"maker": _NONE, "taker": _NONE, "buyer": _NONE, "seller": _NONE}
    standard = {"maker": amount(rules.maker_fee), "taker": amount(rules.taker_fee),
                "buyer": _NONE, "seller": _NONE}  # fmt: skip
    return {"symbol": symbol, "standardCommission": standard, "specialCommission": zero,
            "taxCommission": dict(zero), "discount": _discount(rules)}  # fmt: skip


def order_commission(rules: Rules) -> dict[str, Any]:
    """The commission rates that would apply to a test order's trades."""
    zero = {"maker": _NONE, "taker": _NONE}
    return {
        "standardCommissionForOrder": {"maker": amount(rules.maker_fee),
                                       "taker": amount(rules.taker_fee)},
        "specialCommissionForOrder": zero,
        "taxCommissionForOrder": dict(zero),
        "discount": _discount(rules),
    }  # fmt: skip


def position_event(market: Market, report: dict[str, Any]) -> dict[str, Any] | None:
    """The `outboundAccountPosition` after an executionReport, None if no balance moved."""
    if report.get("x") not in ("NEW", "TRADE", "CANCELED", "EXPIRED"):
        return None
    engine = market.engine
    try:
        base, quote = engine.assets(str(report.get("s")))
    except UnknownSymbol:
        return None
    assets = [base, quote]
    fee_asset = report.get("N")
    if isinstance(fee_asset, str) and fee_asset not in assets:
        assets.append(fee_asset)
    balances = engine.balances()
    rows = []
    for asset in assets:
        balance = balances.get(asset)
        free = balance.free if balance is not None else ZERO
        locked = balance.locked if balance is not None else ZERO
        rows.append({"a": asset, "f": amount(free), "l": amount(locked)})
    return {"e": "outboundAccountPosition", "E": market.now_ms(), "u": report.get("T", 0),
            "B": rows}  # fmt: skip
