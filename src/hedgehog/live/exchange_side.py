"""The live node's exchange side: the exchange its traders use and the process feeding fills.

On paper, a `PaperExchange` over a `MatchingEngine` (Binance's money rules, the symbols'
filters given or read once over REST) and a `PaperFeeder` giving it the live trades; on
Binance, the signed REST client (checked with a balance request, so bad keys fail once, here)
wrapped to watch what is placed, and a `FillRouter` (user stream + poller). Built apart from
`node.py`, which assembles the rest of the tree around it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from hedgehog.config import Settings
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Order
from hedgehog.exchange.base import Exchange
from hedgehog.exchange.binance.rest import BinanceExchange
from hedgehog.exchange.paper.engine import MatchingEngine
from hedgehog.exchange.paper.exchange import PaperExchange
from hedgehog.exchange.paper.rules import Rules
from hedgehog.live.feeds import FillRouter, PaperFeeder, WatchedExchange
from hedgehog.live.messages import WatchOrder
from hedgehog.live.watches import Watches, rewatching
from hedgehog.runtime import ChildSpec, Runtime
from hedgehog.runtime.pubsub import PubSub

FEED = {"paper": "exchange.paper", "binance": "exchange.fills"}


async def exchange_side(
    settings: Settings,
    rt: Runtime,
    pubsub: PubSub,
    watches: Watches,
    urls: dict[str, str],
    rest: BinanceExchange,
    closers: list[Any],
    *,
    filters: Mapping[str, SymbolFilters] | None,
    rest_timeout: float,
    poll_interval: float,
) -> tuple[Exchange, ChildSpec]:
    """(the exchange, the child spec of its feed) for `settings.exchange`. A Binance client
    is appended to `closers`; if it fails to start, every closer is closed and it raises."""
    exchange: Exchange
    if settings.exchange == "paper":
        known = dict(filters) if filters is not None else await _fetch_filters(rest)
        engine = MatchingEngine(
            known,
            balances={"USDT": Decimal(settings.paper_balance)},
            rules=Rules.binance(settings.paper_commission, settings.paper_fills),
            keep_fills=True,
        )
        paper = PaperExchange(engine, pubsub.broadcast)
        exchange = paper
        return exchange, ChildSpec(
            "exchange",
            rewatching(PaperFeeder, FEED["paper"]),
            (watches, pubsub, paper),
            name=FEED["paper"],
        )
    key, secret = settings.credentials()
    binance = BinanceExchange(key, secret, urls["rest_url"], timeout=rest_timeout)
    closers.append(binance)
    try:
        await binance.start()
        await binance.balances()  # bad keys fail here, clearly, not in every trader
    except BaseException:
        for closer in closers:
            await closer.close()
        raise

    def placed(order: Order) -> None:
        watches.note_order(FEED["binance"], order)
        rt.cast(FEED["binance"], WatchOrder(order))

    exchange = WatchedExchange(binance, placed)
    return exchange, ChildSpec(
        "exchange",
        rewatching(FillRouter, FEED["binance"]),
        (watches, pubsub, binance, key, secret, urls["ws_api_url"], poll_interval),
        name=FEED["binance"],
    )


async def _fetch_filters(rest: BinanceExchange) -> dict[str, SymbolFilters]:
    await rest.start()
    return await rest.exchange_info()
