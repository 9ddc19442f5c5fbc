"""Trading settings of one symbol (the book's `settings` table) and their validation."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any

from hedgehog.core.decimals import fmt, to_decimal
from hedgehog.core.filters import SymbolFilters
from hedgehog.errors import ConfigError

DEFAULTS: dict[str, Any] = {
    "chunks": 5,
    "budget": Decimal("1000"),
    "buy_down_interval": Decimal("0.0001"),
    "profit_interval": Decimal("0.001"),
    "rebuy_interval": Decimal("0.001"),
    "fee": Decimal("0.001"),
}
DECIMAL_FIELDS = ("budget", "buy_down_interval", "profit_interval", "rebuy_interval", "fee")


@dataclass(frozen=True, slots=True)
class TradingSettings:
    """How the naive strategy trades one symbol. Each of `chunks` traders trades budget/chunks."""

    symbol: str
    chunks: int = DEFAULTS["chunks"]
    budget: Decimal = DEFAULTS["budget"]
    buy_down_interval: Decimal = DEFAULTS["buy_down_interval"]
    profit_interval: Decimal = DEFAULTS["profit_interval"]
    rebuy_interval: Decimal = DEFAULTS["rebuy_interval"]
    fee: Decimal = DEFAULTS["fee"]

    @classmethod
    def parse(cls, symbol: str, **values: Any) -> TradingSettings:
        """Build settings from user input (strings, ints or Decimals); raise `ConfigError`."""
        clean: dict[str, Any] = {}
        for key, value in values.items():
            if value is None:
                continue
            if key == "chunks":
                try:
                    clean[key] = int(value)
                    if isinstance(value, float | Decimal) and value != clean[key]:
                        raise ValueError(value)  # int() would truncate 2.5 to 2
                except (TypeError, ValueError):
                    raise ConfigError(f"chunks: {value!r} is not a whole number") from None
            elif key in DECIMAL_FIELDS:
                try:
                    clean[key] = to_decimal(value, key)
                except (TypeError, ValueError) as exc:
                    raise ConfigError(str(exc)) from None
            else:
                raise ConfigError(f"unknown setting {key!r}")
        settings = cls(symbol=normalize_symbol(symbol), **clean)
        settings.check()
        return settings

    @property
    def chunk_budget(self) -> Decimal:
        return self.budget / self.chunks

    def check(self) -> None:
        """Validate what needs no exchange data."""
        if self.chunks < 1:
            raise ConfigError(f"{self.symbol}: chunks must be at least 1 (got {self.chunks})")
        if self.budget <= 0:
            raise ConfigError(f"{self.symbol}: budget must be positive (got {fmt(self.budget)})")
        for name in ("buy_down_interval", "profit_interval", "rebuy_interval", "fee"):
            value: Decimal = getattr(self, name)
            if value < 0 or value >= 1:
                raise ConfigError(f"{self.symbol}: {name} must be in [0, 1) (got {fmt(value)})")

    def check_against(self, filters: SymbolFilters) -> None:
        """Validate against the symbol's trading rules: each chunk must reach min notional."""
        self.check()
        if self.chunk_budget < filters.min_notional:
            raise ConfigError(
                f"{self.symbol}: budget/chunks = {fmt(self.chunk_budget)} is below the "
                f"exchange's minimum order value (min notional {fmt(filters.min_notional)}); "
                "raise the budget or lower chunks"
            )

    def with_values(self, **values: Any) -> TradingSettings:
        merged = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "symbol"}
        merged.update({k: v for k, v in values.items() if v is not None})
        return TradingSettings.parse(self.symbol, **merged)

    def as_dict(self) -> dict[str, Any]:
        return {
            f.name: (fmt(v) if isinstance(v := getattr(self, f.name), Decimal) else v)
            for f in fields(self)
        }


def normalize_symbol(symbol: str) -> str:
    """Symbols are case-insensitive and stored upper-case; reject what cannot be one."""
    s = symbol.strip().upper()
    if not s or not s.isascii() or not s.isalnum() or len(s) > 20:
        raise ConfigError(f"{symbol!r} is not a valid symbol (letters and digits, e.g. XRPUSDT)")
    return s


__all__ = ["DEFAULTS", "TradingSettings", "normalize_symbol", "replace"]
