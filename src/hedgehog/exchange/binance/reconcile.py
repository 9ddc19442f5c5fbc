"""Order polling: the fallback when the user data stream is down, and periodic reconciliation.

`OrderPoller` asks the exchange for each symbol's open orders every `interval` seconds. An
order that was open and is not any more is fetched with `get_order`, and its final state is
delivered as an `OrderUpdate`; an open order whose executed quantity grew is delivered too.
The update's `last_qty` is the quantity executed since the previous state the poller knew, its
`last_price` the average price of that quantity (from the cumulative quote quantity), and its
commission is unknown: 0, with asset "". Updates carry the order's cumulative `executed_qty`,
so consumers that also get the same fill from the user data stream can tell it is not new.

The poller never delivers the same (order id, executed qty, status) twice. It works with any
`Exchange` (the Binance REST client, the paper exchange, a fake); time goes through the
injected `sleep`, so tests never sleep for real.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Protocol

from hedgehog.core.decimals import ZERO, normalize
from hedgehog.core.errors import ExchangeError, UnknownOrder
from hedgehog.core.types import Order, OrderStatus, OrderUpdate

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
_Key = tuple[int, Decimal, OrderStatus]


class OrderSource(Protocol):
    """The part of the `Exchange` protocol the poller uses."""

    async def open_orders(self, symbol: str | None = None) -> list[Order]: ...

    async def get_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order: ...


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class OrderPoller:
    """Poll open orders of some symbols and deliver what changed as `OrderUpdate`s."""

    def __init__(
        self,
        exchange: OrderSource,
        symbols: Iterable[str],
        on_update: Callable[[OrderUpdate], None],
        *,
        interval: float = 10.0,
        sleep: Sleep = asyncio.sleep,
        now_ms: Callable[[], int] = _wall_clock_ms,
        finished_memory: int = 10_000,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0 seconds, not {interval}")
        self._exchange = exchange
        self._symbols = {s.upper() for s in symbols}
        self._on_update = on_update
        self.interval = interval
        self._sleep = sleep
        self._now_ms = now_ms
        self._tracked: dict[int, Order] = {}  # last known state of orders believed open
        self._delivered: dict[int, set[_Key]] = {}
        self._finished: OrderedDict[int, None] = OrderedDict()  # closed orders, oldest first
        self._finished_memory = finished_memory
        self._closed = False
        self._wake = asyncio.Event()
        self.polls = 0

    # -- what to watch -----------------------------------------------------------------------
    @property
    def symbols(self) -> frozenset[str]:
        return frozenset(self._symbols)

    def add_symbol(self, symbol: str) -> None:
        self._symbols.add(symbol.upper())

    def remove_symbol(self, symbol: str) -> None:
        """Stop polling `symbol` and forget its tracked orders."""
        symbol = symbol.upper()
        self._symbols.discard(symbol)
        for oid in [oid for oid, o in self._tracked.items() if o.symbol == symbol]:
            del self._tracked[oid]
            self._delivered.pop(oid, None)

    def watch(self, order: Order) -> None:
        """Track an order the caller knows (e.g. just placed), taking `order` as known state.

        Then a fill is caught even when the order closes before any poll sees it open. Its
        symbol is polled from now on. Nothing is delivered for the state given here.
        """
        self._symbols.add(order.symbol.upper())
        oid = order.order_id
        if oid in self._finished:
            return
        if not order.status.is_open:
            self._forget(oid)
            return
        known = self._tracked.get(oid)
        if known is None or order.executed_qty >= known.executed_qty:
            self._tracked[oid] = order

    @property
    def tracked(self) -> dict[int, Order]:
        """Orders believed open, by order id (a copy)."""
        return dict(self._tracked)

    # -- polling -----------------------------------------------------------------------------
    async def poll_once(self) -> list[OrderUpdate]:
        """Poll every symbol once; return the updates delivered."""
        self.polls += 1
        updates: list[OrderUpdate] = []
        for symbol in sorted(self._symbols):
            try:
                updates += await self._poll_symbol(symbol)
            except ExchangeError as exc:
                log.warning("order poll of %s failed: %s", symbol, exc)
        return updates

    async def _poll_symbol(self, symbol: str) -> list[OrderUpdate]:
        open_now = {o.order_id: o for o in await self._exchange.open_orders(symbol)}
        updates: list[OrderUpdate] = []
        for oid in sorted(open_now):
            order = open_now[oid]
            if oid in self._finished:
                continue
            known = self._tracked.get(oid)
            if known is not None and order.executed_qty < known.executed_qty:
                continue  # a stale answer: keep what we know
            self._tracked[oid] = order
            if known is None and order.executed_qty == 0:
                continue  # newly seen, nothing executed: nothing to tell
            if known is None or order.executed_qty > known.executed_qty:
                update = self._deliver(known, order)
                if update is not None:
                    updates.append(update)
        gone = sorted(
            oid for oid, o in self._tracked.items() if o.symbol == symbol and oid not in open_now
        )
        for oid in gone:
            known = self._tracked[oid]
            try:
                order = await self._exchange.get_order(symbol, order_id=oid)
            except UnknownOrder:
                log.warning("order %s %s vanished from %s", oid, known.client_order_id, symbol)
                del self._tracked[oid]
                self._delivered.pop(oid, None)
                continue
            except ExchangeError as exc:
                log.warning("order %s of %s not fetched: %s; retrying next poll", oid, symbol, exc)
                continue
            if order.status.is_open:
                # Missing from the list but open (a race with the listing): keep watching.
                if order.executed_qty > known.executed_qty:
                    update = self._deliver(known, order)
                    if update is not None:
                        updates.append(update)
                self._tracked[oid] = order
                continue
            update = self._settle(known, order)
            if update is not None:
                updates.append(update)
        return updates

    def _settle(self, known: Order | None, order: Order) -> OrderUpdate | None:
        """Deliver a closed order's final state and forget it."""
        update = self._deliver(known, order)
        self._forget(order.order_id)
        return update

    def _forget(self, oid: int) -> None:
        """A closed order: stop tracking it, and ignore it if it ever shows up again."""
        self._tracked.pop(oid, None)
        self._delivered.pop(oid, None)
        self._finished[oid] = None
        while len(self._finished) > self._finished_memory:
            self._finished.popitem(last=False)

    def _deliver(self, known: Order | None, order: Order) -> OrderUpdate | None:
        key: _Key = (order.order_id, order.executed_qty, order.status)
        seen = self._delivered.setdefault(order.order_id, set())
        if key in seen:
            return None
        seen.add(key)
        before_qty = known.executed_qty if known is not None else ZERO
        before_quote = known.cumulative_quote_qty if known is not None else ZERO
        last_qty = max(ZERO, order.executed_qty - before_qty)
        quote = order.cumulative_quote_qty - before_quote
        if last_qty > 0 and quote > 0:
            last_price = normalize(quote / last_qty)
        elif last_qty > 0:
            last_price = order.price
        else:
            last_price = ZERO
        event_time = order.update_time or self._now_ms()
        update = OrderUpdate(order, last_qty, last_price, ZERO, "", event_time)
        try:
            self._on_update(update)
        except Exception:
            log.exception("order poller: on_update failed for %s", order.client_order_id)
        return update

    # -- the loop ----------------------------------------------------------------------------
    async def run(self) -> None:
        """Poll every `interval` seconds until `close()`."""
        while not self._closed:
            try:
                await self.poll_once()
            except Exception:
                log.exception("order poll failed")
            if self._closed:
                break
            await self._pause()

    async def _pause(self) -> None:
        """Sleep `interval` (through the injected sleep), or less if woken or closed."""
        self._wake.clear()
        sleeper = asyncio.ensure_future(self._sleep(self.interval))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.wait({sleeper, waker})

    def wake(self) -> None:
        """Poll now (e.g. when the user data stream has reconnected)."""
        self._wake.set()

    def close(self) -> None:
        """Stop `run()` after the current poll."""
        self._closed = True
        self._wake.set()
