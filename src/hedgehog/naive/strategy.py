"""The naive strategy, pure (sans-io): `(state, event) -> (new state, decisions)`.

No awaits, no clock, no logging: the trader process executes the decisions. A trader's cycle:
place a limit BUY a little below the market; when it is filled, place a limit SELL a little
above the buy price (covering both fees); when the SELL is filled the cycle is complete. While
it holds a buy, a price strictly below buy_price*(1 - rebuy_interval) makes it ask its leader,
once, for one more trader.

Formulas (book test vectors in tests/naive/test_strategy.py):
    buy_price  = floor_tick(p - p * buy_down_interval)
    quantity   = floor_step((budget / chunks) / buy_price)
    sell_price = floor_tick(buy_price * (1 + fee) * (1 + profit_interval) * (1 + fee))
    sell_qty   = floor_step(executed_buy_qty - buy commission charged in the base asset)

Binance charges a BUY's commission in the coins bought, and only its fills (the user stream's
`executionReport`, `myTrades`) carry commissions: an order query or the placement answer does
not. So the sell is sized only once every fill of the buy is known (`FetchFills` otherwise).
A buy cancelled after part of it filled is sold for what it bought, or recorded as dust when
that is below the symbol's minimums. A refused sell makes the trader re-read its fills and the
free balance (`CheckSell`) and sell what it holds, or say why it cannot (`blocked`).

This module holds the formulas and the transitions; the values they work on (`TraderState`,
`OrderRef`, the decisions) are in `hedgehog.naive.state`, and importable from here too.
"""

from __future__ import annotations

from decimal import Decimal

from hedgehog.core.client_ids import build as client_order_id
from hedgehog.core.decimals import ONE, ZERO, floor_to
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Fill, Order, OrderStatus, OrderUpdate, Side, TradeEvent
from hedgehog.naive.settings import TradingSettings
from hedgehog.naive.state import NOTHING as NOTHING
from hedgehog.naive.state import PENDING as PENDING
from hedgehog.naive.state import CancelOrder as CancelOrder
from hedgehog.naive.state import CheckSell as CheckSell
from hedgehog.naive.state import CycleComplete as CycleComplete
from hedgehog.naive.state import Decision as Decision
from hedgehog.naive.state import FetchFills as FetchFills
from hedgehog.naive.state import OrderRef as OrderRef
from hedgehog.naive.state import PlaceMarketOrder as PlaceMarketOrder
from hedgehog.naive.state import PlaceOrder as PlaceOrder
from hedgehog.naive.state import Report as Report
from hedgehog.naive.state import RequestRebuy as RequestRebuy
from hedgehog.naive.state import TraderState as TraderState
from hedgehog.naive.state import replace as replace

MAX_SELL_ATTEMPTS = 3  # refused sells re-sized and placed again before the trader gives up


# -- formulas --------------------------------------------------------------------------------
def buy_price(price: Decimal, settings: TradingSettings, filters: SymbolFilters) -> Decimal:
    return floor_to(price - price * settings.buy_down_interval, filters.tick_size)


def buy_quantity(price: Decimal, settings: TradingSettings, filters: SymbolFilters) -> Decimal:
    return floor_to(settings.chunk_budget / price, filters.step_size)


def sell_price(bought_at: Decimal, settings: TradingSettings, filters: SymbolFilters) -> Decimal:
    fee = ONE + settings.fee
    gross = bought_at * fee * (ONE + settings.profit_interval) * fee
    return floor_to(gross, filters.tick_size)


def rebuy_threshold(bought_at: Decimal, settings: TradingSettings) -> Decimal:
    return bought_at * (ONE - settings.rebuy_interval)


def stop_threshold(state: TraderState) -> Decimal | None:
    """The stop-loss: a trade strictly below buy_price * (1 - stop_loss_interval) sells the
    position (None: no stop-loss set, no buy, or it fired already)."""
    stop: Decimal | None = getattr(state.settings, "stop_loss_interval", None)
    if stop is None or state.buy is None or state.stop_at is not None:
        return None
    return state.buy.price * (ONE - stop)


# -- transitions -----------------------------------------------------------------------------
def new_trader(
    symbol: str, number: int, settings: TradingSettings, filters: SymbolFilters, prefix: str = ""
) -> TraderState:
    """A fresh trader; its id is `prefix + number` (a prefix keeps ids unique across runs)."""
    return TraderState(
        symbol=symbol,
        trader_id=f"{prefix}{number}",
        settings=settings,
        filters=filters,
        number=number,
    )


