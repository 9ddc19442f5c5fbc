"""The local Binance-compatible exchange: wiring of its parts and the in-process runner.

`start_simulator(...)` serves REST (`/api/v3/...`), trade streams (`/ws/...`, `/stream`), the
WebSocket API (`/ws-api/v3`) and the `/_sim/` control endpoints on loopback, backed by one
`MatchingEngine` and fed by recorded `TradeTable`s or a seeded synthetic market. It returns a
`SimulatorHandle`; tests, the demo and benchmarks use it in-process, `hedgehog exchange serve`
from the command line.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from aiohttp import web

from hedgehog.core.errors import ConfigError
from hedgehog.core.filters import parse_exchange_info
from hedgehog.exchange.paper.engine import MatchingEngine
from hedgehog.exchange.paper.rules import Rules
from hedgehog.market.synthetic import synthetic_exchange_info
from hedgehog.market.tables import TradeTable, from_units
from hedgehog.simulator.auth import API_KEY, DEMO_API_KEY, DEMO_API_SECRET, Auth
from hedgehog.simulator.control import Control
from hedgehog.simulator.faults import Faults
from hedgehog.simulator.feed import (
    BATCH,
    Replayer,
    Source,
    recorded_source,
    synthetic_source,
)
from hedgehog.simulator.limits import WEIGHT_LIMIT, Limits, binance_rate_limits
from hedgehog.simulator.market import Market
from hedgehog.simulator.orders import OrderDesk
from hedgehog.simulator.public import PublicApi
from hedgehog.simulator.rest import RestApi
from hedgehog.simulator.streams import StreamHub
from hedgehog.simulator.trace import LatencyTrace
from hedgehog.simulator.ws_api import WsApi

DEFAULT_BALANCES = {"USDT": Decimal(10_000)}


def exchange_info_for(
    symbols: Sequence[str],
    source: Mapping[str, Any] | str | Path | None = None,
    tables: Mapping[str, TradeTable] | None = None,
) -> dict[str, Any]:
    """The exchangeInfo answer of the served symbols: picked from a saved answer, or made up
    (tick and step guessed from recorded trades, else the synthetic market's)."""
    if source is None:
        entries = []
        for symbol in symbols:
            table = (tables or {}).get(symbol)
            tick, step = _units_of(table) if table is not None and len(table) else ("0.0001", "0.1")
            entries += synthetic_exchange_info(symbol, tick, step)["symbols"]
        return {"timezone": "UTC", "serverTime": 0, "rateLimits": binance_rate_limits(),
                "exchangeFilters": [], "symbols": entries}  # fmt: skip
    if isinstance(source, str | Path):
        try:
            data = json.loads(Path(source).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read exchange info {source}: {exc}") from None
    else:
        data = dict(source)
    known = {e.get("symbol"): e for e in data.get("symbols", []) if isinstance(e, dict)}
    absent = [s for s in symbols if s not in known]
    if absent:
        raise ConfigError(f"{', '.join(absent)} not found in the exchange info")
    return {**data, "symbols": [known[s] for s in symbols]}


def _units_of(table: TradeTable) -> tuple[str, str]:
    """The largest powers of ten dividing every price and every quantity (tick, step)."""

    def power(values: Any) -> str:
        gcd = int(np.gcd.reduce(values))
        units = 10 ** min(16, int(math.log10(gcd))) if gcd > 0 else 1
        return format(from_units(units), "f")

    return power(table.price), power(table.qty)


class Simulator:
    """All parts of one simulated exchange; `app()` is its aiohttp application."""

    def __init__(
        self,
        exchange_info: dict[str, Any],
        source: Source | None,
        speed: float = 1.0,
        keys: Mapping[str, str] | None = None,
        balances: Mapping[str, Decimal] | None = None,
        fee: Decimal = Decimal("0.001"),
        paused: bool = False,
        ping_interval: float = 20.0,
        queue_limit: int = 10_000,
        weight_limit: int = WEIGHT_LIMIT,
        wait_for_clients: float | None = None,
        trace_latency: bool = False,
        rules: Rules | None = None,
    ) -> None:
        filters = parse_exchange_info(exchange_info)
        start = DEFAULT_BALANCES if balances is None else balances
        self.market = Market(filters, exchange_info, start, fee, rules=rules)
        self.keys = dict(keys or {DEMO_API_KEY: DEMO_API_SECRET})
        self.auth = Auth(self.keys, self.market.now_ms)
        self.limits = Limits(weight_limit)
        self.faults = Faults()
        self.closing = asyncio.Event()
        if wait_for_clients is not None:
            queue_limit = max(queue_limit, 2 * BATCH)
        self.trace = LatencyTrace(self.market.symbols) if trace_latency else None
        self.streams = StreamHub(self.market.symbols, ping_interval, queue_limit, self.trace)
        self.desk = OrderDesk(self.market)
        self.ws_api = WsApi(self.auth, self.limits, self.desk, ping_interval, queue_limit)
        publish = self.streams.publish if self.trace is None else self.streams.publish_traced
        self.market.trade_listeners.append(publish)
        self.public = PublicApi(self.market, self.streams)  # market data REST + streams
        self.desk.filters.histories = self.public.histories  # average price of the filters
        self.market.report_listeners.append(self.ws_api.publish)
        self.replayer: Replayer | None = None
        if source is not None:
            throttle = None
            if wait_for_clients is not None:
                timeout = wait_for_clients

                def throttle() -> Awaitable[None]:
                    return self.streams.wait_for_clients(timeout)

            self.replayer = Replayer(
                source, speed, self.market.process_trade, paused=paused, throttle=throttle
            )
        self.rest = RestApi(
            self.desk, self.auth, self.limits, self.faults, self.closing, self.trace
        )
        self.control = Control(
            self.market, self.faults, self.streams, self.ws_api, self.limits, self.replayer,
            self.trace,
        )  # fmt: skip

    def app(self) -> web.Application:
        listen_keys = self.ws_api.listen_keys  # /ws/<listenKey> before the market streams
        app = web.Application(middlewares=[self.rest.middleware, listen_keys.middleware])
        app.add_routes(
            self.rest.routes() + listen_keys.routes() + self.streams.routes()
            + self.ws_api.routes()
            + self.control.routes() + self.public.routes()
        )  # fmt: skip
        return app


class SimulatorHandle:
    """A running simulator: its URLs, its engine, and `close()`."""

    def __init__(self, sim: Simulator, runner: web.AppRunner, host: str, port: int) -> None:
        self.sim, self.runner, self.host, self.port = sim, runner, host, port
        shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
        authority = f"[{shown}]:{port}" if ":" in shown else f"{shown}:{port}"
        self.url = f"http://{authority}"
        self.ws_url = f"ws://{authority}"  # + /ws/<stream> or /stream?streams=...
        self.ws_api_url = f"ws://{authority}/ws-api/v3"
        self.api_key, self.api_secret = next(iter(sim.keys.items()))

    @property
    def engine(self) -> MatchingEngine:
        return self.sim.market.engine

    @property
    def market(self) -> Market:
        return self.sim.market

    def stats(self) -> dict[str, Any]:
        return self.sim.control.stats()

    async def replay_done(self) -> None:
        """Wait until the feed has published its last trade (never, for a synthetic feed)."""
        if self.sim.replayer is not None:
            await self.sim.replayer.done.wait()

    async def close(self) -> None:
        """Stop the feed, cut every connection and release held requests; idempotent."""
        if self.sim.closing.is_set():
            return
        self.sim.closing.set()
        if self.sim.replayer is not None:
            await self.sim.replayer.stop()
        outboxes = [c.outbox for c in self.sim.streams.clients]
        outboxes += [s.outbox for s in self.sim.ws_api.sessions]
        outboxes += [o for k in self.sim.ws_api.listen_keys.keys.values() for o in k.clients]
        for outbox in outboxes:
            outbox.abort()
        await self.runner.cleanup()

    async def __aenter__(self) -> SimulatorHandle:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def start_simulator(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tables: Iterable[TradeTable] | None = None,
    synthetic: Sequence[str] | None = None,
    symbols: Sequence[str] | None = None,
    seed: int = 1,
    speed: float = 1.0,
    api_key: str = DEMO_API_KEY,
    api_secret: str = DEMO_API_SECRET,
    exchange_info: Mapping[str, Any] | str | Path | None = None,
    balances: Mapping[str, Decimal] | None = None,
    fee: Decimal = Decimal("0.001"),
    paused: bool = False,
    ping_interval: float = 20.0,
    queue_limit: int = 10_000,
    weight_limit: int = WEIGHT_LIMIT,
    wait_for_clients: float | None = None,
    trace_latency: bool = False,
    rules: Rules | None = None,
) -> SimulatorHandle:
    """Serve a simulated exchange on `host:port` (0: a free port) and return its handle.

    The market is fed by `tables` (recorded trades) or `synthetic` symbols (seeded), or by
    nothing but `POST /_sim/trade` for `symbols`. `speed` 0 replays as fast as possible;
    `paused` starts with the replay paused (`POST /_sim/resume` starts it). A stream client
    more than `queue_limit` frames behind is dropped; with `wait_for_clients` (seconds), a
    speed-0 replay instead waits for slow clients, dropping one only when stuck that long.
    `trace_latency` notes when trade frames are written and orders arrive (`/_sim/latency`;
    see `hedgehog.simulator.trace`); off, it costs nothing. `rules` are the money
    rules (default Binance's: commission in the asset received, volume fills, at `fee`).
    """
    if tables is not None and synthetic:
        raise ConfigError("give recorded tables or synthetic symbols, not both")
    by_symbol = {t.symbol: t for t in tables or ()}
    served = list(dict.fromkeys([*by_symbol, *(s.upper() for s in synthetic or ()),
                                 *(s.upper() for s in symbols or ())]))  # fmt: skip
    if not served:
        raise ConfigError("the simulator needs trade tables, synthetic symbols or symbols")
    if seed < 0:
        raise ConfigError("the seed must be >= 0")
    if not API_KEY.fullmatch(api_key) or not api_secret:
        raise ConfigError("the API key must be 1-128 letters and digits, the secret non-empty")
    source: Source | None = None
    if by_symbol:
        source = recorded_source(by_symbol.values())
    elif synthetic:
        source = synthetic_source([s.upper() for s in synthetic], seed)
    info = exchange_info_for(served, exchange_info, by_symbol)
    try:
        sim = Simulator(info, source, speed, {api_key: api_secret}, balances, fee, paused,
                        ping_interval, queue_limit, weight_limit, wait_for_clients,
                        trace_latency, rules)  # fmt: skip
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    runner = web.AppRunner(
        sim.app(), handler_cancellation=True, shutdown_timeout=2.0, access_log=None
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    if sim.replayer is not None:
        sim.replayer.start()
    return SimulatorHandle(sim, runner, host, int(bound))
