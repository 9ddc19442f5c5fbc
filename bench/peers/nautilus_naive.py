"""The naive strategy in NautilusTrader's BacktestEngine, over bench/peers/data/ (issue 6).

    bench/peers/.venv/bin/python bench/peers/nautilus_naive.py bench/peers/data/1x1000000-seed7
        [--fills full|l1] [--risk checks|bypass] [--orders FILE] [--idle] [--log-level ERROR]

Runs in bench/peers/.venv (see setup.sh), never with hedgehog's Python: it imports nothing of
hedgehog. Prints one JSON object: how long building the TradeTicks took, the engine setup,
`engine.run()` alone ("run_s", the engine run figure), the total, and the strategy's counts
(orders, fills, cycles) so that a reader can see it did the same work as hedgehog. `--orders`
also writes every order (side, price, qty, status, placed and last update in ms), untimed, for
compare.py to set beside hedgehog's ledger.

The venue is Binance-like: a cash account in USDT (the same starting balance as hedgehog's
default: budget * (1 + fee) * 2 per symbol), 0.1 % maker and taker fee, each symbol a
CurrencyPair with tick 0.0001, step 0.1 and min notional 1, an L1 book driven by the trades
(a trade at p touches bid and ask at p: a resting BUY at >= p or SELL at <= p is filled at its
limit price, hedgehog's paper-exchange rule). Two settings bring Nautilus's simulation to
hedgehog's rules (both can be switched back to Nautilus's defaults):
- `--fills full` (default): a crossed order fills in full at its limit price, as on hedgehog's
  paper exchange (`LimitPriceFillModel` below); `l1`: Nautilus's default, a fill takes at most
  the trade's size;
- `--risk checks` (default): the pre-trade risk checks run, without their default throttle of
  100 orders/s (hedgehog has no throttle in backtests; 10 symbols exceed it); `bypass`: none.

The strategy is hedgehog's naive strategy (DESIGN.md section 3) spelled out for Nautilus's
Strategy API:
- per symbol up to `chunks` traders; one is started at the beginning;
- a trader with no order places a LIMIT BUY (GTC) at floor_tick(p - p*buy_down_interval) for
  floor_step((budget/chunks)/buy_price) on the next trade p it sees;
- once its buy is completely filled it places a LIMIT SELL of the same quantity at
  floor_tick(buy*(1+fee)*(1+profit_interval)*(1+fee)) (the fee is charged in USDT);
- once the sell is completely filled its cycle ends and a fresh trader takes its slot;
- while it holds a buy, a trade strictly below buy*(1-rebuy_interval) makes it ask, once, for
  one more trader, started if fewer than `chunks` are alive;
- a trader started while a trade is being handled (after a fill or a rebuy) sees the next
  trade first, as in hedgehog's replay; prices are computed with Decimals, as in hedgehog;
  a refused buy is retried on the next trade, as in hedgehog.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

import nautilus_trader
import numpy as np
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.backtest.models.fill import FillModel
from nautilus_trader.config import LoggingConfig, RiskEngineConfig, StrategyConfig
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import BookOrder, TradeTick
from nautilus_trader.model.enums import (
    AccountType,
    AggressorSide,
    BookType,
    CurrencyType,
    OmsType,
    OrderSide,
    OrderStatus,
    TimeInForce,
)
from nautilus_trader.model.events import OrderDenied, OrderFilled, OrderRejected
from nautilus_trader.model.identifiers import InstrumentId, Symbol, TraderId, Venue
from nautilus_trader.model.instruments import CurrencyPair
from nautilus_trader.model.objects import FIXED_PRECISION, Currency, Money, Price, Quantity
from nautilus_trader.trading.strategy import Strategy

VENUE = Venue("BINANCE")
SCALE = 10**8  # the export's units
PRICE_PREC, SIZE_PREC = 4, 1
RAW = Decimal(10) ** FIXED_PRECISION  # Nautilus's fixed-point scale of Price.raw
ONE = Decimal(1)


# -- data -----------------------------------------------------------------------------------
def load_case(folder: Path) -> tuple[dict, dict[str, dict[str, np.ndarray]]]:
    meta = json.loads((folder / "meta.json").read_text())
    columns = {}
    for symbol in meta["symbols"]:
        with np.load(folder / f"{symbol}.npz") as z:
            columns[symbol] = {k: z[k] for k in z.files}
    return meta, columns


def build_ticks(
    columns: dict[str, dict[str, np.ndarray]], ids: dict[str, InstrumentId]
) -> list[TradeTick]:
    """TradeTicks of every symbol, merged in hedgehog's replay order (time, trade id, symbol).

    Uses `TradeTick.from_raw_arrays_to_list`, the fast path that Nautilus's own
    TradeTickDataWrangler uses (prices and sizes as doubles, rounded to the precisions)."""
    symbols = sorted(columns)  # hedgehog's symbol order
    per_symbol = []
    for symbol in symbols:
        c = columns[symbol]
        n = len(c["price"])
        sides = np.where(
            c["buyer_maker"] != 0, int(AggressorSide.SELLER), int(AggressorSide.BUYER)
        ).astype(np.uint8)
        ts = (c["time"].astype(np.uint64) * np.uint64(1_000_000)).astype(np.uint64)
        ticks = TradeTick.from_raw_arrays_to_list(
            ids[symbol],
            PRICE_PREC,
            SIZE_PREC,
            c["price"].astype(np.float64) / SCALE,
            c["qty"].astype(np.float64) / SCALE,
            sides,
            [str(i) for i in c["trade_id"].tolist()],
            ts,
            ts,
        )
        assert len(ticks) == n
        per_symbol.append(ticks)
    if len(per_symbol) == 1:
        return per_symbol[0]
    which = np.concatenate([np.full(len(t), i, dtype=np.int64) for i, t in enumerate(per_symbol)])
    rows = np.concatenate([np.arange(len(t), dtype=np.int64) for t in per_symbol])
    times = np.concatenate([columns[s]["time"] for s in symbols])
    tids = np.concatenate([columns[s]["trade_id"] for s in symbols])
    order = np.lexsort((which, tids, times))
    return [
        per_symbol[w][r] for w, r in zip(which[order].tolist(), rows[order].tolist(), strict=True)
    ]


def currency_pair(symbol: str) -> CurrencyPair:
    base = symbol.removesuffix("USDT")
    currency = Currency(base, 8, 0, base, CurrencyType.CRYPTO)
    Currency.register(currency, overwrite=True)
    return CurrencyPair(
        instrument_id=InstrumentId(Symbol(symbol), VENUE),
        raw_symbol=Symbol(symbol),
        base_currency=currency,
        quote_currency=USDT,
        price_precision=PRICE_PREC,
        size_precision=SIZE_PREC,
        price_increment=Price.from_str("0.0001"),
        size_increment=Quantity.from_str("0.1"),
        lot_size=None,
        max_quantity=Quantity.from_str("9000000.0"),
        min_quantity=Quantity.from_str("0.1"),
        max_notional=None,
        min_notional=Money(1, USDT),
        max_price=Price.from_str("1000000.0000"),
        min_price=Price.from_str("0.0001"),
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.001"),
        ts_event=0,
        ts_init=0,
    )


# -- the strategy ---------------------------------------------------------------------------
class NaiveConfig(StrategyConfig, frozen=True):
    instrument_ids: list[str]
    chunks: int = 5
    budget: str = "1000"
    buy_down_interval: str = "0.0001"
    profit_interval: str = "0.001"
    rebuy_interval: str = "0.001"
    fee: str = "0.001"


def floor_to(x: Decimal, unit: Decimal) -> Decimal:
    return (x // unit) * unit


class Trader:
    __slots__ = ("born", "buy_id", "buy_price", "number", "rebuy_notified", "rebuy_raw", "sell_id")

    def __init__(self, number: int, born: int) -> None:
        self.number = number
        self.born = born  # the first trade it sees has a sequence number > born
        self.buy_id = None
        self.buy_price = Decimal(0)
        self.rebuy_raw = -1  # trades with price.raw < this ask for one more trader
        self.rebuy_notified = False
        self.sell_id = None


class Leader:
    """One symbol's traders, in the order they were started."""

    __slots__ = (
        "in_tick",
        "instrument",
        "min_notional",
        "min_qty",
        "seq",
        "started",
        "step",
        "tick",
        "traders",
    )

    def __init__(self, instrument: CurrencyPair) -> None:
        self.instrument = instrument
        self.tick = instrument.price_increment.as_decimal()
        self.step = instrument.size_increment.as_decimal()
        self.min_notional = instrument.min_notional.as_decimal()
        self.min_qty = instrument.min_quantity.as_decimal()
        self.traders: list[Trader] = []
        self.seq = 0  # trades of this symbol handled so far
        self.in_tick = False
        self.started = 0

    def start_fresh(self, born: int | None = None) -> None:
        # started during the handling of trade `seq` (rebuy), or by a fill of the trade about to
        # be handled (seq + 1): either way it sees the trade after that one first
        if born is None:
            born = self.seq if self.in_tick else self.seq + 1
        self.traders.append(Trader(self.started, born))
        self.started += 1


