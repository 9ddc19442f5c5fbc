"""The money rules of the matching engine: who pays which commission, and how orders fill.

Binance spot charges a BUY's commission in the asset it receives (the base asset) and a SELL's
in the quote asset, unless the account pays fees with BNB and holds enough of it. Backtests
keep charging everything in the quote asset (`Commission.QUOTE`), so that their results stay
exact and comparable across versions; the paper exchange and the simulator follow Binance.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from enum import StrEnum

from hedgehog.core.decimals import ZERO

BNB = "BNB"
_SATOSHI = Decimal("0.00000001")


class Commission(StrEnum):
    """Which asset pays the commission."""

    RECEIVED = "received"  # Binance's default: the BUY pays in base, the SELL in quote
    QUOTE = "quote"  # everything in the quote asset (hedgehog's backtest default)
    BNB = "bnb"  # in BNB at the BNB/quote price, else as RECEIVED (as Binance does)


class FillMode(StrEnum):
    """How much of a resting order one crossing trade fills."""

    VOLUME = "volume"  # up to the trade's quantity, by price then time priority (Binance-like)
    FULL = "full"  # the whole order, whatever the trade's quantity (hedgehog's backtests)


@dataclass(frozen=True, slots=True)
class Rules:
    """The engine's money rules. The defaults are the backtests'; `binance()` is Binance's."""

    commission: Commission = Commission.QUOTE
    fills: FillMode = FillMode.FULL
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    taker: bool = False  # a LIMIT order crossing the last trade price fills at once (taker)

    def __post_init__(self) -> None:
        for name in ("maker_fee", "taker_fee"):
            fee = getattr(self, name)
            if not fee.is_finite() or fee < 0 or fee >= 1:
                raise ValueError(f"{name} must be a number in [0, 1), not {fee}")
        object.__setattr__(self, "commission", Commission(self.commission))
        object.__setattr__(self, "fills", FillMode(self.fills))

    @classmethod
    def binance(
        cls,
        commission: Commission | str = Commission.RECEIVED,
        fills: FillMode | str = FillMode.VOLUME,
        maker_fee: Decimal = Decimal("0.001"),
        taker_fee: Decimal = Decimal("0.001"),
    ) -> Rules:
        """Binance spot: commission in the received asset, volume fills, crossing = taker."""
        return cls(Commission(commission), FillMode(fills), maker_fee, taker_fee, taker=True)

    @property
    def buy_lock_fee(self) -> Decimal:
        """The fee a BUY locks on top of its notional: only when commission is in quote."""
        if self.commission is Commission.QUOTE:
            return max(self.maker_fee, self.taker_fee)
        return ZERO


def commission_for(
    rules: Rules,
    is_buy: bool,
    qty: Decimal,
    notional: Decimal,
    rate: Decimal,
    base: str,
    quote: str,
    bnb_price: Decimal | None,
    bnb_free: Decimal,
) -> tuple[Decimal, str]:
    """(commission, asset) of one fill of `qty` for `notional` at the fee `rate`.

    BNB: the quote-valued commission converted at `bnb_price` (BNB in quote), rounded up to
    8 decimals; when the price is unknown or `bnb_free` does not cover it, the received asset
    pays instead. No BNB discount is modelled.
    """
    mode = rules.commission
    if mode is Commission.QUOTE:
        return notional * rate, quote
    if mode is Commission.BNB and bnb_price is not None and bnb_price > 0:
        in_bnb = (notional * rate / bnb_price).quantize(_SATOSHI, rounding=ROUND_UP)
        if in_bnb <= bnb_free:
            return in_bnb, BNB
    if is_buy:
        return qty * rate, base
    return notional * rate, quote
