"""The Binance spot REST client: the `Exchange` protocol on aiohttp.

(Over 400 lines on purpose: one class, the client's whole surface — the policy, the requests'
layout and the error answers already live in `pacing`, `request` and `api_errors`.)

What it takes care of, following Binance's spot API docs:

- **Signing.** SIGNED requests carry `recvWindow` and `timestamp` (local time plus the measured
  server-time offset), and a signature over the percent-encoded query (`keys.Signer`: HMAC via
  `signing.sign_query`, or Ed25519), sent byte for byte as `request.lay_out` places it.
- **Clock skew.** The offset to the server clock is measured at `start()` and again after a
  -1021; an idempotent request (GET, DELETE) is then retried once, an order POST is not (the
  error is raised and the caller resolves by querying the client order id).
- **Rate limits.** The policy (weight accounting, 429 holds, 418 bans) is `pacing.Pacer`, which
  does no I/O; this client asks it before every request and tells it every answer, then does
  what it decides: waits, or raises `RateLimited` (`banned=True` during an IP ban, which is
  logged at ERROR). `rate_limit_status()` reports the headers last seen.
- **Unknown outcomes.** A timeout, a dropped connection or a 5xx answer to an order POST raises
  `ExchangeUnavailable`; the POST is never repeated. Only a GET is retried, once, after a
  dropped connection.
- **Secrets.** The API key, the secret and signatures never appear in logs, exception messages
  or `repr()`; logs name the method and path only, never a query string.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any

import aiohttp
from yarl import URL

from hedgehog.core.errors import (
    AuthenticationError,
    ConfigError,
    ExchangeUnavailable,
    RateLimited,
    UnknownSymbol,
)
from hedgehog.core.filters import SymbolFilters, parse_symbol
from hedgehog.core.types import Fill, Order, Side
from hedgehog.exchange.base import Balance
from hedgehog.exchange.binance import api_errors, signing, wire
from hedgehog.exchange.binance.api_errors import expect_list, expect_object, unknown_outcome
from hedgehog.exchange.binance.keys import Signer, make_signer
from hedgehog.exchange.binance.pacing import USED_WEIGHT_1M, Pacer, RateLimitStatus
from hedgehog.exchange.binance.request import (
    Params,
    lay_out,
    limit_order_params,
    market_order_params,
    order_ref_params,
)

log = logging.getLogger(__name__)

DEFAULT_REST_URL = "https://api.binance.com"
MAX_RECV_WINDOW = 60_000
_QUERY = re.compile(r"\?[^\s'\"]*")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class _Dropped(Exception):
    """The connection failed or dropped before a complete answer arrived."""


class _TimedOut(Exception):
    """No complete answer within the timeout."""


def _describe(exc: BaseException) -> str:
    """An exception's type and message, with any query string (and its signature) removed."""
    text = _QUERY.sub("?<redacted>", str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _wall_clock() -> float:
    return time.time()


class BinanceExchange:
    """Binance spot over REST, as an `Exchange` (LIMIT GTC and MARKET orders with client
    order ids)."""

    def __init__(
        self,
        api_key: str | None,
        api_secret: str | None,
        rest_url: str = DEFAULT_REST_URL,
        *,
        recv_window: int = 5000,
        timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
        max_weight_per_minute: int = 6000,
        clock: Clock = _wall_clock,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not 0 < recv_window <= MAX_RECV_WINDOW:
            raise ConfigError(f"recv_window must be 1..{MAX_RECV_WINDOW} ms, not {recv_window}")
        if timeout <= 0:
            raise ConfigError(f"timeout must be > 0 seconds, not {timeout}")
        if max_weight_per_minute <= 0:
            raise ConfigError(f"max_weight_per_minute must be > 0, not {max_weight_per_minute}")
        self._api_key = api_key or None
        self._signer: Signer | None = make_signer(api_secret) if api_secret else None
        self.rest_url = rest_url.rstrip("/")
        self.recv_window = recv_window
        self.timeout = timeout
        self._pacer = Pacer(max_weight_per_minute)
        self._session = session
        self._owns_session = session is None
        self._clock = clock
        self._sleep = sleep
        self._offset_ms = 0
        self._synced = False
        self._sync_lock = asyncio.Lock()
        self._filters: dict[str, SymbolFilters] | None = None

    def __repr__(self) -> str:
        key = "<hidden>" if self._api_key else None
        kind = self._signer.kind if self._signer else None
        return f"BinanceExchange(rest_url={self.rest_url!r}, api_key={key}, key_type={kind})"

    __str__ = __repr__

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the HTTP session (unless one was given) and measure the server-time offset."""
        self._ensure_session()
        try:
            await self.sync_time()
        except BaseException:
            await self.close()  # `async with` will not call __aexit__: leave nothing open
            raise

    async def close(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def __aenter__(self) -> BinanceExchange:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            session = aiohttp.ClientSession()
            if hasattr(session, "_retry_connection"):
                # aiohttp resends a GET or DELETE once, silently, after a dropped connection. A
                # resent cancel would get -2011 for the order the first one cancelled, so this
                # client decides itself what is retried (see `_request`).
                session._retry_connection = False
            self._session = session
            self._owns_session = True
        return self._session

    # -- time --------------------------------------------------------------------------------
    @property
    def time_offset_ms(self) -> int:
        """Server clock minus local clock, in milliseconds, as last measured."""
        return self._offset_ms

    def now_ms(self) -> int:
        """The server's clock as estimated here: local milliseconds plus the offset."""
        return int(self._clock() * 1000) + self._offset_ms

    async def sync_time(self) -> int:
        """Measure the offset to the server clock (GET /api/v3/time); return it in ms."""
        async with self._sync_lock:
            before = self._clock()
            data = await self._request("GET", "/api/v3/time")
            after = self._clock()
            server = wire.parse_server_time(expect_object(data))
            self._offset_ms = round(server - (before + after) * 500)
            self._synced = True
        log.info("Binance server time offset: %+d ms", self._offset_ms)
        return self._offset_ms

    # -- rate limits (the policy is `pacing.Pacer`; this carries out its decisions) --------
    @property
    def max_weight_per_minute(self) -> int:
        return self._pacer.max_weight_per_minute

    @max_weight_per_minute.setter
    def max_weight_per_minute(self, value: int) -> None:
        """The limit may be raised or lowered on a running client (bench/live.py lifts it
        against the simulator, whose own limit is not Binance's)."""
        if value <= 0:
            raise ConfigError(f"max_weight_per_minute must be > 0, not {value}")
        self._pacer.max_weight_per_minute = value

    @property
    def weight_used(self) -> int:
        """Request weight used in the current minute, per the last `X-MBX-USED-WEIGHT-1M`."""
        return self._pacer.weight_used(self.now_ms())

    def rate_limit_status(self) -> RateLimitStatus:
        """The rate-limit headers last seen, and any wait imposed by a 429 or a 418."""
        return self._pacer.status(self._clock(), self.now_ms())

    async def _throttle(self) -> None:
        hold = self._pacer.before_send(self._clock())
        if hold.banned:
            raise RateLimited(hold.seconds, banned=True)
        if hold.seconds > 0:
            log.warning(
                "Binance rate limit (429): waiting %.2fs before the next request", hold.seconds
            )
            await self._sleep(hold.seconds)
        server_ms = self.now_ms()
        wait = self._pacer.throttle(server_ms)
        if wait > 0:
            log.warning(
                "Binance request weight %d of %d used this minute: waiting %.2fs for the next",
                self._pacer.weight_used(server_ms),
                self.max_weight_per_minute,
                wait,
            )
            await self._sleep(wait)

    def _rate_limited(self, status: int, headers: Mapping[str, str], body: object) -> RateLimited:
        hold = self._pacer.rate_limited(status, headers, body, self._clock(), self.now_ms())
        if hold.banned:
            until = datetime.fromtimestamp(self._pacer.banned_until, UTC)
            log.error(
                "IP banned by Binance until %s (%.0fs, HTTP 418): refusing every request until "
                "then. Too many requests were sent after 429 answers.",
                until.isoformat(timespec="seconds"),
                hold.seconds,
            )
            return RateLimited(hold.seconds, banned=True)
        log.warning("rate limited by Binance (HTTP 429): next request in %.2fs", hold.seconds)
        return RateLimited(hold.seconds)

    # -- transport ---------------------------------------------------------------------------
    async def _request(
        self, method: str, path: str, params: Params | None = None, *, signed: bool = False
    ) -> Any:
        """Send one request and return its JSON; retries as the module docstring says."""
        for attempt in (1, 2):
            try:
                return await self._send(method, path, params or [], signed=signed)
            except wire.ClockSkew:
                log.warning("Binance -1021 on %s %s: resynchronising the clock", method, path)
                await self.sync_time()
                if method == "POST" or attempt == 2:
                    raise
            except _Dropped as exc:
                if method == "GET" and attempt == 1 and not _resends(self._session):
                    log.warning("%s %s: %s; retrying once", method, path, exc)
                    continue
                raise ExchangeUnavailable(unknown_outcome(method, path, str(exc))) from None
            except _TimedOut as exc:
                raise ExchangeUnavailable(unknown_outcome(method, path, str(exc))) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, method: str, path: str, params: Params, *, signed: bool) -> Any:
        await self._throttle()
        session = self._ensure_session()
        url = self.rest_url + path
        if signed:
            if self._signer is None or self._api_key is None:
                raise AuthenticationError(
                    f"{method} {path} needs an API key and secret, and none were configured"
                )
            if not self._synced:
                await self.sync_time()
            items = [*params, ("recvWindow", self.recv_window), ("timestamp", self.now_ms())]
            out = lay_out(method, url, self._signer.signed_query(items), self._api_key)
        else:
            out = lay_out(method, url, signing.encode_query(params))
        started = self._clock()
        try:
            async with session.request(
                method,
                URL(out.url, encoded=True),  # sent byte for byte as signed
                data=out.body,
                headers=out.headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                self._pacer.record(response.headers, self.now_ms())
                status = response.status
                answer_headers = response.headers
                text = await response.text()
        except TimeoutError:
            raise _TimedOut(f"no answer within {self.timeout:g}s") from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise _Dropped(_describe(exc)) from None
        except aiohttp.ClientError as exc:
            raise ExchangeUnavailable(unknown_outcome(method, path, _describe(exc))) from None
        log.debug(
            "%s %s -> HTTP %d in %.0f ms (weight %d)",
            method,
            path,
            status,
            (self._clock() - started) * 1000,
            self._pacer.counters.get(USED_WEIGHT_1M, 0),
        )
        if status in (418, 429):
            raise self._rate_limited(status, answer_headers, api_errors.parse_json(text))
        return api_errors.read_answer(method, path, status, text)

    # -- public endpoints --------------------------------------------------------------------
    async def server_time(self) -> int:
        """The server's clock in milliseconds (GET /api/v3/time)."""
        return wire.parse_server_time(expect_object(await self._request("GET", "/api/v3/time")))

    async def exchange_info(self, *, refresh: bool = False) -> dict[str, SymbolFilters]:
        """Every symbol's trading rules (GET /api/v3/exchangeInfo), cached after the first call."""
        if self._filters is None or refresh:
            data = expect_object(await self._request("GET", "/api/v3/exchangeInfo"))
            symbols = data.get("symbols")
            if not isinstance(symbols, list):
                raise wire.WireError("exchangeInfo has no 'symbols' list")
            filters: dict[str, SymbolFilters] = {}
            for entry in symbols:
                try:
                    parsed = parse_symbol(entry)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    log.debug("exchangeInfo: skipping a symbol without usable filters: %s", exc)
                    continue
                filters[parsed.symbol] = parsed
            self._filters = filters
        return self._filters

    async def symbol_filters(self, symbol: str) -> SymbolFilters:
        """The symbol's trading rules; raises `UnknownSymbol`."""
        filters = (await self.exchange_info()).get(symbol.upper())
        if filters is None:
            raise UnknownSymbol(f"{symbol!r} is not listed by Binance")
        return filters

    # -- signed endpoints --------------------------------------------------------------------
    async def account(self) -> dict[str, Any]:
        """The raw account information (GET /api/v3/account)."""
        return expect_object(await self._request("GET", "/api/v3/account", signed=True))

    async def balances(self) -> dict[str, Balance]:
        """Balances per asset, from GET /api/v3/account."""
        return wire.parse_balances(await self.account())

    async def place_limit_order(
        self, symbol: str, side: Side, price: Decimal, quantity: Decimal, client_order_id: str
    ) -> Order:
        """Place a LIMIT GTC order (POST /api/v3/order, RESULT answer).

        Raises `OrderRejected` when Binance refuses it, and `ExchangeUnavailable` when its
        outcome is unknown: then query `client_order_id` before doing anything else.
        """
        params = limit_order_params(symbol, side, price, quantity, client_order_id)
        return await self._new_order(symbol, client_order_id, params)

    async def place_market_order(
        self, symbol: str, side: Side, quantity: Decimal, client_order_id: str
    ) -> Order:
        """Place a MARKET order for `quantity` (POST /api/v3/order, `type=MARKET`, RESULT
        answer: its status, `executedQty` and `cummulativeQuoteQty`; its `price` is 0).

        Raises like `place_limit_order`: `ExchangeUnavailable` means the outcome is unknown,
        and the order is never sent again here; query `client_order_id`.
        """
        params = market_order_params(symbol, side, quantity, client_order_id)
        return await self._new_order(symbol, client_order_id, params)

    async def _new_order(self, symbol: str, client_order_id: str, params: Params) -> Order:
        """POST one new order (never repeated) and read the order it answers with."""
        try:
            data = await self._request("POST", "/api/v3/order", params, signed=True)
        except ExchangeUnavailable as exc:
            if isinstance(exc, RateLimited):
                raise
            raise ExchangeUnavailable(
                f"{exc} (order {symbol} {client_order_id}: query it before placing again)"
            ) from None
        return wire.parse_order(expect_object(data))

    async def get_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        """Look an order up, open or closed (GET /api/v3/order); raises `UnknownOrder`."""
        params = order_ref_params(symbol, client_order_id, order_id)
        return wire.parse_order(
            expect_object(await self._request("GET", "/api/v3/order", params, signed=True))
        )

    async def cancel_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        """Cancel an open order (DELETE /api/v3/order); raises `UnknownOrder`."""
        params = order_ref_params(symbol, client_order_id, order_id)
        return wire.parse_cancel_response(
            expect_object(await self._request("DELETE", "/api/v3/order", params, signed=True))
        )

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Open orders of one symbol, or of all symbols (GET /api/v3/openOrders)."""
        params: Params = [("symbol", symbol)] if symbol else []
        data = await self._request("GET", "/api/v3/openOrders", params, signed=True)
        return [wire.parse_order(expect_object(item)) for item in expect_list(data, "openOrders")]

    async def order_fills(self, symbol: str, order_id: int) -> list[Fill]:
        """The trades of one order with their commissions (GET /api/v3/myTrades?orderId=)."""
        params: Params = [("symbol", symbol), ("orderId", order_id)]
        data = await self._request("GET", "/api/v3/myTrades", params, signed=True)
        return [wire.parse_my_trade(expect_object(item)) for item in expect_list(data, "myTrades")]


def _resends(session: aiohttp.ClientSession | None) -> bool:
    """Whether aiohttp itself resends GET and DELETE after a dropped connection."""
    return bool(getattr(session, "_retry_connection", False))
