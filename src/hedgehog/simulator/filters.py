"""Binance's symbol filters on a new order, checked before the matching engine sees it.

The engine knows PRICE_FILTER, LOT_SIZE and the minimum of MIN_NOTIONAL / NOTIONAL at the
order's price (`core.filters.SymbolFilters`). The saved exchangeInfo may declare more; those
declared are enforced here, with Binance's "Filter failure: <NAME>" (-1013):

- PERCENT_PRICE_BY_SIDE (and the older PERCENT_PRICE): a LIMIT price within the multipliers
  of the average price;
- NOTIONAL `maxNotional`; for MARKET orders `minNotional` / `maxNotional` only when
  `applyMinToMarket` / `applyMaxToMarket`, MIN_NOTIONAL only when `applyToMarket`, at the
  average price (a `quoteOrderQty` order: that amount);
- MARKET_LOT_SIZE for MARKET orders by quantity (LOT_SIZE applies to them too);
- MAX_NUM_ORDERS: open orders of the account on the symbol.

The average price is Binance's: the volume-weighted price of the trades of the last
`avgPriceMins` minutes (`/api/v3/avgPrice`, from the public API's trade histories when the
simulator wires them in `histories`), else the last trade price; `avgPriceMins` 0 means the
last price. Our synthetic exchangeInfo declares PRICE_FILTER, LOT_SIZE and NOTIONAL.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any, NamedTuple

from hedgehog.core.decimals import is_multiple
from hedgehog.core.types import Side
from hedgehog.simulator.history import QUOTE, VOLUME, SymbolHistory
from hedgehog.simulator.market import Market

_EIGHT = Decimal("0.00000001")


class OrderRequest(NamedTuple):
    """A new order's checked parameters."""

    symbol: str
    side: Side
    kind: str  # LIMIT, MARKET or LIMIT_MAKER
    time_in_force: str
    qty: Decimal | None
    quote_qty: Decimal | None
    price: Decimal | None
    client_id: str
    respond: str


def _dec(flt: Mapping[str, Any], name: str) -> Decimal:
    return Decimal(str(flt.get(name, "0")))


class OrderFilters:
    """The filters of every served symbol, as its exchangeInfo entry declares them."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.declared: dict[str, dict[str, Mapping[str, Any]]] = {
            str(e.get("symbol")): {str(f.get("filterType")): f for f in e.get("filters", [])}
            for e in market.exchange_info.get("symbols", [])
        }
        self.histories: Mapping[str, SymbolHistory] | None = None  # wired by the simulator

    def average(self, symbol: str, mins: int) -> Decimal | None:
        """Binance's average price over `mins` minutes (0: the last price); None: no trade."""
        last = self.market.last_price.get(symbol)
        history = None if self.histories is None else self.histories.get(symbol)
        if mins <= 0 or history is None:
            return last
        window = history.window(self.market.now_ms() - mins * 60_000, seconds=True)
        if window is None or window[VOLUME] <= 0:
            return last
        return Decimal(window[QUOTE] / window[VOLUME]).quantize(_EIGHT, ROUND_DOWN)

    def check(self, r: OrderRequest) -> str | None:
        """The name of the first filter the order fails, or None."""
        declared = self.declared.get(r.symbol, {})
        if r.kind == "MARKET":
            failed = self._market(r, declared)
        else:
            failed = self._limit(r, declared)
        if failed is None and "MAX_NUM_ORDERS" in declared:
            limit = int(declared["MAX_NUM_ORDERS"].get("maxNumOrders", 0))
            if len(self.market.engine.open_orders(r.symbol)) >= limit:
                failed = "MAX_NUM_ORDERS"
        return failed

    def _limit(self, r: OrderRequest, declared: dict[str, Mapping[str, Any]]) -> str | None:
        price, qty = r.price, r.qty
        assert price is not None and qty is not None
        problem = self.market.engine.filters(r.symbol).check(price, qty)
        if problem is not None:
            return self.market.filter_name(r.symbol, problem)
        by_side = declared.get("PERCENT_PRICE_BY_SIDE")
        plain = declared.get("PERCENT_PRICE")
        for flt, name in ((by_side, "PERCENT_PRICE_BY_SIDE"), (plain, "PERCENT_PRICE")):
            if flt is None:
                continue
            average = self.average(r.symbol, int(flt.get("avgPriceMins", 0)))
            if average is None:
                continue
            if name == "PERCENT_PRICE":
                up, down = _dec(flt, "multiplierUp"), _dec(flt, "multiplierDown")
            elif r.side is Side.BUY:
                up, down = _dec(flt, "bidMultiplierUp"), _dec(flt, "bidMultiplierDown")
            else:
                up, down = _dec(flt, "askMultiplierUp"), _dec(flt, "askMultiplierDown")
            if price > average * up or price < average * down:
                return name
        notional = declared.get("NOTIONAL")
        high = _dec(notional, "maxNotional") if notional is not None else _EIGHT * 0
        if high > 0 and price * qty > high:
            return "NOTIONAL"
        return None

    def _market(self, r: OrderRequest, declared: dict[str, Mapping[str, Any]]) -> str | None:
        notional_flt = declared.get("NOTIONAL") or declared.get("MIN_NOTIONAL") or {}
        average = self.average(r.symbol, int(notional_flt.get("avgPriceMins", 0)))
        value: Decimal | None = r.quote_qty
        if r.qty is not None:
            rules = self.market.engine.filters(r.symbol)
            qty = r.qty
            if qty <= 0 or qty < rules.min_qty or (rules.max_qty > 0 and qty > rules.max_qty):
                return "LOT_SIZE"
            if not is_multiple(qty, rules.step_size):
                return "LOT_SIZE"
            lot = declared.get("MARKET_LOT_SIZE")
            if lot is not None:
                low, high, step = _dec(lot, "minQty"), _dec(lot, "maxQty"), _dec(lot, "stepSize")
                if qty < low or (high > 0 and qty > high):
                    return "MARKET_LOT_SIZE"
                if step > 0 and not is_multiple(qty, step):
                    return "MARKET_LOT_SIZE"
            value = None if average is None else average * qty
        if value is None:
            return None
        flt = declared.get("NOTIONAL")
        if flt is not None:
            if flt.get("applyMinToMarket") and value < _dec(flt, "minNotional"):
                return "NOTIONAL"
            high = _dec(flt, "maxNotional")
            if flt.get("applyMaxToMarket") and high > 0 and value > high:
                return "NOTIONAL"
        flt = declared.get("MIN_NOTIONAL")
        if flt is not None and flt.get("applyToMarket") and value < _dec(flt, "minNotional"):
            return "MIN_NOTIONAL"
        return None
