"""Symbol trading rules (tick, step, min qty, min notional), parsed from Binance exchangeInfo."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from hedgehog.core.decimals import ZERO, is_multiple, to_decimal


@dataclass(frozen=True, slots=True)
class SymbolFilters:
    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal = ZERO
    min_notional: Decimal = ZERO
    min_price: Decimal = ZERO
    max_price: Decimal = ZERO
    max_qty: Decimal = ZERO

    def check(self, price: Decimal, qty: Decimal, market: bool = False) -> str | None:
        """Name the filter that a LIMIT order at `price` for `qty` violates, or None. A MARKET
        order sends no price, so PRICE_FILTER does not apply to it (Binance's rule); `price`
        is then the fill price, for MIN_NOTIONAL."""
        if not market:
            if price <= 0 or (self.min_price > 0 and price < self.min_price):
                return "PRICE_FILTER: price below the minimum"
            if self.max_price > 0 and price > self.max_price:
                return "PRICE_FILTER: price above the maximum"
            if not is_multiple(price, self.tick_size):
                return "PRICE_FILTER: price is not a multiple of the tick size"
        if qty <= 0 or qty < self.min_qty:
            return "LOT_SIZE: quantity below the minimum"
        if self.max_qty > 0 and qty > self.max_qty:
            return "LOT_SIZE: quantity above the maximum"
        if not is_multiple(qty, self.step_size):
            return "LOT_SIZE: quantity is not a multiple of the step size"
        if price * qty < self.min_notional:
            return "MIN_NOTIONAL: notional below the minimum"
        return None


def parse_symbol(entry: dict[str, Any]) -> SymbolFilters:
    """Parse one element of exchangeInfo's `symbols` list."""
    symbol = str(entry["symbol"]).upper()
    values: dict[str, Decimal] = {}
    for flt in entry.get("filters", []):
        kind = flt.get("filterType")
        if kind == "PRICE_FILTER":
            values["tick_size"] = to_decimal(flt["tickSize"], f"{symbol} tickSize")
            values["min_price"] = to_decimal(flt.get("minPrice", "0"), f"{symbol} minPrice")
            values["max_price"] = to_decimal(flt.get("maxPrice", "0"), f"{symbol} maxPrice")
        elif kind == "LOT_SIZE":
            values["step_size"] = to_decimal(flt["stepSize"], f"{symbol} stepSize")
            values["min_qty"] = to_decimal(flt.get("minQty", "0"), f"{symbol} minQty")
            values["max_qty"] = to_decimal(flt.get("maxQty", "0"), f"{symbol} maxQty")
        elif kind in ("MIN_NOTIONAL", "NOTIONAL"):
            values["min_notional"] = to_decimal(flt["minNotional"], f"{symbol} minNotional")
    if "tick_size" not in values or "step_size" not in values:
        raise ValueError(f"{symbol}: exchange info lacks PRICE_FILTER or LOT_SIZE")
    return SymbolFilters(
        symbol=symbol,
        base_asset=str(entry.get("baseAsset", "")),
        quote_asset=str(entry.get("quoteAsset", "")),
        **values,
    )


def parse_exchange_info(data: dict[str, Any]) -> dict[str, SymbolFilters]:
    """All symbols of an exchangeInfo answer, keyed by upper-case symbol."""
    symbols = data.get("symbols")
    if not isinstance(symbols, list):
        raise ValueError("exchange info has no 'symbols' list")
    return {f.symbol: f for f in map(parse_symbol, symbols)}


def load_exchange_info(path: str | Path) -> dict[str, SymbolFilters]:
    """Read a saved `GET /api/v3/exchangeInfo` answer from a file."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise ValueError(f"exchange info file not found: {p}") from None
    except OSError as exc:  # a folder, no permission: one line, not a traceback
        raise ValueError(f"cannot read exchange info file {p}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: not valid JSON ({exc})") from None
    return parse_exchange_info(data)


def split_symbol(symbol: str) -> tuple[str, str]:
    """Guess base and quote assets of a symbol with no exchange info (e.g. XRPUSDT)."""
    for quote in ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY"):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol[:-3], symbol[-3:]
