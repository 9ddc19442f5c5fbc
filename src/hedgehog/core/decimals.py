"""Decimal rules: exact rounding to exchange ticks and steps.

Prices and quantities are `Decimal`, never float. Rounding is done as `(x // unit) * unit`
(not `quantize` on an unnormalised tick, which the book warns about), then normalised so that
equal values always print the same way.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

ZERO = Decimal(0)
ONE = Decimal(1)


def to_decimal(value: object, what: str = "value") -> Decimal:
    """Parse a wire value (str, int or Decimal) into a finite Decimal, or raise ValueError."""
    if isinstance(value, float):
        raise TypeError(f"{what}: floats are not accepted for money, pass a string")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{what}: {value!r} is not a number") from exc
    if not result.is_finite():
        raise ValueError(f"{what}: {value!r} is not a finite number")
    return result


def normalize(value: Decimal) -> Decimal:
    """Strip trailing zeros without switching to exponent notation for integers."""
    if value == 0:
        return ZERO
    result = value.normalize()
    exponent = result.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return result.quantize(ONE)
    return result


def floor_to(value: Decimal, unit: Decimal) -> Decimal:
    """Largest multiple of `unit` that is <= `value` (unit > 0)."""
    if unit <= 0:
        return normalize(value)
    return normalize((value // unit) * unit)


def is_multiple(value: Decimal, unit: Decimal) -> bool:
    """True when `value` is an exact multiple of `unit` (any value when unit is 0)."""
    return unit <= 0 or value % unit == 0


def fmt(value: Decimal) -> str:
    """Canonical text of a Decimal: no exponent, no trailing zeros."""
    return format(normalize(value), "f")
