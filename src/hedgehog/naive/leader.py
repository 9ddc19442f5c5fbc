"""The leader of one symbol: starts, monitors and replaces its traders (chapter 5 of the book).

Which traders to start, add and replace is its symbol's strategy's policy
(`hedgehog.strategy.protocol`: `missing_slots`, `extra_trader`, `replacement`); the naive
strategy's is the book's, said below. Grid starts one trader per level and replaces a level's.

- At start it loads the symbol's traders from the trader store and resumes each with its saved
  state; then it starts the fresh traders the strategy is missing (naive: one, when none saved).
- Traders report every state change; the leader keeps the last one of each.
- A trader that ends normally (its cycle completed) is replaced by a fresh trader, unless the
  symbol is shutting down; then the symbol stops once its last trader has ended.
- A trader that crashes (or is killed) is restarted with its last reported state, same id,
  up to `MAX_RESTARTS` times within `RESTART_PERIOD` seconds (a supervisor's intensity). One
  that crashes more often is left stopped: the symbol is marked errored with the reason
  (`ctx.errored`, shown by status and the dashboard) and that trader's open orders are left on
  the exchange, listed in the log, for a human to decide.
- A trader's rebuy request starts one more trader while fewer than `chunks` are alive.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from hedgehog.core.errors import ConfigError, UnknownSymbol
from hedgehog.market.publisher import BarPublisher, ServeBars
from hedgehog.naive.context import (
    BARS,
    SHUTDOWN,
    SYMBOLS,
    NaiveContext,
    bar_intervals,
    traders_name,
)
from hedgehog.naive.messages import (
    RESUME,
    RebuyWanted,
    Resume,
    Shutdown,
    StopSymbol,
    TraderStateChanged,
)
from hedgehog.naive.messages import SHUTDOWN as SHUTDOWN_MESSAGE
from hedgehog.naive.risk import risk_for
from hedgehog.naive.strategy import TraderState
from hedgehog.naive.trader import Trader
from hedgehog.runtime import (
    NOPROC,
    NORMAL,
    AlreadyRegistered,
    ChildSpec,
    Continue,
    Down,
    Process,
    start_child,
)
from hedgehog.runtime import (
    SHUTDOWN as SHUTDOWN_REASON,
)

log = logging.getLogger("hedgehog.naive.leader")
MAX_RESTARTS = 5
RESTART_PERIOD = 10.0  # seconds


@dataclass
class Slot:
    pid: Process
    ref: int
    state: TraderState


@dataclass(frozen=True, slots=True)
class TraderView:
    """A leader's trader as others may see it: its id, its process (alive or not) and the
    last state it reported."""

    trader_id: str
    process: Process
    state: TraderState

    @property
    def alive(self) -> bool:
        return self.process.alive


def traders_of(leader: Process | None) -> list[TraderView]:
    """The traders of a leader (none when `leader` is missing or not a `Leader`), in start
    order: the one read-only view other packages use instead of the leader's private slots."""
    return leader.traders() if isinstance(leader, Leader) else []


