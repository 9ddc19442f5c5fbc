"""The backtest runner: replays historical trades through the very same processes as live
trading (leaders, traders, the paper exchange), on a virtual clock, in an exact order.

For each trade t, in order of (trade_time, trade_id) — across symbols, of (trade_time, symbol,
trade_id):
1. the paper exchange fills the resting orders that t crosses;
2. the owners handle those fills one by one, in fill order (a filled buy places its sell; a
   filled sell completes the cycle and the leader starts a replacement);
3. t goes to the traders that were subscribed when t was published, in the order they were
   first started (a trader started in step 2 or 3 sees the next trade first).
Between trades the runtime is run until every process is idle, so the result depends only on
the input and the settings: same input, same ledger, byte for byte.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from hedgehog.backtest.ledger import LedgerSummary, summarise
from hedgehog.backtest.prices import PriceHistory, PriceRecorder
from hedgehog.backtest.skip import skip_ahead
from hedgehog.backtest.source import TablesSource, TradeSource
from hedgehog.core.errors import ConfigError, DataError
from hedgehog.core.filters import SymbolFilters
from hedgehog.core.types import Fill, Side, TradeEvent, orders_topic, trade_topic
from hedgehog.exchange.paper.engine import MatchingEngine
from hedgehog.exchange.paper.exchange import PaperExchange
from hedgehog.exchange.paper.rules import Commission, Rules
from hedgehog.market.merge import merge_order
from hedgehog.market.tables import TradeTable, from_units
from hedgehog.naive.api import Naive
from hedgehog.naive.context import NaiveContext, leader_name, symbol_name
from hedgehog.naive.leader import traders_of
from hedgehog.naive.store import MemoryTraderStore
from hedgehog.runtime import Runtime, VirtualClock, interrupt
from hedgehog.runtime.pubsub import PubSub
from hedgehog.strategy.protocol import Strategy

CHUNK = 65_536
Progress = Callable[[int, int], None]


@dataclass
class BacktestConfig:
    settings: Mapping[str, Any]  # each symbol's settings of `strategy`
    filters: Mapping[str, SymbolFilters]
    strategy: Strategy | None = None  # None: naive
    quote_balance: Decimal | None = None  # default: every symbol's budget with fees, and then some
    chaos_kills: int = 0
    chaos_seed: int = 0
    chaos_targets: tuple[str, ...] = ("trader",)
    every_tick: bool = False  # True: every trade through the processes (no skipping)
    commission: str = "quote"  # who pays the commission: quote (exact, comparable), received, bnb
    chart_bars: bool = False  # record the report's price bars (`prices.PriceRecorder`)


@dataclass
class BacktestResult:
    ticks: int
    summary: LedgerSummary
    traders_started: int
    restarts: int
    kills: int
    elapsed_s: float
    last_prices: dict[str, Decimal] = field(default_factory=dict)
    ledger: list[Any] = field(default_factory=list)
    halted: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    """Symbols with `max_loss` set: the halt (trade id, time, price, PnL, reason) or None."""
    paid_in_coins: frozenset[int] = frozenset()
    """The buys whose commission was taken from the coins bought (the metrics' per-symbol
    PnL uses it like the summary's)."""
    prices: dict[str, PriceHistory] = field(default_factory=dict)
    """What the replay kept of each symbol's trades (the metrics and the report read it)."""
    fills: list[Fill] = field(default_factory=list)
    """Every fill of the run (the engine's, per symbol in trade order): the exports' fills."""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ticks": self.ticks}
        out.update(self.summary.as_json())
        out["traders_started"] = self.traders_started
        out["restarts"] = self.restarts
        out["elapsed_s"] = round(self.elapsed_s, 6)
        out["ticks_per_s"] = round(self.ticks / self.elapsed_s) if self.elapsed_s > 0 else None
        if self.halted:  # only with risk controls on: the keys of before them otherwise
            out["halted"] = {s: h["reason"] if h else None for s, h in self.halted.items()}
        return out


def paid_in_coins(engine: MatchingEngine, symbols: list[str]) -> set[int]:
    """The buys whose commission the engine took from the coins bought."""
    out: set[int] = set()
    for symbol in symbols:
        base = engine.assets(symbol)[0]
        out.update(
            f.order_id
            for f in engine.fills(symbol)
            if f.side is Side.BUY and f.commission_asset == base
        )
    return out


def _default_balance(config: BacktestConfig) -> dict[str, Decimal]:
    balances: dict[str, Decimal] = {}
    for symbol, settings in config.settings.items():
        quote = config.filters[symbol].quote_asset
        need = settings.budget * (1 + settings.fee) * 2
        balances[quote] = balances.get(quote, Decimal(0)) + (config.quote_balance or need)
    return balances


async def run_backtest(
    data: Mapping[str, TradeTable] | TradeSource,
    config: BacktestConfig,
    progress: Progress | None = None,
) -> BacktestResult:
    """Run the naive system over `data` (a table per symbol, or a source streaming chunks of
    them) and summarise its ledger. A source is replayed chunk by chunk, in the same order
    and with the same result as its tables all at once."""
    source = TablesSource(data) if isinstance(data, Mapping) else data
    symbols = sorted(source.symbols)
    missing = [s for s in symbols if s not in config.settings or s not in config.filters]
    if missing:
        raise ConfigError(f"no settings or exchange filters for {', '.join(missing)}")
    fees = {s: config.settings[s].fee for s in symbols}
    if len(set(fees.values())) > 1:
        raise ConfigError("all symbols of one backtest must use the same fee")
    started = time.perf_counter()
    total = source.count()
    chunks = (_complete(chunk, symbols) for chunk in source.chunks())
    first_chunk = next(chunks, None)
    full = [t for t in (first_chunk or {}).values() if len(t)]
    first_ms = min(int(t.time[0]) for t in full) if full else 0
    clock = VirtualClock(first_ms / 1000)
    rt = Runtime(clock)
    pubsub = PubSub(rt)
    now = [first_ms]
    fee = next(iter(fees.values())) if fees else Decimal("0.001")
    engine = MatchingEngine(
        {s: config.filters[s] for s in symbols},
        fee=fee,
        balances=_default_balance(config),
        keep_ledger=True,
        rules=Rules(Commission(config.commission), maker_fee=fee, taker_fee=fee),
    )
    exchange = PaperExchange(engine, pubsub.broadcast, now_ms=lambda: now[0])
    ctx = NaiveContext(rt, pubsub, exchange, MemoryTraderStore())
    if config.strategy is not None:
        ctx.strategies = {s: config.strategy for s in symbols}
    naive = Naive(ctx)
    await naive.start()
    for symbol in symbols:
        await naive.start_trading(symbol, config.settings[symbol])
    await rt.quiesce(strict=True)

    chaos = _Chaos(config, total, rt, symbols)
    replay = _Replay(symbols, rt, pubsub, engine, clock, now, first_ms, total, progress)
    recorder = PriceRecorder(symbols, config.chart_bars)
    ticks, last_ms = 0, first_ms
    for chunk in itertools.chain([first_chunk] if first_chunk else [], chunks):
        last_ms = _in_order(chunk, last_ms)
        recorder.add(chunk)
        replay.start_chunk(chunk, ticks)
        if config.every_tick:
            _, which, rows = merge_order(chunk)
            await replay.every_tick(which, rows, chaos)
        elif len(symbols) == 1:  # one symbol: no merge, its rows are the order
            await skip_ahead(replay, None, None, chaos)
        else:
            _, which, rows = merge_order(chunk)
            await skip_ahead(replay, which, rows, chaos)
        ticks += sum(len(t) for t in chunk.values())
    if progress is not None:
        progress(ticks, max(total, ticks))
    prices = recorder.finish()
    last_prices = {
        s: from_units(h.last_price) for s, h in prices.items() if h.last_price is not None
    }
    await rt.quiesce(strict=True)
    elapsed = time.perf_counter() - started
    ledger = engine.ledger()
    in_coins = frozenset(paid_in_coins(engine, symbols))
    summary = summarise(ledger, fees, last_prices, in_coins)
    result = BacktestResult(
        ticks=ticks,
        summary=summary,
        traders_started=sum(ctx.traders_started.values()),
        restarts=sum(ctx.restarts.values()) + rt.restarts,
        kills=chaos.kills,
        elapsed_s=elapsed,
        last_prices=last_prices,
        ledger=ledger,
        halted={s: ctx.risk[s].halted for s in symbols if s in ctx.risk},
        paid_in_coins=in_coins,
        prices=prices,
        fills=[f for s in symbols for f in engine.fills(s)],
    )
    await rt.shutdown()
    return result


def _in_order(chunk: Mapping[str, TradeTable], after_ms: int) -> int:
    """The chunk's last trade time; DataError if it holds a trade before `after_ms` (the
    previous chunk's last): chunks must follow one another in time."""
    full = [t for t in chunk.values() if len(t)]
    if not full:
        return after_ms
    first = min(int(t.time[0]) for t in full)
    if first < after_ms:
        raise DataError(
            f"trades out of time order: a chunk starts at {first} ms, before the previous "
            f"chunk's last trade at {after_ms} ms (the source's windows must not overlap)"
        )
    return max(int(t.time[-1]) for t in full)


def _complete(chunk: Mapping[str, TradeTable], symbols: list[str]) -> dict[str, TradeTable]:
    """The chunk with a table for every symbol (empty where it has none), in symbol order."""
    unknown = set(chunk) - set(symbols)
    if unknown:
        raise ValueError(f"a chunk holds trades of {sorted(unknown)}, not of the source")
    return {s: chunk[s] if s in chunk else TradeTable.empty(s) for s in symbols}


class _Replay:
    """Delivers trades to the system in the exact order of the module docstring."""

    def __init__(
        self,
        symbols: list[str],
        rt: Runtime,
        pubsub: PubSub,
        engine: MatchingEngine,
        clock: VirtualClock,
        now: list[int],
        first_ms: int,
        total: int,
        progress: Progress | None,
    ) -> None:
        self.symbols, self.rt, self.pubsub = symbols, rt, pubsub
        self.engine, self.clock, self.now = engine, clock, now
        self.current_ms = first_ms
        self.total, self.progress = total, progress
        self.tables: dict[str, TradeTable] = {}
        self.offset = 0  # trades of the chunks before this one
        self.topics = [trade_topic(s) for s in symbols]
        self.order_topics = [orders_topic(s) for s in symbols]
        self.prices: dict[int, Decimal] = {}
        self.qtys: dict[int, Decimal] = {}

    def start_chunk(self, tables: dict[str, TradeTable], offset: int) -> None:
        """Replay `tables` next; `offset` trades came before them."""
        self.tables, self.offset = tables, offset

    def report(self, done: int) -> None:
        """Progress: `done` trades of this chunk replayed."""
        if self.progress is not None:
            self.progress(self.offset + done, max(self.total, self.offset + done))

    def event(self, sym_i: int, trade_id: int, p: int, q: int, ms: int, maker: bool) -> TradeEvent:
        price = self.prices.get(p)
        if price is None:
            price = self.prices[p] = from_units(p)
        qty = self.qtys.get(q)
        if qty is None:
            if len(self.qtys) > 200_000:
                self.qtys.clear()
            qty = self.qtys[q] = from_units(q)
        return TradeEvent(self.symbols[sym_i], trade_id, price, qty, ms, maker, ms)

    async def deliver(self, sym_i: int, trade: TradeEvent) -> None:
        """Steps 1-3 for one trade, then run the system until it is idle."""
        ms = trade.trade_time
        if ms != self.current_ms:
            self.current_ms = self.now[0] = ms
            self.clock.advance_to(ms / 1000)
        rt, pubsub = self.rt, self.pubsub
        scheduler = rt.scheduler
        updates = self.engine.on_trade(trade)
        if updates:
            await self._fills(sym_i, trade, updates)
        else:
            pubsub.broadcast(self.topics[sym_i], trade)
        scheduler.run()
        if scheduler.in_task:
            await rt.quiesce(strict=True)

    async def _fills(self, sym_i: int, trade: TradeEvent, updates: list[Any]) -> None:
        """Step 2, fill by fill, then step 3 to the subscribers of before the fills."""
        rt, pubsub = self.rt, self.pubsub
        scheduler = rt.scheduler
        interrupt.check()  # fills are rare next to trades: a signal stops a busy replay here
        snapshot = pubsub.subscribers(self.topics[sym_i])
        for update in updates:
            pubsub.broadcast(self.order_topics[sym_i], update)
            scheduler.run()
            if scheduler.in_task:
                await rt.quiesce(strict=True)
        pubsub.deliver(snapshot, trade)

    async def every_tick(self, which: np.ndarray, rows: np.ndarray, chaos: _Chaos) -> None:
        """Every trade through the processes (the reference the skip-ahead mode must equal)."""
        total, offset = len(rows), self.offset
        rt, pubsub, engine, clock = self.rt, self.pubsub, self.engine, self.clock
        scheduler = rt.scheduler
        run, on_trade, broadcast = scheduler.run, engine.on_trade, pubsub.broadcast
        symbols, topics, prices, qtys = self.symbols, self.topics, self.prices, self.qtys
        for start in range(0, total, CHUNK):
            stop = min(start + CHUNK, total)
            w_chunk = which[start:stop].tolist()
            cols = _columns(self.tables, symbols, w_chunk, rows[start:stop])
            for k, (sym_i, trade_id, p, q, ms, maker) in enumerate(
                zip(w_chunk, *cols, strict=True)
            ):
                # the common case inline (this loop runs millions of times); deliver() is
                # the same, spelled out
                price = prices.get(p)
                if price is None:
                    price = prices[p] = from_units(p)
                qty = qtys.get(q)
                if qty is None:
                    if len(qtys) > 200_000:
                        qtys.clear()
                    qty = qtys[q] = from_units(q)
                trade = TradeEvent(symbols[sym_i], trade_id, price, qty, ms, maker, ms)
                if ms != self.current_ms:
                    self.current_ms = self.now[0] = ms
                    clock.advance_to(ms / 1000)
                updates = on_trade(trade)
                if updates:
                    await self._fills(sym_i, trade, updates)
                else:
                    broadcast(topics[sym_i], trade)
                run()
                if scheduler.in_task:
                    await rt.quiesce(strict=True)
                if chaos.due(offset + start + k):
                    await chaos.strike(offset + start + k)
                if not k & 4095:
                    interrupt.check()
            self.report(stop)


def _columns(
    tables: Mapping[str, TradeTable], symbols: list[str], which: list[int], rows: np.ndarray
) -> tuple[list[int], list[int], list[int], list[int], list[bool]]:
    if len(symbols) == 1:
        t = tables[symbols[0]]
        return (
            t.trade_id[rows].tolist(),
            t.price[rows].tolist(),
            t.qty[rows].tolist(),
            t.time[rows].tolist(),
            t.buyer_maker[rows].tolist(),
        )
    w = np.asarray(which)
    out: list[np.ndarray] = []
    for column in ("trade_id", "price", "qty", "time", "buyer_maker"):
        dtype = np.bool_ if column == "buyer_maker" else np.int64
        values: np.ndarray = np.empty(len(rows), dtype=dtype)
        for i, s in enumerate(symbols):
            mask = w == i
            values[mask] = getattr(tables[s], column)[rows[mask]]
        out.append(values)
    return (
        out[0].tolist(),
        out[1].tolist(),
        out[2].tolist(),
        out[3].tolist(),
        out[4].tolist(),
    )


class _Chaos:
    """Kills random processes (seeded) at random points between trades."""

    def __init__(self, config: BacktestConfig, total: int, rt: Runtime, symbols: list[str]):
        self.rt = rt
        self.symbols = symbols
        self.targets = config.chaos_targets
        self.rng = random.Random(config.chaos_seed)
        n = min(config.chaos_kills, total)
        self.at = sorted(self.rng.sample(range(total), n)) if n else []
        self.next = 0
        self.kills = 0

    def next_at(self) -> int | None:
        """The trade index after which the next kill falls, or None when none is left."""
        return self.at[self.next] if self.next < len(self.at) else None

    def due(self, index: int) -> bool:
        return self.next < len(self.at) and self.at[self.next] <= index

    async def strike(self, index: int) -> None:
        """Make every kill due by trade `index`; each victim's supervisor restarts it."""
        while self.due(index):
            self.next += 1
            victim = self._pick()
            if victim is not None and self.rt.kill(victim):
                self.kills += 1
            await self.rt.quiesce(strict=True)

    def _pick(self) -> Any:
        kind = self.rng.choice(self.targets)
        symbol = self.rng.choice(self.symbols)
        leader = self.rt.whereis(leader_name(symbol))
        if kind == "leader":
            return leader
        if kind == "symbol":
            return self.rt.whereis(symbol_name(symbol))
        if leader is None:
            return None
        traders = traders_of(leader)
        return self.rng.choice(traders).process if traders else None


__all__ = ["BacktestConfig", "BacktestResult", "run_backtest"]
