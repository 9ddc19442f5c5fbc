"""The grid strategy's `GridState` <-> JSON, exactly: `load_state(dump_state(s)) == s`.

The cycle's fields are written as naive writes them (`hedgehog.naive.serde`); the settings are
the grid's (`lower`, `upper`, `levels`, `budget`, `fee`) and the level trader's own fields
(`level`, `buy_at`, `sell_at`, `quantity`) are added. Decimals are their exact strings. A
document that cannot be read raises `ValueError` ("not a trader state (...)").
"""

from __future__ import annotations

from typing import Any

from hedgehog.grid.settings import GridSettings
from hedgehog.grid.strategy import GridState
from hedgehog.naive.serde import (
    as_bool,
    as_dec,
    as_int,
    as_str,
    cycle_from_json,
    cycle_to_json,
    guarded,
)
from hedgehog.strategy.risk import risk_dict

FORMAT = 1
_DECIMALS = ("lower", "upper", "budget", "fee")


def dump_state(state: GridState) -> dict[str, Any]:
    """A JSON-compatible dict holding the whole state."""
    settings: GridSettings = state.settings  # type: ignore[assignment]  # a grid's settings
    return {
        "v": FORMAT,
        **cycle_to_json(state),
        "settings": {
            "symbol": settings.symbol,
            "levels": settings.levels,
            **{name: str(getattr(settings, name)) for name in _DECIMALS},
            **risk_dict(settings),
        },
        "level": state.level,
        "buy_at": str(state.buy_at),
        "sell_at": str(state.sell_at),
        "quantity": str(state.quantity),
    }


def load_state(data: dict[str, Any]) -> GridState:
    """The state `dump_state` wrote; `ValueError` if `data` is not one."""

    def build() -> GridState:
        if data.get("v") != FORMAT:
            raise ValueError(f"unknown grid format {data.get('v')!r}")
        s = data["settings"]
        settings = GridSettings(
            symbol=as_str(s["symbol"]),
            levels=as_int(s["levels"]),
            **{name: as_dec(s[name]) for name in _DECIMALS},
            # risk controls: absent in states written before them (off)
            max_loss=as_dec(s["max_loss"]) if s.get("max_loss") is not None else None,
            halt_cancels_buys=as_bool(s.get("halt_cancels_buys", False)),
        )
        return GridState(
            settings=settings,  # type: ignore[arg-type]  # the cycle reads only filters
            **cycle_from_json(data),
            level=as_int(data["level"]),
            buy_at=as_dec(data["buy_at"]),
            sell_at=as_dec(data["sell_at"]),
            quantity=as_dec(data["quantity"]),
        )

    return guarded(build)


__all__ = ["FORMAT", "dump_state", "load_state"]
