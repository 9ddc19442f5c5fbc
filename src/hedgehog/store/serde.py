"""`TraderState` <-> JSON, exactly: `state_from_json(state_to_json(s)) == s` for every state.

Decimals are written as their exact string (`str(Decimal)`, so even the exponent survives),
enums as their values. The document carries a format number (`"v"`) so a later hedgehog can
read what an earlier one wrote (format 1 lacks the fill, sell-attempt and dust fields of 2).
A document that cannot be read raises `CorruptRow`.
"""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal, InvalidOperation
from typing import Any

from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Side
from hedgehog.naive.settings import DECIMAL_FIELDS, TradingSettings
from hedgehog.naive.strategy import OrderRef, TraderState
from hedgehog.store.errors import CorruptRow

FORMAT = 2
_READABLE = (1, 2)
_FILTER_DECIMALS = tuple(f.name for f in fields(SymbolFilters) if f.type in ("Decimal", Decimal))


def state_to_json(state: TraderState) -> dict[str, Any]:
    """A JSON-compatible dict (str, int, bool, None, dicts) holding the whole state."""
    settings, filters = state.settings, state.filters
    return {
        "v": FORMAT,
        "symbol": state.symbol,
        "trader_id": state.trader_id,
        "number": state.number,
        "cycle": state.cycle,
        "settings": {
            "symbol": settings.symbol,
            "chunks": settings.chunks,
            **{name: str(getattr(settings, name)) for name in DECIMAL_FIELDS},
        },
        "filters": {
            "symbol": filters.symbol,
            "base_asset": filters.base_asset,
            "quote_asset": filters.quote_asset,
            **{name: str(getattr(filters, name)) for name in _FILTER_DECIMALS},
        },
        "buy": _order_to_json(state.buy),
        "sell": _order_to_json(state.sell),
        "rebuy_notified": state.rebuy_notified,
        "rebuy_below": None if state.rebuy_below is None else str(state.rebuy_below),
        "buy_fee_base": str(state.buy_fee_base),
        "buy_fee_qty": str(state.buy_fee_qty),
        "buy_fill_ids": list(state.buy_fill_ids),
        "sell_attempt": state.sell_attempt,
        "sell_rejections": state.sell_rejections,
        "dust": str(state.dust),
        "blocked": state.blocked,
    }


def state_from_json(data: dict[str, Any]) -> TraderState:
    """The state `state_to_json` wrote; `CorruptRow` if `data` is not such a document."""
    try:
        if data.get("v") not in _READABLE:
            raise ValueError(f"unknown format {data.get('v')!r}")
        s, f = data["settings"], data["filters"]
        settings = TradingSettings(
            symbol=_str(s["symbol"]),
            chunks=_int(s["chunks"]),
            **{name: _dec(s[name]) for name in DECIMAL_FIELDS},
        )
        filters = SymbolFilters(
            symbol=_str(f["symbol"]),
            base_asset=_str(f["base_asset"]),
            quote_asset=_str(f["quote_asset"]),
            **{name: _dec(f[name]) for name in _FILTER_DECIMALS},
        )
        below = data["rebuy_below"]
        extra: dict[str, Any] = {}
        if data["v"] >= 2:
            extra = {
                "buy_fee_qty": _dec(data["buy_fee_qty"]),
                "buy_fill_ids": tuple(_int(i) for i in data["buy_fill_ids"]),
                "sell_attempt": _int(data["sell_attempt"]),
                "sell_rejections": _int(data["sell_rejections"]),
                "dust": _dec(data["dust"]),
                "blocked": _str(data["blocked"]),
            }
        return TraderState(
            symbol=_str(data["symbol"]),
            trader_id=_str(data["trader_id"]),
            settings=settings,
            filters=filters,
            number=_int(data["number"]),
            cycle=_int(data["cycle"]),
            buy=_order_from_json(data["buy"]),
            sell=_order_from_json(data["sell"]),
            rebuy_notified=_bool(data["rebuy_notified"]),
            rebuy_below=None if below is None else _dec(below),
            buy_fee_base=_dec(data["buy_fee_base"]),
            **extra,
        )
    except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
        what = f"{exc!r}" if isinstance(exc, KeyError) else str(exc)
        raise CorruptRow(f"not a trader state ({type(exc).__name__}: {what})") from None


def _order_to_json(order: OrderRef | None) -> dict[str, Any] | None:
    if order is None:
        return None
    return {
        "client_order_id": order.client_order_id,
        "side": order.side.value,
        "price": str(order.price),
        "quantity": str(order.quantity),
        "status": order.status,
        "order_id": order.order_id,
        "executed_qty": str(order.executed_qty),
    }


def _order_from_json(data: dict[str, Any] | None) -> OrderRef | None:
    if data is None:
        return None
    order_id = data["order_id"]
    return OrderRef(
        client_order_id=_str(data["client_order_id"]),
        side=Side(data["side"]),
        price=_dec(data["price"]),
        quantity=_dec(data["quantity"]),
        status=_str(data["status"]),
        order_id=None if order_id is None else _int(order_id),
        executed_qty=_dec(data["executed_qty"]),
    )


def _dec(value: object) -> Decimal:
    if not isinstance(value, str):
        raise TypeError(f"expected a decimal string, got {value!r}")
    return Decimal(value)


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value
