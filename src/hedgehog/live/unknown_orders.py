"""Open orders on the exchange that the node's store does not know (placed by hand, or by
another bot on the same account): found at boot, reported by `hedgehog status` and logged,
never cancelled silently."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from hedgehog.exchange.base import Exchange
from hedgehog.store import Database, OrderRepo

log = logging.getLogger("hedgehog.live.node")


async def unknown_orders(
    exchange: Exchange, db: Database, symbols: Iterable[str]
) -> list[dict[str, Any]]:
    """The open orders of `symbols` whose client order id is not in the store's ledger."""
    repo = OrderRepo(db)
    found: list[dict[str, Any]] = []
    for symbol in symbols:
        for order in await exchange.open_orders(symbol):
            if await repo.by_client_id(order.client_order_id) is not None:
                continue
            found.append(
                {
                    "symbol": symbol,
                    "client_order_id": order.client_order_id,
                    "order_id": order.order_id,
                    "side": order.side.value,
                    "price": str(order.price),
                    "quantity": str(order.orig_qty),
                }
            )
            log.warning(
                "%s: open order %s is not hedgehog's; left alone", symbol, order.client_order_id
            )
    return found