def on_trade(
    state: TraderState, trade: TradeEvent, allow_buy: bool = True
) -> tuple[TraderState, tuple[Decision, ...]]:
    """A trade of the symbol: place the first buy, or check the rebuy condition."""
    if state.buy is None:
        if not allow_buy:
            return state, NOTHING
        settings, filters = state.settings, state.filters
        price = buy_price(trade.price, settings, filters)
        if price <= 0:
            return state, NOTHING
        qty = buy_quantity(price, settings, filters)
        problem = chunk_problem(price, qty, settings, filters)
        if problem is not None:
            if state.blocked == problem:
                return state, NOTHING
            return replace(state, blocked=problem), (Report(problem),)
        if state.blocked:
            state = replace(state, blocked="")
        cid = client_order_id(state.symbol, state.trader_id, state.cycle, Side.BUY)
        order = OrderRef(cid, Side.BUY, price, qty)
        new = replace(state, buy=order, rebuy_below=rebuy_threshold(price, settings))
        return new, (PlaceOrder(order),)
    decisions: tuple[Decision, ...] = NOTHING
    if state.settings.stop_loss_interval is not None:  # off: one attribute, every tick
        stop = stop_threshold(state)
        if stop is not None and trade.price < stop:
            state, decisions = _stop_loss(state, trade.price)
    below = state.rebuy_below
    if not state.rebuy_notified and below is not None and trade.price < below:
        return replace(state, rebuy_notified=True), (*decisions, RequestRebuy())
    return state, decisions


def _stop_loss(state: TraderState, price: Decimal) -> tuple[TraderState, tuple[Decision, ...]]:
    """The stop-loss fires once the buy is done and its sell rests on the exchange: the sell
    is cancelled (`CancelOrder`), then (`on_order`, its CANCELED) what it did not sell is
    sold at the market (`PlaceMarketOrder`). `stop_at`, the triggering trade's price floored
    to the tick, marks that sell (`TraderState.is_market`) and is its reference price (the
    minimum order value is checked at it); the exchange decides the fill price (a backtest:
    the triggering trade's price, see `exchange.paper.engine`)."""
    sell = state.sell
    if sell is None or not sell.is_open or sell.status == PENDING or state.buy is None:
        return state, NOTHING
    stop_at = floor_to(price, state.filters.tick_size)
    if stop_at <= 0:
        return state, NOTHING
    return replace(state, stop_at=stop_at), (CancelOrder(sell.client_order_id),)


def chunk_problem(
    price: Decimal, qty: Decimal, settings: TradingSettings, filters: SymbolFilters
) -> str | None:
    """Why a chunk bought at `price` cannot be traded (its quantity floored to the step, and
    the sell of it after a base-asset commission), or None."""
    sell_qty = floor_to(qty - qty * settings.fee, filters.step_size)
    sell_at = sell_price(price, settings, filters)
    if qty <= 0 or qty < filters.min_qty or sell_qty < filters.min_qty or sell_qty <= 0:
        return (
            f"budget/chunks {settings.chunk_budget} buys {qty} at {price}: below the minimum "
            f"quantity {filters.min_qty} (after the commission: {sell_qty}); raise the budget"
        )
    if price * qty < filters.min_notional or sell_at * sell_qty < filters.min_notional:
        return (
            f"budget/chunks {settings.chunk_budget} buys {qty} at {price} = {price * qty}: "
            f"below the minimum order value {filters.min_notional} once floored to the step "
            f"{filters.step_size} (the sell: {sell_qty}); raise the budget"
        )
    return None


def trade_band(
    state: TraderState, allow_buy: bool = True
) -> tuple[Decimal | None, Decimal | None] | None:
    """The prices (inclusive; None: unbounded) at which `on_trade` changes nothing, or None
    when any trade may matter. Replays skip the trades inside every subscriber's band."""
    if state.buy is None:
        return (None, None) if not allow_buy else None
    low = None if state.rebuy_notified else state.rebuy_below
    stop = stop_threshold(state)
    if stop is not None and (low is None or stop > low):
        low = stop
    return (low, None)  # on_trade reacts to price < rebuy_below (or the stop) only


