"""The grid's settings and its level prices, validated like naive's: every value bounded,
unknown keys refused by name, the symbol's filters checked before any trader starts.

    g_i = floor_tick(lower + i * (upper - lower) / (N - 1)),  i = 0 .. N-1
    quantity_i = floor_step((budget / (N - 1)) / g_i)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any, ClassVar

from hedgehog.core.decimals import floor_to, fmt
from hedgehog.core.errors import ConfigError
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.symbols import normalize_symbol
from hedgehog.strategy.risk import RISK_KEYS, parse_flag, parse_max_loss, risk_dict

MAX_LEVELS = 1000
MAX_TEXT = 40  # characters of a number as given


@dataclass(frozen=True, slots=True)
class GridSettings:
    """`levels` prices from `lower` to `upper`; `budget` (quote) spread evenly over the
    N - 1 buy levels; `fee` the commission rate the backtest charges."""

    STRATEGY: ClassVar[str] = "grid"
    KEYS: ClassVar[tuple[str, ...]] = ("lower", "upper", "levels", "budget", "fee", *RISK_KEYS)

    symbol: str
    lower: Decimal
    upper: Decimal
    levels: int
    budget: Decimal = Decimal(1000)
    fee: Decimal = Decimal("0.001")
    # risk controls (issue 13; `hedgehog.strategy.risk`), off by default
    max_loss: Decimal | None = None
    halt_cancels_buys: bool = False

    @classmethod
    def parse(cls, symbol: str, /, **values: Any) -> GridSettings:
        """From user input (strings, ints, Decimals); a `ConfigError` names what is wrong."""
        unknown = [k for k in values if k not in cls.KEYS]
        if unknown:
            raise ConfigError(
                f"grid: unknown setting {unknown[0][:40]!r} (known: {', '.join(cls.KEYS)})"
            )
        missing = [k for k in ("lower", "upper", "levels") if values.get(k) is None]
        if missing:
            raise ConfigError(
                f"grid needs {', '.join(missing)} (e.g. --param lower=0.40 --param upper=0.44 "
                "--param levels=5)"
            )
        clean: dict[str, Any] = {"levels": _whole(values["levels"], "levels")}
        for key in ("lower", "upper", "budget", "fee"):
            if values.get(key) is not None:
                clean[key] = _decimal(values[key], key)
        if values.get("max_loss") is not None:
            clean["max_loss"] = parse_max_loss(values["max_loss"])
        if values.get("halt_cancels_buys") is not None:
            clean["halt_cancels_buys"] = parse_flag(
                values["halt_cancels_buys"], "halt_cancels_buys"
            )
        settings = cls(symbol=normalize_symbol(symbol), **clean)
        settings.check()
        return settings

    def check(self) -> None:
        """What needs no exchange data."""
        if not 2 <= self.levels <= MAX_LEVELS:
            raise ConfigError(f"grid: levels must be 2..{MAX_LEVELS} (got {self.levels})")
        if self.lower <= 0 or self.upper <= self.lower:
            raise ConfigError(
                f"grid: need 0 < lower < upper (got lower {fmt(self.lower)}, "
                f"upper {fmt(self.upper)})"
            )
        if self.budget <= 0:
            raise ConfigError(f"grid: budget must be positive (got {fmt(self.budget)})")
        if not 0 <= self.fee < 1:
            raise ConfigError(f"grid: fee must be in [0, 1) (got {fmt(self.fee)})")

    def check_against(self, filters: SymbolFilters) -> None:
        """The levels must stay distinct and positive once floored to the tick size."""
        self.check()
        prices = self.prices(filters)
        if prices[0] <= 0 or any(b <= a for a, b in pairwise(prices)):
            raise ConfigError(
                f"{self.symbol}: {self.levels} grid levels between {fmt(self.lower)} and "
                f"{fmt(self.upper)} collapse on the tick size {fmt(filters.tick_size)}; "
                "use fewer levels or a wider range"
            )

    def prices(self, filters: SymbolFilters) -> list[Decimal]:
        """The level prices g_0 .. g_{N-1}."""
        step = (self.upper - self.lower) / (self.levels - 1)
        return [floor_to(self.lower + i * step, filters.tick_size) for i in range(self.levels)]

    def quantity(self, price: Decimal, filters: SymbolFilters) -> Decimal:
        """What a level buys at `price`: its share of the budget, floored to the step."""
        return floor_to((self.budget / (self.levels - 1)) / price, filters.step_size)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready; the risk controls only when on (older rows read as before)."""
        out = {
            f.name: (fmt(v) if isinstance(v := getattr(self, f.name), Decimal) else v)
            for f in fields(self)
            if f.name not in RISK_KEYS
        }
        out.update(risk_dict(self))
        return out


def _decimal(value: object, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ConfigError(f"grid: {key} is not a number: {str(value)[:MAX_TEXT]!r}")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise ConfigError(f"grid: {key} is too long for a number")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ConfigError(f"grid: {key} is not a number: {value!r}") from None
    if not number.is_finite() or abs(number.adjusted()) > 30:
        raise ConfigError(f"grid: {key} is out of range: {value!r}")
    return number


def _whole(value: object, key: str) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"grid: {key} must be a whole number")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if len(text) > MAX_TEXT or not text.isascii() or not text.lstrip("-").isdigit():
        raise ConfigError(f"grid: {key} must be a whole number (got {text[:MAX_TEXT]!r})")
    return int(text)


__all__ = ["MAX_LEVELS", "GridSettings"]
