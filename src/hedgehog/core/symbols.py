"""Symbol names: case-insensitive, kept upper-case, letters and digits only (Binance's own
symbols are at most 20 such characters). The one check every entry point uses."""

from __future__ import annotations

from hedgehog.core.errors import ConfigError

MAX_SYMBOL = 20
_SHOWN = 40  # characters of bad input quoted in an error (input can be megabytes)


def normalize_symbol(symbol: object) -> str:
    """`symbol` upper-cased and stripped; a `ConfigError` for what cannot be a symbol."""
    s = symbol.strip().upper() if isinstance(symbol, str) else ""
    if not s or not s.isascii() or not s.isalnum() or len(s) > MAX_SYMBOL:
        shown = repr(symbol)
        shown = shown if len(shown) <= _SHOWN + 2 else shown[:_SHOWN] + "..."
        raise ConfigError(f"{shown} is not a valid symbol (letters and digits, e.g. XRPUSDT)")
    return s


__all__ = ["MAX_SYMBOL", "normalize_symbol"]