def on_order(state: TraderState, order: Order) -> tuple[TraderState, tuple[Decision, ...]]:
    """The exchange's current view of one of our orders (placement answer, query, fill)."""
    buy, sell = state.buy, state.sell
    cid = order.client_order_id
    if buy is not None and cid == buy.client_order_id:
        if buy.has_bought:
            return state, NOTHING
        state = replace(state, buy=buy.updated(order))
        if order.status == OrderStatus.FILLED or (order.status.is_dead and order.executed_qty):
            return _after_buy(state)
        if order.status.is_dead:
            # cancelled or expired outside hedgehog before any fill: start a new cycle
            return replace(state, buy=None, cycle=state.cycle + 1, rebuy_notified=False), NOTHING
        return state, NOTHING
    if sell is not None and cid == sell.client_order_id:
        if sell.is_filled:
            return state, NOTHING
        state = replace(state, sell=sell.updated(order))
        if order.status == OrderStatus.FILLED:
            return state, (CycleComplete(),)
        if order.status.is_dead and state.stop_at is not None:
            if sell.price != state.stop_at:
                return _place_stop(state)  # the sell a stop-loss cancelled
            return _stop_again(state)  # its MARKET sell expired before all of it sold
        return state, NOTHING
    return state, NOTHING


def on_update(state: TraderState, update: OrderUpdate) -> tuple[TraderState, tuple[Decision, ...]]:
    """An order update from `ORDERS:<SYMBOL>`; updates of other traders' orders are ignored.

    A fill of the buy (it carries its trade id) adds its commission, once: the fees the
    trader knows then cover that fill's quantity. Updates without a trade (an order poller's,
    a status change) say nothing of commissions."""
    buy = state.buy
    if (
        update.is_fill
        and buy is not None
        and update.order.client_order_id == buy.client_order_id
        and update.trade_id not in state.buy_fill_ids
        and not buy.has_bought
    ):
        base = update.commission if update.commission_asset == state.filters.base_asset else ZERO
        state = replace(
            state,
            buy_fee_base=state.buy_fee_base + base,
            buy_fee_qty=state.buy_fee_qty + update.last_qty,
            buy_fill_ids=(*state.buy_fill_ids, update.trade_id),
        )
    return on_order(state, update.order)


def on_fills(state: TraderState, fills: list[Fill]) -> tuple[TraderState, tuple[Decision, ...]]:
    """The buy's fills as the exchange lists them (`myTrades`): its commissions, complete.

    When they cover what the buy executed, the sell is placed; otherwise (the exchange's trade
    list lags its order status) nothing happens and the trader asks again later."""
    state = _count_fills(state, fills)
    if state.fees_known and state.sell is None and state.dust == 0:
        return _place_sell(state)
    return state, NOTHING


def on_rejected(
    state: TraderState, order: OrderRef, reason: str = ""
) -> tuple[TraderState, tuple[Decision, ...]]:
    """The exchange refused an order. A refused buy is dropped (the next trade retries with a
    new cycle number, so client order ids stay unique); a refused sell is checked against the
    fills and the free balance (`CheckSell`), up to `MAX_SELL_ATTEMPTS` times."""
    if state.buy is not None and order.client_order_id == state.buy.client_order_id:
        new = replace(
            state, buy=None, cycle=state.cycle + 1, rebuy_below=None, rebuy_notified=False
        )
        return new, NOTHING
    if state.sell is not None and order.client_order_id == state.sell.client_order_id:
        refused = replace(state.sell, status=OrderStatus.REJECTED.value)
        state = replace(state, sell=refused, sell_rejections=state.sell_rejections + 1)
        if state.sell_attempt + 1 >= MAX_SELL_ATTEMPTS:
            why = f"sell {order.quantity} at {order.price} refused {state.sell_rejections} times"
            blocked = f"{why} (last: {reason or 'no reason given'}); sell it by hand"
            return replace(state, blocked=blocked), (Report(blocked),)
        return state, (CheckSell(),)
    return state, NOTHING


def on_sell_check(
    state: TraderState, fills: list[Fill], free_base: Decimal
) -> tuple[TraderState, tuple[Decision, ...]]:
    """After a refused sell: sell what the buy left us (its fills, less their base-asset
    commission) and the account still has free, or report why that is not possible."""
    state = _count_fills(state, fills)
    buy, sell, filters = state.buy, state.sell, state.filters
    if buy is None or sell is None or sell.status != OrderStatus.REJECTED.value:
        return state, NOTHING
    if not state.fees_known:
        return state, NOTHING  # the trade list lags: asked again later
    held = buy.executed_qty - state.buy_fee_base
    qty = floor_to(min(held, free_base), filters.step_size)
    if _sellable(qty, sell.price, filters):
        attempt = state.sell_attempt + 1
        cid = client_order_id(state.symbol, state.trader_id, state.cycle, Side.SELL, attempt)
        order = OrderRef(cid, Side.SELL, sell.price, qty)
        place = PlaceMarketOrder(order) if state.is_market(sell) else PlaceOrder(order)
        return replace(state, sell=order, sell_attempt=attempt), (place,)
    if not _sellable(floor_to(held, filters.step_size), sell.price, filters):
        return _dust(replace(state, sell=None), held)
    blocked = (
        f"cannot sell {held} {filters.base_asset}: only {free_base} free on the exchange; "
        "was part of it moved or sold outside hedgehog?"
    )
    return replace(state, blocked=blocked), (Report(blocked),)