class NaiveStrategy(Strategy):
    def __init__(self, config: NaiveConfig) -> None:
        super().__init__(config)
        self.chunks = config.chunks
        self.chunk_budget = Decimal(config.budget) / config.chunks
        self.buy_down = Decimal(config.buy_down_interval)
        self.profit = Decimal(config.profit_interval)
        self.rebuy_factor = ONE - Decimal(config.rebuy_interval)
        self.fee = ONE + Decimal(config.fee)
        self.fee_rate = Decimal(config.fee)
        # realised PnL of the completed cycles, hedgehog's formula (backtest/ledger.py):
        # sum of qty * (sell * (1 - fee) - buy * (1 + fee)), in Decimal
        self.realised_pnl = Decimal(0)
        self.leaders: dict[InstrumentId, Leader] = {}
        self.by_order: dict = {}  # client order id -> (leader, trader)
        self.counts = dict.fromkeys(
            (
                "buys_placed", "sells_placed", "fill_events", "partial_fills",
                "buys_filled", "sells_filled", "cycles", "rebuy_requests", "rejected", "denied",
            ),
            0,
        )  # fmt: skip

    def on_start(self) -> None:
        for text in self.config.instrument_ids:
            iid = InstrumentId.from_str(text)
            leader = Leader(self.cache.instrument(iid))
            self.leaders[iid] = leader
            leader.start_fresh(born=0)  # the symbol starts with one trader: it sees trade 1
            self.subscribe_trade_ticks(iid)

    def on_trade_tick(self, tick: TradeTick) -> None:
        leader = self.leaders[tick.instrument_id]
        leader.seq = seq = leader.seq + 1
        leader.in_tick = True
        price = tick.price
        raw = price.raw
        for trader in tuple(leader.traders):
            if trader.born >= seq:
                continue
            if trader.buy_id is None:
                self._place_buy(leader, trader, price.as_decimal())
            elif not trader.rebuy_notified and raw < trader.rebuy_raw:
                trader.rebuy_notified = True
                self.counts["rebuy_requests"] += 1
                if len(leader.traders) < self.chunks:
                    leader.start_fresh()
        leader.in_tick = False

    def _place_buy(self, leader: Leader, trader: Trader, p: Decimal) -> None:
        price = floor_to(p - p * self.buy_down, leader.tick)
        if price <= 0:
            return
        qty = floor_to(self.chunk_budget / price, leader.step)
        if qty <= 0 or qty < leader.min_qty or price * qty < leader.min_notional:
            return
        inst = leader.instrument
        order = self.order_factory.limit(
            inst.id, OrderSide.BUY, inst.make_qty(qty), inst.make_price(price), TimeInForce.GTC
        )
        trader.buy_id = order.client_order_id
        trader.buy_price = price
        below = price * self.rebuy_factor
        trader.rebuy_raw = int((below * RAW).to_integral_value(ROUND_CEILING))
        self.by_order[order.client_order_id] = (leader, trader)
        self.counts["buys_placed"] += 1
        self.submit_order(order)

    def on_order_filled(self, event: OrderFilled) -> None:
        counts = self.counts
        counts["fill_events"] += 1
        cid = event.client_order_id
        ref = self.by_order.get(cid)
        if ref is None:
            return
        order = self.cache.order(cid)
        if order.status != OrderStatus.FILLED:
            counts["partial_fills"] += 1
            return
        leader, trader = ref
        del self.by_order[cid]
        if cid == trader.buy_id:
            counts["buys_filled"] += 1
            fee = self.fee
            price = floor_to(trader.buy_price * fee * (ONE + self.profit) * fee, leader.tick)
            inst = leader.instrument
            sell = self.order_factory.limit(
                inst.id, OrderSide.SELL, order.filled_qty, inst.make_price(price), TimeInForce.GTC
            )
            trader.sell_id = sell.client_order_id
            self.by_order[sell.client_order_id] = (leader, trader)
            counts["sells_placed"] += 1
            self.submit_order(sell)
        elif cid == trader.sell_id:
            counts["sells_filled"] += 1
            counts["cycles"] += 1
            q, rate = order.filled_qty.as_decimal(), self.fee_rate
            sold = order.price.as_decimal() * q * (ONE - rate)
            self.realised_pnl += sold - trader.buy_price * q * (ONE + rate)
            leader.traders.remove(trader)
            leader.start_fresh()

    def _refused(self, cid) -> None:
        ref = self.by_order.pop(cid, None)
        if ref is None:
            return
        _, trader = ref
        if cid == trader.buy_id:  # as in hedgehog: a refused buy is retried on the next trade
            trader.buy_id = None
            trader.rebuy_raw = -1
            trader.rebuy_notified = False

    def on_order_rejected(self, event: OrderRejected) -> None:
        self.counts["rejected"] += 1
        self._refused(event.client_order_id)

    def on_order_denied(self, event: OrderDenied) -> None:
        self.counts["denied"] += 1
        self._refused(event.client_order_id)


