"""Trading settings of one symbol (the book's `settings` table) and their validation."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any

from hedgehog.core.decimals import fmt, to_decimal
from hedgehog.core.errors import ConfigError
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.symbols import normalize_symbol
from hedgehog.strategy.risk import RISK_KEYS, parse_flag, parse_max_loss, risk_dict

DEFAULTS: dict[str, Any] = {
    "chunks": 5,
    "budget": Decimal("1000"),
    "buy_down_interval": Decimal("0.0001"),
    "profit_interval": Decimal("0.001"),
    "rebuy_interval": Decimal("0.001"),
    "fee": Decimal("0.001"),
}
DECIMAL_FIELDS = ("budget", "buy_down_interval", "profit_interval", "rebuy_interval", "fee")
FIELDS = ("chunks", *DECIMAL_FIELDS)
RISK_FIELDS = (*RISK_KEYS, "stop_loss_interval")  # off by default; shown only when on
# Input comes from the CLI and the control API: bound it before it reaches the store, so that
# "1e-20000000" cannot become a 20 MB string and 10**30 chunks cannot overflow a column.
MAX_CHUNKS = 10_000
MAX_TEXT = 40  # characters of a number as given
MAX_DIGITS = 30  # significant digits of a Decimal setting
MIN_EXPONENT = -20  # 1e-20 is the finest step of a setting
MAX_MAGNITUDE = 15  # a budget below 10**16


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
    # risk controls (issue 13; `hedgehog.strategy.risk`), off by default
    max_loss: Decimal | None = None  # quote: halt the symbol below -max_loss of PnL
    halt_cancels_buys: bool = False  # a halt also cancels the symbol's open buys
    stop_loss_interval: Decimal | None = None  # sell a position below buy*(1 - this)

    @classmethod
    def parse(cls, symbol: str, /, **values: Any) -> TradingSettings:
        """Build settings from user input (strings, ints or Decimals); raise `ConfigError`.
        Any keyword is accepted as input (an unknown one is a `ConfigError`, never a
        `TypeError`), and every value is bounded in size and range."""
        clean: dict[str, Any] = {}
        for key, value in values.items():
            if value is None:
                continue
            if key == "chunks":
                clean[key] = _chunks(value)
            elif key in DECIMAL_FIELDS:
                clean[key] = _decimal(value, key)
            elif key == "max_loss":
                clean[key] = parse_max_loss(value)
            elif key == "halt_cancels_buys":
                clean[key] = parse_flag(value, key)
            elif key == "stop_loss_interval":
                text = value.strip().lower() if isinstance(value, str) else value
                clean[key] = None if text in ("", "off", "none") else _decimal(value, key)
            else:
                known = ", ".join((*FIELDS, *RISK_FIELDS))
                raise ConfigError(f"unknown setting {_shown(key)} (known: {known})")
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
        if self.chunks > MAX_CHUNKS:
            raise ConfigError(
                f"{self.symbol}: chunks must be at most {MAX_CHUNKS} (got {self.chunks})"
            )
        if self.budget <= 0:
            raise ConfigError(f"{self.symbol}: budget must be positive (got {fmt(self.budget)})")
        for name in ("buy_down_interval", "profit_interval", "rebuy_interval", "fee"):
            value: Decimal = getattr(self, name)
            if value < 0 or value >= 1:
                raise ConfigError(f"{self.symbol}: {name} must be in [0, 1) (got {fmt(value)})")
        stop = self.stop_loss_interval
        if stop is not None and not 0 < stop < 1:
            raise ConfigError(
                f"{self.symbol}: stop_loss_interval must be in (0, 1) (got {fmt(stop)})"
            )
        if self.max_loss is not None and self.max_loss <= 0:
            raise ConfigError(
                f"{self.symbol}: max_loss must be positive (got {fmt(self.max_loss)})"
            )

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
        """JSON-ready; the risk controls only when on (so settings without them read, store
        and print exactly as before they existed)."""
        out = {
            f.name: (fmt(v) if isinstance(v := getattr(self, f.name), Decimal) else v)
            for f in fields(self)
            if f.name not in RISK_FIELDS
        }
        out.update(risk_dict(self))
        if self.stop_loss_interval is not None:
            out["stop_loss_interval"] = fmt(self.stop_loss_interval)
        return out


def _shown(value: object) -> str:
    """`value` for an error message, cut short (input can be megabytes)."""
    text = repr(value)
    return text if len(text) <= MAX_TEXT + 2 else text[:MAX_TEXT] + "..."


def _chunks(value: object) -> int:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise ConfigError(f"chunks: {_shown(value)} is too long for a whole number")
    try:
        if isinstance(value, bool) or not isinstance(value, int | str | float | Decimal):
            raise TypeError(value)
        chunks = int(value)
        if isinstance(value, float | Decimal) and value != chunks:
            raise ValueError(value)  # int() would truncate 2.5 to 2
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"chunks: {_shown(value)} is not a whole number") from None
    if chunks > MAX_CHUNKS:  # (below 1: `check` says so, naming the symbol)
        raise ConfigError(f"chunks must be at most {MAX_CHUNKS} (got {_shown(value)})")
    return chunks


def _decimal(value: object, key: str) -> Decimal:
    """A Decimal setting from user input, with at most `MAX_DIGITS` significant digits,
    nothing finer than 10**MIN_EXPONENT and nothing above 10**(MAX_MAGNITUDE + 1)."""
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise ConfigError(f"{key}: {_shown(value)} is too long for a number")
    if isinstance(value, bool) or not isinstance(value, int | str | float | Decimal):
        raise ConfigError(f"{key}: {_shown(value)} is not a number (pass a string)")
    try:
        number = to_decimal(value, key)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc) if len(str(exc)) < 200 else f"{key}: not a number") from None
    if number.is_zero():
        return Decimal(0)
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # a finite number's
    kept = len(digits)
    while kept > 1 and digits[kept - 1] == 0:  # trailing zeros (normalize() would round)
        kept, exponent = kept - 1, exponent + 1
    if kept > MAX_DIGITS or exponent < MIN_EXPONENT or number.adjusted() > MAX_MAGNITUDE:
        raise ConfigError(
            f"{key}: {_shown(value)} is out of range (at most {MAX_DIGITS} significant digits, "
            f"nothing finer than 1e{MIN_EXPONENT}, below 1e{MAX_MAGNITUDE + 1})"
        )
    return number


__all__ = ["DEFAULTS", "FIELDS", "MAX_CHUNKS", "RISK_FIELDS", "TradingSettings", "replace"]
