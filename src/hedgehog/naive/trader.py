"""A trader process: runs the pure strategy and carries out its decisions.

It subscribes to its symbol's trades and order updates. Before each order it writes the order's
intent (its new state) to the trader store and reports it to its leader; after the exchange
answers it records the outcome. Restarted from a state with orders in flight, it first asks the
exchange about each of them by client order id: it adopts what exists and places what never got
there, so a crash at any point neither loses nor duplicates an order.

Commissions: a buy's sell is sized from its fills. When a fill was learnt without its
commission (an order query, the placement answer), the trader reads the buy's fills from the
exchange (`FetchFills`) before it sells; after a refused sell it reads them again with the free
balance (`CheckSell`). Either read that fails is tried again after `ctx.retry_seconds`.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

from hedgehog.core.decimals import ZERO
from hedgehog.core.errors import (
    ExchangeUnavailable,
    OrderRejected,
    RejectReason,
    StoreUnavailable,
    StrategyError,
    UnknownOrder,
)
from hedgehog.core.types import (
    OrderUpdate,
    TradeEvent,
    bars_topic,
    orders_topic,
    trade_topic,
)
from hedgehog.market.bars import Bar
from hedgehog.naive.context import NaiveContext, bar_intervals
from hedgehog.naive.messages import (
    RECOVER,
    RebuyWanted,
    Recover,
    Resume,
    Shutdown,
    TraderStateChanged,
)
from hedgehog.naive.order_check import order_problem
from hedgehog.naive.risk import INFINITY
from hedgehog.naive.strategy import (
    PENDING,
    CancelOrder,
    CheckSell,
    CycleComplete,
    Decision,
    FetchFills,
    OrderRef,
    PlaceMarketOrder,
    PlaceOrder,
    Report,
    RequestRebuy,
)
from hedgehog.runtime import Continue, Process

log = logging.getLogger("hedgehog.naive.trader")


class Trader(Process):
    """Runs one trader of its symbol's strategy (`ctx.strategy_for(symbol)`, naive by default)."""

    def init(self, state: Any, ctx: NaiveContext, leader: Process) -> Continue | None:
        self.state = state
        self.ctx = ctx
        self.leader = leader
        self.shutting_down = False
        self._exchange = ctx.exchange
        self.strategy = strategy = ctx.strategy_for(state.symbol)
        self._on_trade = strategy.on_trade  # the hot path: looked up once
        self._on_update = strategy.on_update
        self._risk = risk = ctx.risk.get(state.symbol)  # None: no max_loss (the default)
        self._cancelling: str | None = None  # the buy a halt is cancelling
        if risk is not None:
            risk.update(state)  # the state it restarts with is the one stored
        ctx.pubsub.subscribe(self, trade_topic(state.symbol), rank=state.number)
        ctx.pubsub.subscribe(self, orders_topic(state.symbol), rank=state.number)
        for interval in bar_intervals(strategy, state.settings):
            ctx.pubsub.subscribe(self, bars_topic(state.symbol, interval), rank=state.number)
        if state.in_flight() or state.phase == "done" or state.awaiting() is not None:
            return Continue(RECOVER)
        return None

    # Trades arrive by the million: handle the common case without a coroutine.
    def handle_info(self, message: Any) -> Coroutine[Any, Any, None] | None:
        if type(message) is TradeEvent:
            may_buy = not self.shutting_down
            risk = self._risk
            if risk is not None and risk.check(message):  # the halt's one point of decision
                may_buy = False
                if risk.cancels_buys and self._cancel_wanted():
                    return self._halt_cancel(message)
            state, decisions = self._on_trade(self.state, message, may_buy)
            if decisions and self.ctx.on_order_intent is not None:
                self._report_intents(message, decisions)
        elif type(message) is OrderUpdate:
            state, decisions = self._on_update(self.state, message)
        elif type(message) is Bar:
            state, decisions = self.strategy.on_bar(  # type: ignore[attr-defined]
                self.state, message, not self.shutting_down
            )
        elif type(message) is Recover:
            return self._recover()
        else:
            return None
        if state is self.state:
            return None
        return self._apply(state, decisions)

    def _report_intents(self, trade: TradeEvent, decisions: tuple[Decision, ...]) -> None:
        hook = self.ctx.on_order_intent
        for decision in decisions:
            if hook is not None and isinstance(decision, PlaceOrder | PlaceMarketOrder):
                hook(trade, decision.order)

    def trade_band(self) -> tuple[Any, Any] | None:
        """Prices of the next trades that cannot change this trader (see backtest.skip): the
        strategy's band, bounded below by the symbol's halt threshold when `max_loss` is on
        (prices at or above it cannot halt the symbol)."""
        risk = self._risk
        if risk is None:
            return self.strategy.trade_band(self.state, not self.shutting_down)
        if risk.halted is not None:
            if risk.cancels_buys and self._cancel_wanted():
                return None
            return self.strategy.trade_band(self.state, False)
        band = self.strategy.trade_band(self.state, not self.shutting_down)
        low = risk.threshold
        if band is None or low is None:
            return band
        if low == INFINITY:
            return None  # the next trade halts, whatever its price
        below, above = band
        return (low if below is None or low > below else below, above)

    def _cancel_wanted(self) -> bool:
        """Whether a halt with `halt_cancels_buys` has this trader's buy to cancel: open on
        the exchange (not PENDING: its outcome is checked first), not filled, not being
        cancelled already."""
        buy = self.state.buy
        return (
            buy is not None
            and buy.is_open
            and buy.status != PENDING
            and self._cancelling != buy.client_order_id
        )

    async def _halt_cancel(self, trade: TradeEvent) -> None:
        """The symbol is halted with `halt_cancels_buys`: cancel this trader's open buy, then
        hand it the trade (`may_buy=False`). A buy filled or gone meanwhile is left to its
        update; an unreachable exchange is tried again on the next trade. No intent is stored
        for a cancel: a restarted trader learns the outcome by querying the order."""
        buy = self.state.buy
        assert buy is not None
        self._cancelling = buy.client_order_id
        order = None
        try:
            order = await self._exchange.cancel_order(
                self.state.symbol, client_order_id=buy.client_order_id
            )
        except (UnknownOrder, OrderRejected):
            pass
        except ExchangeUnavailable as exc:
            log.warning("%s: cannot cancel %s (%s)", self.state.symbol, buy.client_order_id, exc)
            self._cancelling = None
        if order is not None:
            await self._on_order(order)
        state, decisions = self._on_trade(self.state, trade, False)
        if state is not self.state:
            await self._apply(state, decisions)

    def handle_cast(self, message: Any) -> None:
        if isinstance(message, Shutdown):
            self.shutting_down = True
            if self.strategy.may_stop(self.state):
                self.stop("normal")  # nothing bought: this cycle ends here
        elif isinstance(message, Resume):
            self.shutting_down = False

    async def handle_continue(self, payload: Any) -> None:
        await self._recover()

    def info(self) -> dict[str, Any]:
        risk = self._risk
        return {
            **self.strategy.describe(self.state),
            "strategy": self.strategy.name,
            "shutting_down": self.shutting_down,
            **({"halted": risk.halted is not None} if risk is not None else {}),
        }

    # -- carrying out decisions -------------------------------------------------------------
    async def _apply(self, state: Any, decisions: tuple[Decision, ...]) -> None:
        for decision in decisions:
            if isinstance(decision, PlaceOrder):
                self._check_order(state, decision.order)  # before its intent is stored
            elif isinstance(decision, PlaceMarketOrder):
                self._check_order(state, decision.order, market=True)
        if not await self._commit(state):
            return
        for decision in decisions:
            if isinstance(decision, PlaceOrder):
                await self._place(decision.order)
            elif isinstance(decision, PlaceMarketOrder):
                await self._place(decision.order, market=True)
            elif isinstance(decision, RequestRebuy):
                self.rt.cast(self.leader, RebuyWanted(self.state.trader_id))
            elif isinstance(decision, CycleComplete):
                self.stop("normal")
            elif isinstance(decision, FetchFills):
                await self._fetch_fills(decision.order_id)
            elif isinstance(decision, CheckSell):
                await self._check_sell()
            elif isinstance(decision, CancelOrder):
                await self._cancel(decision.client_order_id)
            elif isinstance(decision, Report):
                self._report(decision.message)
        if self.shutting_down and self.strategy.may_stop(self.state):
            self.stop("normal")  # its buy was cancelled or refused: it may not buy again

    def _check_order(self, state: Any, order: OrderRef, market: bool = False) -> None:
        """Refuse, naming the strategy, an order no exchange would take: the trader crashes
        (and is restarted with its last stored state, like any crash) instead of storing it."""
        why = order_problem(order, state.filters, market)
        if why is not None:
            where = "at the market" if market else f"at {order.price}"
            raise StrategyError(
                f"strategy {self.strategy.name!r} (trader {state.trader_id} of "
                f"{state.symbol}) returned {order.side} {order.quantity} {where}: {why}"
            )

    async def _commit(self, state: Any) -> bool:
        """Record a new state durably, then tell the leader (the book's state report).

        If the store cannot be written, nothing happens: the state stays as it was, no order
        is placed, and the trader checks its orders again later (a fill it could not record
        is found again then)."""
        try:
            await self.ctx.store.save(state)
        except StoreUnavailable as exc:
            log.error(
                "%s: cannot record trader %s (%s); trading paused",
                state.symbol,
                state.trader_id,
                exc,
            )
            self.rt.send_after(self, RECOVER, self.ctx.retry_seconds)
            return False
        self.state = state
        if self._risk is not None:
            self._risk.update(state)  # the book mirrors the store
        self.rt.cast(self.leader, TraderStateChanged(state.trader_id, state))
        return True

    async def _place(self, order: OrderRef, market: bool = False) -> None:
        """Place an order whose intent is stored: LIMIT at its price, or MARKET (`market`).
        An unknown outcome is resolved later by its client order id (`_recover`)."""
        s = self.state
        may_send = self.ctx.may_send
        if may_send is not None and not may_send(s.symbol):  # a cluster node's lease ran out
            log.warning("%s: %s held back: its lease is not held", s.symbol, order.client_order_id)
            self.rt.send_after(self, RECOVER, self.ctx.retry_seconds)
            return
        try:
            if market:
                placed = await self._exchange.place_market_order(
                    s.symbol, order.side, order.quantity, order.client_order_id
                )
            else:
                placed = await self._exchange.place_limit_order(
                    s.symbol, order.side, order.price, order.quantity, order.client_order_id
                )
        except OrderRejected as exc:
            if exc.reason == RejectReason.DUPLICATE_CLIENT_ORDER_ID:
                await self._recover()  # it got there before: adopt it
                return
            log.warning("%s: %s %s refused: %s", s.symbol, order.side.value, order.price, exc)
            self.ctx.rejections[(s.symbol, order.side.value)] += 1
            state, decisions = self.strategy.on_rejected(self.state, order, str(exc))
            await self._apply(state, decisions)
            return
        except ExchangeUnavailable as exc:
            log.warning("%s: outcome of %s unknown (%s)", s.symbol, order.client_order_id, exc)
            self.rt.send_after(self, RECOVER, self.ctx.retry_seconds)
            return
        await self._on_order(placed)

    async def _on_order(self, order: Any) -> None:
        state, decisions = self.strategy.on_order(self.state, order)
        if state is not self.state:
            await self._apply(state, decisions)

    async def _fetch_fills(self, order_id: int) -> None:
        """Complete the buy's commissions from the exchange's list of its fills, then sell."""
        s = self.state
        try:
            fills = await self._exchange.order_fills(s.symbol, order_id)
        except ExchangeUnavailable as exc:
            log.warning("%s: fills of %s unknown (%s)", s.symbol, order_id, exc)
            self.rt.send_after(self, RECOVER, self.ctx.retry_seconds)
            return
        state, decisions = self.strategy.on_fills(self.state, fills)
        if state is not self.state:
            await self._apply(state, decisions)
        if not self.state.fees_known:  # the exchange's trade list lags its order status
            self.rt.send_after(self, RECOVER, self.ctx.retry_seconds)

    async def _check_sell(self) -> None:
        """After a refused sell: read the buy's fills and the free balance, sell what we can."""
        s = self.state
        if s.buy is None or s.buy.order_id is None:
            return
        base = s.filters.base_asset
        try:
            fills = await self._exchange.order_fills(s.symbol, s.buy.order_id)
            balances = await self._exchange.balances()
        except ExchangeUnavailable as exc:
            log.warning("%s: cannot check the refused sell (%s)", s.symbol, exc)
            self.rt.send_after(self, RECOVER, self.ctx.retry_seconds)
            return
        balance = balances.get(base)
        free = balance.free if balance is not None else ZERO
        state, decisions = self.strategy.on_sell_check(self.state, fills, free)
        if state is not self.state:
            await self._apply(state, decisions)
        elif not self.state.fees_known:
            self.rt.send_after(self, RECOVER, self.ctx.retry_seconds)

    async def _cancel(self, client_order_id: str) -> None:
        """Cancel one of this trader's orders and hand the outcome to the strategy; an order
        gone meanwhile (filled) is looked up instead. Nothing is stored first: a restarted
        trader asks the exchange about it (`awaiting` gives the cancel again while it is
        open)."""
        symbol = self.state.symbol
        try:
            order = await self._exchange.cancel_order(symbol, client_order_id=client_order_id)
        except (UnknownOrder, OrderRejected):
            try:
                order = await self._exchange.get_order(symbol, client_order_id=client_order_id)
            except UnknownOrder:
                log.error("%s: the exchange has forgotten %s", symbol, client_order_id)
                return
            except ExchangeUnavailable:
                self.rt.send_after(self, RECOVER, self.ctx.retry_seconds)
                return
        except ExchangeUnavailable as exc:
            log.warning("%s: cannot cancel %s (%s)", symbol, client_order_id, exc)
            self.rt.send_after(self, RECOVER, self.ctx.retry_seconds)
            return
        await self._on_order(order)

    def _is_market(self, ref: OrderRef) -> bool:
        """Whether the state says `ref` is placed at the market (naive's stop-loss sell)."""
        is_market = getattr(self.state, "is_market", None)
        return bool(is_market is not None and is_market(ref))

    def _report(self, message: str) -> None:
        s = self.state
        log.warning("%s: trader %s: %s", s.symbol, s.trader_id, message)
        if s.dust:
            self.ctx.dust[s.symbol] += s.dust

    async def _recover(self) -> None:
        """Ask the exchange about every order in flight: adopt, or place what never arrived."""
        if self.state.phase == "done":
            self.stop("normal")
            return
        for ref in self.state.in_flight():
            try:
                order = await self._exchange.get_order(
                    self.state.symbol, client_order_id=ref.client_order_id
                )
            except UnknownOrder:
                if ref.status == PENDING:  # the intent never reached the exchange
                    await self._place(ref, market=self._is_market(ref))
                else:
                    log.error("%s: the exchange has forgotten %s", ref.client_order_id, ref)
                continue
            except ExchangeUnavailable:
                self.rt.send_after(self, RECOVER, self.ctx.retry_seconds)
                return
            await self._on_order(order)
        pending = self.state.awaiting()
        if pending is not None and (not self.state.in_flight() or isinstance(pending, CancelOrder)):
            await self._apply(self.state, (pending,))