class IdleStrategy(NaiveStrategy):
    """Subscribes to the same trades and ignores them: the engine's own cost (`--idle`)."""

    def on_trade_tick(self, tick: TradeTick) -> None:
        pass


# -- the run --------------------------------------------------------------------------------
def risk_config(mode: str) -> RiskEngineConfig:
    if mode == "bypass":
        return RiskEngineConfig(bypass=True)
    # the checks, without the default throttle of 100 orders/s (hedgehog has none in backtests)
    return RiskEngineConfig(max_order_submit_rate="1000000/00:00:01")


class LimitPriceFillModel(FillModel):
    """A crossed limit order fills in full at its own limit price, as on hedgehog's paper
    exchange: the simulated book has unlimited size at the order's price. (Nautilus's
    `BestPriceFillModel` also fills in full, but at the trade's price, better than the limit
    when a trade jumps over it; its default model takes at most the trade's size, at the
    limit.) Called only when an order is crossed, so it costs nothing per trade."""

    def get_orderbook_for_fill_simulation(self, instrument, order, best_bid, best_ask):
        book = OrderBook(instrument_id=instrument.id, book_type=BookType.L2_MBP)
        side = OrderSide.SELL if order.side == OrderSide.BUY else OrderSide.BUY
        size = Quantity(1_000_000_000, instrument.size_precision)
        book.add(BookOrder(side=side, price=order.price, size=size, order_id=1), 0, 0)
        return book