def _count_fills(state: TraderState, fills: list[Fill]) -> TraderState:
    """The buy's commissions recomputed from its complete list of fills."""
    buy = state.buy
    if buy is None or buy.order_id is None:
        return state
    mine = [f for f in fills if f.order_id == buy.order_id]
    if not mine:
        return state
    base = state.filters.base_asset
    return replace(
        state,
        buy_fee_base=sum((f.commission for f in mine if f.commission_asset == base), ZERO),
        buy_fee_qty=sum((f.qty for f in mine), ZERO),
        buy_fill_ids=tuple(f.trade_id for f in mine),
    )


def _after_buy(state: TraderState) -> tuple[TraderState, tuple[Decision, ...]]:
    """The buy is over with coins bought: size the sell, once the commissions are known."""
    if state.sell is not None or state.dust > 0:
        return state, NOTHING
    if not state.fees_known:
        buy = state.buy
        assert buy is not None and buy.order_id is not None
        return state, (FetchFills(buy.order_id),)
    return _place_sell(state)


def _dust(state: TraderState, held: Decimal) -> tuple[TraderState, tuple[Decision, ...]]:
    """What was bought is below the symbol's minimums to sell: recorded, reported, cycle over."""
    message = f"dust: {held} {state.filters.base_asset} bought is below the minimums to sell"
    return replace(state, dust=held), (Report(message), CycleComplete())


def _sellable(qty: Decimal, price: Decimal, filters: SymbolFilters) -> bool:
    return qty > 0 and qty >= filters.min_qty and price * qty >= filters.min_notional


def _stop_again(state: TraderState) -> tuple[TraderState, tuple[Decision, ...]]:
    """The stop's MARKET sell ended without selling everything (Binance expires what the
    book could not fill): the rest goes at the market too, up to `MAX_SELL_ATTEMPTS`."""
    sell = state.sell
    assert sell is not None
    if sell.executed_qty >= sell.quantity:
        return state, NOTHING
    if state.sell_attempt + 1 >= MAX_SELL_ATTEMPTS:
        left = sell.quantity - sell.executed_qty
        blocked = f"the stop-loss's market sells left {left} unsold; sell it by hand"
        return replace(state, blocked=blocked), (Report(blocked),)
    return _place_stop(state)


def _place_stop(state: TraderState) -> tuple[TraderState, tuple[Decision, ...]]:
    """After the stop-loss cancelled the sell: sell what it left at the market, under the next
    attempt's client order id (its reference price: `stop_at`)."""
    sell, filters, price = state.sell, state.filters, state.stop_at
    assert sell is not None and price is not None
    left = sell.quantity - sell.executed_qty
    qty = floor_to(left, filters.step_size)
    if not _sellable(qty, price, filters):
        return _dust(replace(state, sell=None), left)
    attempt = state.sell_attempt + 1
    cid = client_order_id(state.symbol, state.trader_id, state.cycle, Side.SELL, attempt)
    order = OrderRef(cid, Side.SELL, price, qty)
    return replace(state, sell=order, sell_attempt=attempt), (PlaceMarketOrder(order),)


def _place_sell(state: TraderState) -> tuple[TraderState, tuple[Decision, ...]]:
    settings, filters, buy = state.settings, state.filters, state.buy
    assert buy is not None
    target = getattr(state, "sell_target", None)  # a state may name its own (grid: a level)
    price = target() if target is not None else sell_price(buy.price, settings, filters)
    held = buy.executed_qty - state.buy_fee_base
    qty = floor_to(held, filters.step_size)
    if not _sellable(qty, price, filters):
        return _dust(state, held)
    cid = client_order_id(state.symbol, state.trader_id, state.cycle, Side.SELL)
    order = OrderRef(cid, Side.SELL, price, qty)
    return replace(state, sell=order), (PlaceOrder(order),)
