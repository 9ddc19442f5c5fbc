"""The naive strategy's `TraderState` <-> JSON, exactly: `load_state(dump_state(s)) == s`.

Decimals are written as their exact string (`str(Decimal)`, so even the exponent survives),
enums as their values. The document carries a format number (`"v"`) so a later hedgehog can
read what an earlier one wrote (format 1 lacks the fill, sell-attempt and dust fields of 2).
A document that cannot be read raises `ValueError` ("not a trader state (...)"); the store
turns it into its `CorruptRow`, naming the row.

The helpers for what every strategy built on the one-buy-one-sell cycle shares (the symbol's
filters, the orders, the cycle's fields) are public: `hedgehog.grid.serde` uses them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Side
from hedgehog.naive.settings import DECIMAL_FIELDS, TradingSettings
from hedgehog.naive.state import OrderRef, TraderState
from hedgehog.strategy.risk import risk_dict

FORMAT = 2
_READABLE = (1, 2)
_FILTER_DECIMALS = tuple(f.name for f in fields(SymbolFilters) if f.type in ("Decimal", Decimal))
T = TypeVar("T")


def dump_state(state: TraderState) -> dict[str, Any]:
    """A JSON-compatible dict (str, int, bool, None, dicts, lists) holding the whole state."""
    settings = state.settings
    return {
        "v": FORMAT,
        **cycle_to_json(state),
        "settings": {
            "symbol": settings.symbol,
            "chunks": settings.chunks,
            **{name: str(getattr(settings, name)) for name in DECIMAL_FIELDS},
            **risk_dict(settings),
            **_stop_loss(settings),
        },
    }


def _stop_loss(settings: TradingSettings) -> dict[str, Any]:
    stop = settings.stop_loss_interval
    return {} if stop is None else {"stop_loss_interval": str(stop)}


def load_state(data: dict[str, Any]) -> TraderState:
    """The state `dump_state` wrote (format 1 or 2); `ValueError` if `data` is not one."""

    def build() -> TraderState:
        version = data.get("v")
        if version not in _READABLE:
            raise ValueError(f"unknown format {version!r}")
        s = data["settings"]
        settings = TradingSettings(
            symbol=as_str(s["symbol"]),
            chunks=as_int(s["chunks"]),
            **{name: as_dec(s[name]) for name in DECIMAL_FIELDS},
            # risk controls: absent in states written before them (off)
            max_loss=as_dec(s["max_loss"]) if s.get("max_loss") is not None else None,
            halt_cancels_buys=as_bool(s.get("halt_cancels_buys", False)),
            stop_loss_interval=(
                as_dec(s["stop_loss_interval"]) if s.get("stop_loss_interval") is not None else None
            ),
        )
        return TraderState(settings=settings, **cycle_from_json(data, full=version >= 2))

    return guarded(build)


def guarded(build: Callable[[], T]) -> T:
    """`build()`, any error of reading a document turned into one `ValueError`."""
    try:
        return build()
    except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
        what = f"{exc!r}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"not a trader state ({type(exc).__name__}: {what})") from None


# -- what every cycle-based state holds ----------------------------------------------------------
def cycle_to_json(state: TraderState) -> dict[str, Any]:
    """Every field of a `TraderState` but its settings."""
    return {
        "symbol": state.symbol,
        "trader_id": state.trader_id,
        "number": state.number,
        "cycle": state.cycle,
        "filters": filters_to_json(state.filters),
        "buy": order_to_json(state.buy),
        "sell": order_to_json(state.sell),
        "rebuy_notified": state.rebuy_notified,
        "rebuy_below": None if state.rebuy_below is None else str(state.rebuy_below),
        "buy_fee_base": str(state.buy_fee_base),
        "buy_fee_qty": str(state.buy_fee_qty),
        "buy_fill_ids": list(state.buy_fill_ids),
        "sell_attempt": state.sell_attempt,
        "sell_rejections": state.sell_rejections,
        "dust": str(state.dust),
        "blocked": state.blocked,
        **({} if state.stop_at is None else {"stop_at": str(state.stop_at)}),
    }


def cycle_from_json(data: dict[str, Any], full: bool = True) -> dict[str, Any]:
    """`cycle_to_json`'s fields back, as keyword arguments of the state's class (without
    `full`, the fields format 1 lacked are left to their defaults)."""
    below = data["rebuy_below"]
    values: dict[str, Any] = {
        "symbol": as_str(data["symbol"]),
        "trader_id": as_str(data["trader_id"]),
        "filters": filters_from_json(data["filters"]),
        "number": as_int(data["number"]),
        "cycle": as_int(data["cycle"]),
        "buy": order_from_json(data["buy"]),
        "sell": order_from_json(data["sell"]),
        "rebuy_notified": as_bool(data["rebuy_notified"]),
        "rebuy_below": None if below is None else as_dec(below),
        "buy_fee_base": as_dec(data["buy_fee_base"]),
    }
    if full:
        values |= {
            "buy_fee_qty": as_dec(data["buy_fee_qty"]),
            "buy_fill_ids": tuple(as_int(i) for i in as_list(data["buy_fill_ids"])),
            "sell_attempt": as_int(data["sell_attempt"]),
            "sell_rejections": as_int(data["sell_rejections"]),
            "dust": as_dec(data["dust"]),
            "blocked": as_str(data["blocked"]),
        }
    if data.get("stop_at") is not None:  # written only once a stop-loss fired
        values["stop_at"] = as_dec(data["stop_at"])
    return values


def filters_to_json(filters: SymbolFilters) -> dict[str, Any]:
    return {
        "symbol": filters.symbol,
        "base_asset": filters.base_asset,
        "quote_asset": filters.quote_asset,
        **{name: str(getattr(filters, name)) for name in _FILTER_DECIMALS},
    }


def filters_from_json(f: dict[str, Any]) -> SymbolFilters:
    return SymbolFilters(
        symbol=as_str(f["symbol"]),
        base_asset=as_str(f["base_asset"]),
        quote_asset=as_str(f["quote_asset"]),
        **{name: as_dec(f[name]) for name in _FILTER_DECIMALS},
    )


def order_to_json(order: OrderRef | None) -> dict[str, Any] | None:
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


def order_from_json(data: dict[str, Any] | None) -> OrderRef | None:
    if data is None:
        return None
    order_id = data["order_id"]
    return OrderRef(
        client_order_id=as_str(data["client_order_id"]),
        side=Side(data["side"]),
        price=as_dec(data["price"]),
        quantity=as_dec(data["quantity"]),
        status=as_str(data["status"]),
        order_id=None if order_id is None else as_int(order_id),
        executed_qty=as_dec(data["executed_qty"]),
    )


def as_dec(value: object) -> Decimal:
    if not isinstance(value, str):
        raise TypeError(f"expected a decimal string, got {value!r}")
    return Decimal(value)


def as_int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def as_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def as_str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def as_list(value: object) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"expected a list, got {value!r}")
    return list(value)


__all__ = ["FORMAT", "dump_state", "load_state"]