def fill_model(mode: str) -> FillModel:
    if mode == "full":
        return LimitPriceFillModel()
    return FillModel()  # Nautilus's default: an L1 fill takes at most the trade's size


def run(
    folder: Path,
    log_level: str = "ERROR",
    risk: str = "checks",
    fills: str = "full",
    orders_out: Path | None = None,
    idle: bool = False,
) -> dict:
    t_start = time.perf_counter()
    meta, columns = load_case(folder)
    symbols = meta["symbols"]
    trades = sum(len(c["price"]) for c in columns.values())
    instruments = {s: currency_pair(s) for s in symbols}
    ids = {s: i.id for s, i in instruments.items()}
    t_loaded = time.perf_counter()

    ticks = build_ticks(columns, ids)
    t_ticks = time.perf_counter()

    engine = BacktestEngine(
        config=BacktestEngineConfig(
            trader_id=TraderId("BACKTESTER-001"),
            logging=LoggingConfig(log_level=log_level),
            risk_engine=risk_config(risk),
            run_analysis=False,
        )
    )
    budget_with_fees = Decimal("1000") * Decimal("1.001") * 2  # hedgehog's default balance
    engine.add_venue(
        venue=VENUE,
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        base_currency=None,
        starting_balances=[Money(budget_with_fees * len(symbols), USDT)],
        book_type=BookType.L1_MBP,
        fill_model=fill_model(fills),
    )
    for inst in instruments.values():
        engine.add_instrument(inst)
    engine.add_data(ticks)  # sorted by ts_init: stable, so hedgehog's order is kept
    del ticks
    kind = IdleStrategy if idle else NaiveStrategy
    strategy = kind(NaiveConfig(instrument_ids=[str(i) for i in ids.values()]))
    engine.add_strategy(strategy)
    gc.collect()
    t_setup = time.perf_counter()

    engine.run()
    t_run = time.perf_counter()

    counts = dict(strategy.counts)
    account = engine.cache.account_for_venue(VENUE)
    balances = {c.code: str(b.total.as_decimal()) for c, b in account.balances().items()}
    orders_total = len(engine.cache.orders())
    positions = len(engine.cache.positions())
    t_write = time.perf_counter()
    if orders_out is not None:
        write_orders(engine, orders_out)
    t_written = time.perf_counter()
    engine.dispose()
    t_end = time.perf_counter() - (t_written - t_write)  # writing the orders is not timed

    run_s = t_run - t_setup
    return {
        "peer": "nautilus_trader",
        "version": nautilus_trader.__version__,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "case": folder.name,
        "risk_engine": risk,
        "fill_model": fills,
        "strategy": "idle" if idle else "naive",
        "symbols": len(symbols),
        "trades": trades,
        "load_s": round(t_loaded - t_start, 3),
        "build_ticks_s": round(t_ticks - t_loaded, 3),
        "setup_s": round(t_setup - t_ticks, 3),
        "run_s": round(run_s, 3),
        "total_s": round(t_end - t_start, 3),
        "trades_per_s": round(trades / run_s),
        "ticks_built_per_s": round(trades / (t_ticks - t_loaded)),
        "orders": counts["buys_placed"] + counts["sells_placed"],
        "orders_in_cache": orders_total,
        "positions": positions,
        "traders_started": sum(leader.started for leader in strategy.leaders.values()),
        **counts,
        "final_balances": balances,
    }


