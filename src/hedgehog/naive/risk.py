"""A symbol's risk book: the halt of `max_loss` (issue 13), run by the tree for any strategy
whose settings carry `max_loss` (naive's and grid's do; `hedgehog.strategy.risk` has the
formula).

The book lives in the `NaiveContext` (outside the supervision tree, like the trader store
of a backtest), so a kill of a trader, a leader or a symbol supervisor loses nothing of it. It
mirrors the trader store: each trader tells it every state it has just stored (`update`,
after the store's `save`) and its state at start (the one it was restarted with, the same);
a trader whose cycle is over leaves its realised PnL behind, kept by trader id (counting it
again when a restarted leader reloads that state changes nothing). So the book is a function
of the states stored, and its threshold changes only when one of them does.

The one point of decision: a trade reaching a trader (`Trader.handle_info`), before the
strategy's `on_trade`. The first trader (in start order) to see a trade at a price strictly
below the book's `halt_price` marks the symbol halted; every trader then gets
`may_buy=False` for that trade and every later one. `Trader.trade_band` bounds its band below
by the same threshold, so the skip-ahead replay delivers the trade that breaches it: the halt
falls on the same trade with `--every-tick`, skip-ahead and chaos kills.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hedgehog.core.decimals import ZERO, fmt
from hedgehog.core.types import TradeEvent
from hedgehog.strategy.risk import breached, cycle_realised, exposure, halt_price, pnl_at

INFINITY = Decimal("Infinity")
CENT = Decimal("1e-8")  # PnL shown to the 1e-8


@dataclass
class SymbolRisk:
    """One symbol's book: its traders' last stored states, the realised PnL of the cycles
    completed, the halt threshold and whether (and why) the symbol is halted."""

    symbol: str
    max_loss: Decimal
    fee: Decimal
    cancels_buys: bool = False
    states: dict[str, Any] = field(default_factory=dict)  # running trader id -> last state
    realised: dict[str, Decimal] = field(default_factory=dict)  # finished id -> its PnL
    threshold: Decimal | None = None
    halted: dict[str, Any] | None = None  # {trade_id, price, pnl, reason} once halted

    def configure(self, max_loss: Decimal, fee: Decimal, cancels_buys: bool) -> None:
        self.max_loss, self.fee, self.cancels_buys = max_loss, fee, cancels_buys
        self._recompute()

    def update(self, state: Any) -> None:
        """A trader's state as just stored (or as it starts with)."""
        tid = state.trader_id
        if state.phase == "done":
            self.states.pop(tid, None)
            self.realised[tid] = cycle_realised(state, self.fee)
        else:
            self.states[tid] = state
        self._recompute()

    def removed(self, trader_id: str) -> None:
        """A trader's state left the store (a finished trader's realised PnL stays)."""
        if self.states.pop(trader_id, None) is not None:
            self._recompute()

    def _recompute(self) -> None:
        q, c, r_open = exposure(self.states.values(), self.fee)
        self.threshold = halt_price(self.realised_pnl + r_open, q, c, self.fee, self.max_loss)

    @property
    def realised_pnl(self) -> Decimal:
        """The realised PnL of the cycles completed (partial sells of running traders apart)."""
        return sum(self.realised.values(), ZERO)

    def check(self, trade: TradeEvent) -> bool:
        """Whether the symbol is halted once `trade` reaches its traders (marks it so when
        `trade` breaches the threshold)."""
        if self.halted is not None:
            return True
        if not breached(trade.price, self.threshold):
            return False
        q, c, r_open = exposure(self.states.values(), self.fee)
        pnl = fmt(pnl_at(trade.price, self.realised_pnl + r_open, q, c, self.fee).quantize(CENT))
        self.halted = {
            "trade_id": trade.trade_id,
            "time": trade.trade_time,
            "price": str(trade.price),
            "pnl": pnl,
            "reason": f"max loss {fmt(self.max_loss)} reached: PnL {pnl} at {trade.price} "
            f"(trade {trade.trade_id})",
        }
        return True

    def band_low(self) -> Decimal | None:
        """The lowest quiet price for the halt (None: none needed); `INFINITY` when the next
        trade halts whatever its price."""
        if self.halted is not None:
            return None
        return self.threshold

    def info(self) -> dict[str, Any]:
        """For status, the dashboard and the backtest's JSON."""
        return {
            "max_loss": fmt(self.max_loss),
            "halt_cancels_buys": self.cancels_buys,
            "halt_below": None
            if self.threshold is None or self.threshold == INFINITY
            else fmt(self.threshold.quantize(CENT)),
            "realised_pnl": fmt(self.realised_pnl.quantize(CENT)),
            "halted": self.halted,
        }


def risk_for(book: dict[str, SymbolRisk], symbol: str, settings: Any) -> SymbolRisk | None:
    """`symbol`'s book as its settings want it: None (and forgotten) when `max_loss` is off;
    kept (with its halt and realised PnL) when it exists — a restarted leader finds it as it
    was; started with other limits, the halt is lifted and judged afresh (the realised PnL
    stays)."""
    max_loss = getattr(settings, "max_loss", None)
    if max_loss is None:
        book.pop(symbol, None)
        return None
    fee = settings.fee
    cancels = bool(getattr(settings, "halt_cancels_buys", False))
    risk = book.get(symbol)
    if risk is None:
        risk = book[symbol] = SymbolRisk(symbol, max_loss, fee, cancels)
        risk.configure(max_loss, fee, cancels)
    elif (risk.max_loss, risk.fee, risk.cancels_buys) != (max_loss, fee, cancels):
        risk.configure(max_loss, fee, cancels)
        risk.halted = None  # new limits (a human's decision): judged afresh from here
    return risk


__all__ = ["INFINITY", "SymbolRisk", "risk_for"]
