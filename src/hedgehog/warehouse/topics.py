"""The topics the warehouse records: `TRADE_EVENTS:<SYMBOL>` and `ORDERS:<SYMBOL>`.

The prefix is exact (it is the pub/sub topic's own name); the symbol is case-insensitive and
stored upper-case, so `TRADE_EVENTS:xrpusdt` and `TRADE_EVENTS:XRPUSDT` are one topic.
"""

from __future__ import annotations

from typing import Final, Literal

from hedgehog.core.errors import ConfigError
from hedgehog.core.symbols import normalize_symbol
from hedgehog.core.types import orders_topic, trade_topic

TRADES: Final = "TRADE_EVENTS"
ORDERS: Final = "ORDERS"
Kind = Literal["TRADE_EVENTS", "ORDERS"]
_EXAMPLE = "TRADE_EVENTS:<SYMBOL> or ORDERS:<SYMBOL>, e.g. TRADE_EVENTS:XRPUSDT"


def parse_topic(topic: str) -> tuple[Kind, str]:
    """(kind, symbol) of a warehouse topic; `ConfigError` saying what is wrong otherwise."""
    text = topic.strip() if isinstance(topic, str) else ""
    kind, colon, symbol = text.partition(":")
    if not colon or kind not in (TRADES, ORDERS):
        raise ConfigError(f"{topic!r} is not a topic the warehouse records: give {_EXAMPLE}")
    try:
        symbol = normalize_symbol(symbol)
    except ConfigError:
        raise ConfigError(
            f"{topic!r} is not a topic the warehouse records: {symbol!r} is not a valid symbol "
            f"(give {_EXAMPLE})"
        ) from None
    return (TRADES if kind == TRADES else ORDERS), symbol


def normalize_topic(topic: str) -> str:
    """The topic's canonical spelling (`ConfigError` if it is not one the warehouse records)."""
    kind, symbol = parse_topic(topic)
    return trade_topic(symbol) if kind == TRADES else orders_topic(symbol)