class Leader(Process):
    def init(self, symbol: str, ctx: NaiveContext) -> Continue:
        self.symbol = symbol
        self.ctx = ctx
        self.slots: dict[str, Slot] = {}
        self.strategy = ctx.strategy_for(symbol)
        self.settings = ctx.settings_for(symbol)
        self.risk = risk_for(ctx.risk, symbol, self.settings)  # None: no max_loss
        self.filters: Any = None
        self.crashes: dict[str, list[float]] = {}  # trader id -> times of its recent crashes
        return Continue("boot")

    async def handle_continue(self, payload: Any) -> None:
        try:
            self.filters = await self.ctx.exchange.symbol_filters(self.symbol)
        except UnknownSymbol:
            raise ConfigError(f"{self.symbol} is not traded on the exchange") from None
        self.settings.check_against(self.filters)
        await self._serve_bars()
        saved = await self.ctx.store.load(self.symbol)
        for state in saved:
            await self._start(state)
        if not self.shutting_down:
            for slot in self.strategy.missing_slots(self.settings, saved):
                await self._start_fresh(slot)

    @property
    def shutting_down(self) -> bool:
        return self.ctx.status.get(self.symbol) == SHUTDOWN

    async def handle_cast(self, message: Any) -> None:
        match message:
            case TraderStateChanged(trader_id, state):
                slot = self.slots.get(trader_id)
                if slot is not None:
                    slot.state = state
            case RebuyWanted():
                if self.shutting_down or (self.risk is not None and self.risk.halted):
                    return  # a halted symbol adds no trader (it would not buy)
                extra = self.strategy.extra_trader(self.settings, len(self.slots))
                if extra is not None:
                    await self._start_fresh(extra)

    async def handle_call(self, request: Any, from_: Any) -> Any:
        match request:
            case Shutdown():
                for slot in self.slots.values():
                    self.rt.cast(slot.pid, SHUTDOWN_MESSAGE)
                self._stop_if_done()
                return "ok"
            case Resume():
                for slot in self.slots.values():
                    self.rt.cast(slot.pid, RESUME)
                if not self.slots:
                    for missing in self.strategy.missing_slots(self.settings, []):
                        await self._start_fresh(missing)
                return "ok"
        raise ValueError(f"unknown request {request!r}")

    async def handle_info(self, message: Any) -> None:
        if not isinstance(message, Down):
            return
        trader_id = next((tid for tid, s in self.slots.items() if s.ref == message.ref), None)
        if trader_id is None:
            return
        slot = self.slots.pop(trader_id)
        reason = message.reason
        if reason == NOPROC and not slot.pid.alive:
            # it exited before we could monitor it (a recovered trader whose cycle was already
            # complete stops in its first callback): its real exit reason is known
            reason = slot.pid.exit_reason
        if reason == SHUTDOWN_REASON:
            return  # stopped by its supervisor: the symbol is being stopped
        if reason == NORMAL:
            await self.ctx.store.remove(self.symbol, trader_id)
            if self.risk is not None:
                self.risk.removed(trader_id)
            if self.shutting_down:
                self._stop_if_done()
            else:
                again = self.strategy.replacement(self.settings, slot.state)
                if again is not None:
                    await self._start_fresh(again)
            return
        now = self.rt.clock.monotonic()
        recent = [t for t in self.crashes.get(trader_id, []) if now - t < RESTART_PERIOD]
        recent.append(now)
        self.crashes[trader_id] = recent
        if len(recent) > MAX_RESTARTS:
            self._give_up(slot.state, reason)
            return
        log.warning("%s: trader %s exited (%s); restarting it", self.symbol, trader_id, reason)
        self.ctx.restarts[self.symbol] += 1
        await self._start(slot.state)

    def _give_up(self, state: TraderState, reason: Any) -> None:
        """A trader crashing in a loop: leave it stopped, its orders alone, and say so."""
        orders = ", ".join(
            f"{o.side.value} {o.quantity} at {o.price} ({o.client_order_id}, {o.status})"
            for o in state.in_flight()
        )
        why = (
            f"trader {state.trader_id} crashed {MAX_RESTARTS + 1} times in "
            f"{RESTART_PERIOD:g} s (last: {reason}); not restarted"
        )
        self.ctx.errored[self.symbol] = why + (f"; open orders left: {orders}" if orders else "")
        log.error("%s: %s", self.symbol, self.ctx.errored[self.symbol])

    def traders(self) -> list[TraderView]:
        """This leader's traders in start order (see `traders_of`)."""
        slots = sorted(self.slots.items(), key=lambda kv: kv[1].state.number)
        return [TraderView(tid, slot.pid, slot.state) for tid, slot in slots]

    def info(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "strategy": self.strategy.name,
            "settings": self.settings.as_dict(),
            "status": self.ctx.status.get(self.symbol, "on"),
            "traders": {tid: s.pid.pid for tid, s in self.slots.items()},
            "traders_started": self.ctx.traders_started[self.symbol],
            "restarts": self.ctx.restarts[self.symbol],
            "errored": self.ctx.errored.get(self.symbol),
            **self.risk_info(),
        }

    def risk_info(self) -> dict[str, Any]:
        """The risk controls, when on: `risk` (limits, threshold, realised PnL, the halt) and
        `halted` (why, or None). Nothing when off (the info of before them)."""
        if self.risk is None:
            return {}
        info = self.risk.info()
        halted = info["halted"]
        return {"risk": info, "halted": halted["reason"] if halted else None}

    # -- helpers ----------------------------------------------------------------------------
    async def _start_fresh(self, slot: int = 0) -> None:
        number = await self.ctx.store.next_trader_number(self.symbol)
        state = self.strategy.new_trader(
            self.symbol, number, self.settings, self.filters, self.ctx.trader_prefix, slot
        )
        await self.ctx.store.save(state)
        self.ctx.traders_started[self.symbol] += 1
        await self._start(state)

    async def _start(self, state: TraderState) -> None:
        spec = ChildSpec(state.trader_id, Trader, (state, self.ctx, self), restart="temporary")
        pid = await start_child(self.rt, traders_name(self.symbol), spec)
        self.slots[state.trader_id] = Slot(pid, self.rt.monitor(self, pid), state)
        if self.shutting_down:
            self.rt.cast(pid, SHUTDOWN_MESSAGE)  # restarted during a shutdown: no new buys

    async def _serve_bars(self) -> None:
        """Have the symbol's bars published before its traders subscribe to them: by the
        tree's `naive.bars` (a live node's), else one started for this run (backtests)."""
        intervals = bar_intervals(self.strategy, self.settings)
        if not intervals:
            return
        publisher = self.rt.whereis(BARS)
        if publisher is None:
            try:
                publisher = await self.rt.start(BarPublisher, self.ctx.pubsub, name=BARS)
            except AlreadyRegistered:  # another symbol's leader started it meanwhile
                publisher = self.rt.whereis(BARS)
        assert publisher is not None
        for interval in intervals:
            self.rt.cast(publisher, ServeBars(self.symbol, interval))

    def _stop_if_done(self) -> None:
        if self.shutting_down and not self.slots:
            log.info("%s: last trader finished, shutdown complete", self.symbol)
            self.rt.cast(SYMBOLS, StopSymbol(self.symbol))
