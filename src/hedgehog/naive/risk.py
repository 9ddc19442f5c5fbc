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

Its durable part — the realised PnL of the completed cycles (by trader id) and the halt with
the limits it was decided under (`durable`) — survives a node restart with a database store:
`hedgehog.store.SqlTraderStore` writes a cycle's realised PnL in the transaction that stores
its "done" state, the halt with the next state stored (or on its own when none follows: the
book's `notify` hook), and gives them back (`restore`) when a leader loads its symbol. The
in-memory store (backtests, paper nodes) sets no hook: the book is as it always was.
"""

from __future__ import annotations

from collections.abc import Callable
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
    notify: Callable[[SymbolRisk], None] | None = field(default=None, repr=False, compare=False)
    """Told when the durable part changes without a store write (a halt, new limits)."""

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

    def limits(self) -> dict[str, Any]:
        """The limits the book judges under, JSON-ready (stored with a halt)."""
        return {
            "max_loss": fmt(self.max_loss),
            "fee": fmt(self.fee),
            "halt_cancels_buys": self.cancels_buys,
        }

    def durable(self) -> dict[str, Any]:
        """What a restarted node must find again besides the realised PnL: the limits and the
        halt decided under them."""
        return {"limits": self.limits(), "halted": self.halted}

    def restore(
        self, realised: dict[str, Decimal], limits: dict[str, Any] | None, halted: Any
    ) -> None:
        """Take back what the store kept: the realised PnL of completed cycles (a trader id
        already in the book keeps its figure: it is the same cycle) and the halt, when it was
        decided under the limits the book has now (other limits: judged afresh, as when a
        symbol is started again with them)."""
        for trader_id, pnl in realised.items():
            self.realised.setdefault(trader_id, pnl)
        if self.halted is None and isinstance(halted, dict) and limits == self.limits():
            self.halted = halted
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
        if self.notify is not None:
            self.notify(self)
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


class RiskBooks(dict[str, SymbolRisk]):
    """The books by symbol (`NaiveContext.risk`). `on_change(symbol, book or None)`, when set
    (a live node on a database: `SqlTraderStore.keep_risk`), hears of a book created, changed
    outside a store write (a halt, new limits) or forgotten (`max_loss` off)."""

    on_change: Callable[[str, SymbolRisk | None], None] | None = None


def risk_for(book: dict[str, SymbolRisk], symbol: str, settings: Any) -> SymbolRisk | None:
    """`symbol`'s book as its settings want it: None (and forgotten) when `max_loss` is off;
    kept (with its halt and realised PnL) when it exists — a restarted leader finds it as it
    was; started with other limits, the halt is lifted and judged afresh (the realised PnL
    stays)."""
    hook = getattr(book, "on_change", None)
    max_loss = getattr(settings, "max_loss", None)
    if max_loss is None:
        book.pop(symbol, None)
        if hook is not None:
            hook(symbol, None)
        return None
    fee = settings.fee
    cancels = bool(getattr(settings, "halt_cancels_buys", False))
    risk = book.get(symbol)
    if risk is None:
        risk = book[symbol] = SymbolRisk(symbol, max_loss, fee, cancels)
        risk.configure(max_loss, fee, cancels)
        if hook is not None:
            risk.notify = lambda changed: hook(changed.symbol, changed)
    elif (risk.max_loss, risk.fee, risk.cancels_buys) != (max_loss, fee, cancels):
        risk.configure(max_loss, fee, cancels)
        risk.halted = None  # new limits (a human's decision): judged afresh from here
        if risk.notify is not None:
            risk.notify(risk)
    return risk


__all__ = ["INFINITY", "RiskBooks", "SymbolRisk", "risk_for"]
