"""The Binance spot REST client: the `Exchange` protocol on aiohttp.

What it takes care of, following Binance's spot API docs:

- **Signing.** SIGNED requests carry `recvWindow` and `timestamp` (local time plus the measured
  server-time offset), and a signature over the percent-encoded query (`keys.Signer`: HMAC via
  `signing.sign_query`, or Ed25519). GET and DELETE send that exact string as the URL's query;
  POST sends it as the `application/x-www-form-urlencoded` body. The API key travels in the
  `X-MBX-APIKEY` header.
- **Clock skew.** The offset to the server clock is measured at `start()` and again after a
  -1021; an idempotent request (GET, DELETE) is then retried once, an order POST is not (the
  error is raised and the caller resolves by querying the client order id).
- **Rate limits.** Every `X-MBX-USED-WEIGHT-*` and `X-MBX-ORDER-COUNT-*` header is recorded
  (`rate_limit_status()`). Above 90% of `max_weight_per_minute` the next request waits for the
  minute to roll over. HTTP 429 raises `RateLimited` and holds every following request until
  `Retry-After` has passed; HTTP 418 (IP ban) is logged at ERROR and every request is refused
  with `RateLimited(banned=True)` until the ban ends.
- **Unknown outcomes.** A timeout, a dropped connection or a 5xx answer to an order POST raises
  `ExchangeUnavailable`; the POST is never repeated. Only a GET is retried, once, after a
  dropped connection.
- **Secrets.** The API key, the secret and signatures never appear in logs, exception messages
  or `repr()`; logs name the method and path only, never a query string.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any

import aiohttp
from yarl import URL

from hedgehog.core.decimals import fmt
from hedgehog.core.errors import (
    AuthenticationError,
    ConfigError,
    ExchangeError,
    ExchangeUnavailable,
    RateLimited,
    UnknownSymbol,
)
from hedgehog.core.filters import SymbolFilters, parse_symbol
from hedgehog.core.types import Fill, Order, Side
from hedgehog.exchange.base import Balance
from hedgehog.exchange.binance import signing, wire
from hedgehog.exchange.binance.keys import Signer, make_signer

log = logging.getLogger(__name__)

DEFAULT_REST_URL = "https://api.binance.com"
USED_WEIGHT_PREFIX = "X-MBX-USED-WEIGHT-"
ORDER_COUNT_PREFIX = "X-MBX-ORDER-COUNT-"
USED_WEIGHT_1M = "X-MBX-USED-WEIGHT-1M"
THROTTLE_FRACTION = 0.9  # wait for the next minute above this share of the weight limit
MINUTE_MS = 60_000
ROLLOVER_MARGIN = 0.05  # seconds past the minute boundary before sending again
DEFAULT_BAN_SECONDS = 120.0  # Binance bans last 2 minutes to 3 days
MAX_RECV_WINDOW = 60_000
_BANNED_UNTIL = re.compile(r"banned until (\d{12,})")
_QUERY = re.compile(r"\?[^\s'\"]*")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
Params = list[tuple[str, object]]


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    """What Binance's rate-limit headers said last, and what the client is holding back for."""

    weight_used: int  # X-MBX-USED-WEIGHT-1M in the current minute (0 after a rollover)
    max_weight_per_minute: int
    counters: dict[str, int] = field(default_factory=dict)  # every header seen, by name
    retry_after: float = 0.0  # seconds until requests may go out again (after 429 or 418)
    banned: bool = False  # an IP ban (HTTP 418) is in force

    @property
    def weight_fraction(self) -> float:
        return self.weight_used / self.max_weight_per_minute if self.max_weight_per_minute else 0


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
    """Binance spot over REST, as an `Exchange` (LIMIT GTC orders with client order ids)."""

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
        self.max_weight_per_minute = max_weight_per_minute
        self._session = session
        self._owns_session = session is None
        self._clock = clock
        self._sleep = sleep
        self._offset_ms = 0
        self._synced = False
        self._sync_lock = asyncio.Lock()
        self._filters: dict[str, SymbolFilters] | None = None
        self._counters: dict[str, int] = {}
        self._weight_minute = -1  # server minute of the last X-MBX-USED-WEIGHT-1M header
        self._retry_at = 0.0  # clock() before which no request is sent (HTTP 429)
        self._banned_until = 0.0  # clock() before which every request is refused (HTTP 418)

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
            server = wire.parse_server_time(_object(data))
            self._offset_ms = round(server - (before + after) * 500)
            self._synced = True
        log.info("Binance server time offset: %+d ms", self._offset_ms)
        return self._offset_ms

    # -- rate limits -------------------------------------------------------------------------
    def _server_minute(self) -> int:
        return self.now_ms() // MINUTE_MS

    @property
    def weight_used(self) -> int:
        """Request weight used in the current minute, per the last `X-MBX-USED-WEIGHT-1M`."""
        if self._weight_minute != self._server_minute():
            return 0
        return self._counters.get(USED_WEIGHT_1M, 0)

    def rate_limit_status(self) -> RateLimitStatus:
        """The rate-limit headers last seen, and any wait imposed by a 429 or a 418."""
        now = self._clock()
        banned = self._banned_until > now
        wait = max(self._retry_at, self._banned_until) - now
        return RateLimitStatus(
            weight_used=self.weight_used,
            max_weight_per_minute=self.max_weight_per_minute,
            counters=dict(self._counters),
            retry_after=max(0.0, wait),
            banned=banned,
        )

    def _track(self, headers: Mapping[str, str]) -> None:
        for name, value in headers.items():
            upper = name.upper()
            if upper.startswith((USED_WEIGHT_PREFIX, ORDER_COUNT_PREFIX)):
                try:
                    self._counters[upper] = int(value)
                except ValueError:
                    continue
                if upper == USED_WEIGHT_1M:
                    self._weight_minute = self._server_minute()

    async def _throttle(self) -> None:
        now = self._clock()
        if self._banned_until > now:
            raise RateLimited(self._banned_until - now, banned=True)
        if self._retry_at > now:
            wait = self._retry_at - now
            log.warning("Binance rate limit (429): waiting %.2fs before the next request", wait)
            await self._sleep(wait)
        used = self.weight_used
        if used > THROTTLE_FRACTION * self.max_weight_per_minute:
            wait = self._seconds_to_next_minute() + ROLLOVER_MARGIN
            log.warning(
                "Binance request weight %d of %d used this minute: waiting %.2fs for the next",
                used,
                self.max_weight_per_minute,
                wait,
            )
            await self._sleep(wait)

    def _seconds_to_next_minute(self) -> float:
        now = self.now_ms()
        return ((now // MINUTE_MS + 1) * MINUTE_MS - now) / 1000

    def _retry_after(self, headers: Mapping[str, str], body: object, default: float) -> float:
        value = headers.get("Retry-After")
        if value is not None:
            try:
                seconds = float(value)
            except ValueError:
                seconds = -1.0
            if seconds >= 0:
                return seconds
        if isinstance(body, dict):
            match = _BANNED_UNTIL.search(str(body.get("msg", "")))
            if match:
                return max(0.0, (int(match.group(1)) - self.now_ms()) / 1000)
        return default

    def _rate_limited(self, status: int, headers: Mapping[str, str], body: object) -> RateLimited:
        now = self._clock()
        if status == 418:
            retry = self._retry_after(headers, body, DEFAULT_BAN_SECONDS)
            self._banned_until = max(self._banned_until, now + retry)
            until = datetime.fromtimestamp(self._banned_until, UTC).isoformat(timespec="seconds")
            log.error(
                "IP banned by Binance until %s (%.0fs, HTTP 418): refusing every request until "
                "then. Too many requests were sent after 429 answers.",
                until,
                retry,
            )
            return RateLimited(retry, banned=True)
        retry = self._retry_after(headers, body, self._seconds_to_next_minute())
        self._retry_at = max(self._retry_at, now + retry)
        log.warning("rate limited by Binance (HTTP 429): next request in %.2fs", retry)
        return RateLimited(retry)

    # -- transport ---------------------------------------------------------------------------
    async def _request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        *,
        signed: bool = False,
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
                raise ExchangeUnavailable(_unknown(method, path, str(exc))) from None
            except _TimedOut as exc:
                raise ExchangeUnavailable(_unknown(method, path, str(exc))) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, method: str, path: str, params: Params, *, signed: bool) -> Any:
        await self._throttle()
        session = self._ensure_session()
        headers: dict[str, str] = {}
        if signed:
            if self._signer is None or self._api_key is None:
                raise AuthenticationError(
                    f"{method} {path} needs an API key and secret, and none were configured"
                )
            if not self._synced:
                await self.sync_time()
            items = [*params, ("recvWindow", self.recv_window), ("timestamp", self.now_ms())]
            query = self._signer.signed_query(items)
            headers["X-MBX-APIKEY"] = self._api_key
        else:
            query = signing.encode_query(params)
        body: bytes | None = None
        target = self.rest_url + path
        if method == "POST":
            body = query.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif query:
            target = f"{target}?{query}"
        started = self._clock()
        try:
            async with session.request(
                method,
                URL(target, encoded=True),  # sent byte for byte as signed
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                self._track(response.headers)
                status = response.status
                answer_headers = response.headers
                text = await response.text()
        except TimeoutError:
            raise _TimedOut(f"no answer within {self.timeout:g}s") from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise _Dropped(_describe(exc)) from None
        except aiohttp.ClientError as exc:
            raise ExchangeUnavailable(_unknown(method, path, _describe(exc))) from None
        log.debug(
            "%s %s -> HTTP %d in %.0f ms (weight %d)",
            method,
            path,
            status,
            (self._clock() - started) * 1000,
            self._counters.get(USED_WEIGHT_1M, 0),
        )
        data = _json(text)
        if status in (418, 429):
            raise self._rate_limited(status, answer_headers, data)
        if status >= 400:
            self._raise_error(method, path, status, text[:200] if data is _NOT_JSON else data)
        if not 200 <= status < 300:
            raise ExchangeError(f"{method} {path}: unexpected HTTP {status}")
        if data is _NOT_JSON:
            raise wire.WireError(f"{method} {path}: the answer is not JSON: {text[:200]!r}")
        return data

    def _raise_error(self, method: str, path: str, status: int, body: object) -> None:
        try:
            wire.raise_for_error(status, body)
        except AuthenticationError as exc:
            raise AuthenticationError(
                f"Binance refused the credentials for {method} {path}: {exc}. Check the API "
                "key and secret, the key's permissions and its IP whitelist."
            ) from None
        except ExchangeUnavailable as exc:
            if method == "POST":
                raise ExchangeUnavailable(_unknown(method, path, str(exc))) from None
            raise
        raise ExchangeError(f"{method} {path}: HTTP {status}")  # pragma: no cover

    # -- public endpoints --------------------------------------------------------------------
    async def server_time(self) -> int:
        """The server's clock in milliseconds (GET /api/v3/time)."""
        return wire.parse_server_time(_object(await self._request("GET", "/api/v3/time")))

    async def exchange_info(self, *, refresh: bool = False) -> dict[str, SymbolFilters]:
        """Every symbol's trading rules (GET /api/v3/exchangeInfo), cached after the first call."""
        if self._filters is None or refresh:
            data = _object(await self._request("GET", "/api/v3/exchangeInfo"))
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
        return _object(await self._request("GET", "/api/v3/account", signed=True))

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
        params: Params = [
            ("symbol", symbol),
            ("side", Side(side).value),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", fmt(quantity)),
            ("price", fmt(price)),
            ("newClientOrderId", client_order_id),
            ("newOrderRespType", "RESULT"),
        ]
        try:
            data = await self._request("POST", "/api/v3/order", params, signed=True)
        except ExchangeUnavailable as exc:
            if isinstance(exc, RateLimited):
                raise
            raise ExchangeUnavailable(
                f"{exc} (order {symbol} {client_order_id}: query it before placing again)"
            ) from None
        return wire.parse_order(_object(data))

    async def get_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        """Look an order up, open or closed (GET /api/v3/order); raises `UnknownOrder`."""
        params = _order_ref(symbol, client_order_id, order_id)
        return wire.parse_order(
            _object(await self._request("GET", "/api/v3/order", params, signed=True))
        )

    async def cancel_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        """Cancel an open order (DELETE /api/v3/order); raises `UnknownOrder`."""
        params = _order_ref(symbol, client_order_id, order_id)
        return wire.parse_cancel_response(
            _object(await self._request("DELETE", "/api/v3/order", params, signed=True))
        )

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Open orders of one symbol, or of all symbols (GET /api/v3/openOrders)."""
        params: Params = [("symbol", symbol)] if symbol else []
        data = await self._request("GET", "/api/v3/openOrders", params, signed=True)
        if not isinstance(data, list):
            raise wire.WireError(f"openOrders answered {type(data).__name__}, not a list")
        return [wire.parse_order(_object(item)) for item in data]

    async def order_fills(self, symbol: str, order_id: int) -> list[Fill]:
        """The trades of one order with their commissions (GET /api/v3/myTrades?orderId=)."""
        params: Params = [("symbol", symbol), ("orderId", order_id)]
        data = await self._request("GET", "/api/v3/myTrades", params, signed=True)
        if not isinstance(data, list):
            raise wire.WireError(f"myTrades answered {type(data).__name__}, not a list")
        return [wire.parse_my_trade(_object(item)) for item in data]


_NOT_JSON = object()


def _json(text: str) -> Any:
    if not text:
        return _NOT_JSON
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


def _object(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise wire.WireError(f"expected a JSON object, got {type(data).__name__}")
    return data


def _order_ref(symbol: str, client_order_id: str | None, order_id: int | None) -> Params:
    if client_order_id is None and order_id is None:
        raise ValueError("give client_order_id or order_id")
    params: Params = [("symbol", symbol)]
    if order_id is not None:
        params.append(("orderId", order_id))
    if client_order_id is not None:
        params.append(("origClientOrderId", client_order_id))
    return params


def _resends(session: aiohttp.ClientSession | None) -> bool:
    """Whether aiohttp itself resends GET and DELETE after a dropped connection."""
    return bool(getattr(session, "_retry_connection", False))


def _unknown(method: str, path: str, reason: str) -> str:
    if method == "POST":
        return f"{method} {path}: {reason}; the outcome is UNKNOWN"
    return f"{method} {path}: {reason}"
