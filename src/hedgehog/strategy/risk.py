"""Risk controls shared by every strategy on the book's buy-then-sell cycle (issue 13): pure.

A symbol's PnL at price p is its realised PnL (the completed cycles' and the partial sells'
proceeds less their cost) plus the unrealised PnL of what its traders hold, valued at p with
the fee on both legs (`hedgehog.core.pnl`):

    pnl(p) = R + p*(1 - f)*Q - (1 + f)*C      Q = sum of held q_i, C = sum of q_i * b_i

With `max_loss` = X set, the symbol is *halted* by the first trade at a price p with
pnl(p) < -X, i.e. (Q > 0) p < ((1 + f)*C - R - X) / ((1 - f)*Q) = `halt_price`; with nothing
held, as soon as R < -X. A halted symbol places no new buy (and, with `halt_cancels_buys`,
cancels its open buys); the tree never lifts a halt (a human starts the symbol again with
other limits). Off by default: settings without `max_loss` never halt.

Settings carry the controls as optional fields: `max_loss` (quote, > 0; None: off) and
`halt_cancels_buys` (bool). The helpers here parse and show them alike for naive and grid.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from hedgehog.core.decimals import ZERO, fmt
from hedgehog.core.errors import ConfigError
from hedgehog.core.pnl import cycle_pnl

ONE = Decimal(1)
RISK_KEYS = ("max_loss", "halt_cancels_buys")
MAX_TEXT = 40
MAX_LOSS_MAGNITUDE = 15  # below 1e16 quote, like a budget


def parse_max_loss(value: object) -> Decimal | None:
    """`max_loss` from user input: a positive quote amount; None (or "", "off"): off."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "off", "none")):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ConfigError(f"max_loss: {str(value)[:MAX_TEXT]!r} is not a number (pass a string)")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise ConfigError("max_loss: too long for a number")
    try:
        number = Decimal(value)
    except ArithmeticError:
        raise ConfigError(f"max_loss: {value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise ConfigError(f"max_loss must be a positive quote amount (got {value!r})")
    exponent = number.as_tuple().exponent
    if number.adjusted() > MAX_LOSS_MAGNITUDE or (isinstance(exponent, int) and exponent < -20):
        raise ConfigError(f"max_loss: {value!r} is out of range")
    return number


def parse_flag(value: object, key: str) -> bool:
    """A boolean setting from user input: true/false, yes/no, on/off, 1/0."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()[: MAX_TEXT + 1]
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0", ""):
        return False
    raise ConfigError(f"{key} must be true or false (got {text[:MAX_TEXT]!r})")


def risk_dict(settings: Any) -> dict[str, Any]:
    """The risk fields of `settings` that are on, JSON-ready (none when off: older readers and
    stored rows see exactly what they saw before)."""
    out: dict[str, Any] = {}
    max_loss = getattr(settings, "max_loss", None)
    if max_loss is not None:
        out["max_loss"] = fmt(max_loss)
    if getattr(settings, "halt_cancels_buys", False):
        out["halt_cancels_buys"] = True
    return out


def cycle_realised(state: Any, fee: Decimal) -> Decimal:
    """The realised PnL of a trader's cycle so far: what its sell executed, against its buy
    price, fees on both legs (`hedgehog.core.pnl.cycle_pnl`)."""
    buy, sell = getattr(state, "buy", None), getattr(state, "sell", None)
    if buy is None or sell is None or sell.executed_qty <= 0:
        return ZERO
    return cycle_pnl(sell.executed_qty, buy.price, sell.price, fee)


def exposure(states: Iterable[Any], fee: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """(Q, C, R_open) of traders still running: held quantity, its cost basis, and the
    realised PnL of their partial sells."""
    q_sum, c_sum, r_sum = ZERO, ZERO, ZERO
    for state in states:
        buy = getattr(state, "buy", None)
        if buy is None or buy.executed_qty <= 0:
            continue
        sell = getattr(state, "sell", None)
        sold = sell.executed_qty if sell is not None else ZERO
        q = buy.executed_qty - sold
        q_sum += q
        c_sum += q * buy.price
        r_sum += cycle_realised(state, fee)
    return q_sum, c_sum, r_sum


def pnl_at(price: Decimal, realised: Decimal, q: Decimal, c: Decimal, fee: Decimal) -> Decimal:
    """The symbol's PnL (realised plus unrealised) at `price`."""
    pnl: Decimal = realised + price * (ONE - fee) * q - (ONE + fee) * c
    return pnl


def halt_price(
    realised: Decimal, q: Decimal, c: Decimal, fee: Decimal, max_loss: Decimal
) -> Decimal | None:
    """The price below which (strictly) the symbol's PnL is below -max_loss, or None when no
    price makes it so (nothing held and R >= -X). With nothing held and R < -X every price
    does: +infinity."""
    if q <= 0:
        return Decimal("Infinity") if realised < -max_loss else None
    return ((ONE + fee) * c - realised - max_loss) / ((ONE - fee) * q)


def breached(price: Decimal, threshold: Decimal | None) -> bool:
    """Whether a trade at `price` halts the symbol, given its `halt_price`. This comparison
    *is* the rule (not `pnl_at(price) < -max_loss`, which rounding could make differ by a
    hair): the skip-ahead replay's band (`threshold` and above is quiet) is the same number."""
    return threshold is not None and price < threshold


__all__ = [
    "RISK_KEYS",
    "breached",
    "cycle_realised",
    "exposure",
    "halt_price",
    "parse_flag",
    "parse_max_loss",
    "pnl_at",
    "risk_dict",
]