def write_orders(engine: BacktestEngine, path: Path) -> None:
    """One line per order, in placement order: symbol side price qty filled status placed_ms
    last_ms (to set beside hedgehog's ledger; not part of the timing)."""
    orders = sorted(
        engine.cache.orders(),
        key=lambda o: (o.ts_init, int(o.client_order_id.value.rsplit("-", 1)[1])),
    )
    with path.open("w") as f:
        for o in orders:
            f.write(
                f"{o.instrument_id.symbol} {o.side_string()} {o.price} {o.quantity} "
                f"{o.filled_qty} {o.status_string()} {o.ts_init // 1_000_000} "
                f"{o.ts_last // 1_000_000}\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", type=Path, help="a folder written by export.py")
    parser.add_argument("--log-level", default="ERROR")
    parser.add_argument(
        "--risk",
        choices=("bypass", "checks"),
        default="checks",
        help="run the pre-trade risk checks without the 100 orders/s throttle (default; "
        "hedgehog has none in backtests), or bypass the risk engine",
    )
    parser.add_argument(
        "--fills",
        choices=("full", "l1"),
        default="full",
        help="fill a crossed order in full at its limit, as hedgehog does (default), or take "
        "at most the trade's size (Nautilus's default FillModel)",
    )
    parser.add_argument("--orders", type=Path, help="also write every order to this file")
    parser.add_argument(
        "--idle", action="store_true", help="a strategy that ignores the trades (engine alone)"
    )
    args = parser.parse_args()
    out = run(args.case, args.log_level, args.risk, args.fills, args.orders, args.idle)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
