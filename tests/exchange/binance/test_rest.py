"""The REST client against a fake Binance on 127.0.0.1: signing, orders, errors, rate limits,
clock skew, unknown outcomes and secrets."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal as D
from typing import Any

import aiohttp
import pytest

from hedgehog.core.errors import (
    AuthenticationError,
    ConfigError,
    ExchangeError,
    ExchangeUnavailable,
    OrderRejected,
    RateLimited,
    RejectReason,
    UnknownOrder,
    UnknownSymbol,
)
from hedgehog.core.types import OrderStatus, Side
from hedgehog.exchange.base import Balance, Exchange
from hedgehog.exchange.binance import wire
from hedgehog.exchange.binance.rest import BinanceExchange
from tests.exchange.binance.fakes import (
    API_KEY,
    API_SECRET,
    DROP,
    HANG,
    XRPUSDT,
    FakeBinance,
    FakeClock,
    Reply,
)
from tests.exchange.binance.test_wire import ERRORS

ORDER = "/api/v3/order"
OPEN = "/api/v3/openOrders"
TIME = "/api/v3/time"
NON_ASCII = "１２３４５６"


def client_for(fake: FakeBinance, clock: FakeClock, **kwargs: Any) -> BinanceExchange:
    kwargs = {"timeout": 2.0, "clock": clock, "sleep": clock.sleep, **kwargs}
    return BinanceExchange(API_KEY, API_SECRET, fake.url, **kwargs)


async def place(client: BinanceExchange, cid: str = "hh-1") -> Any:
    return await client.place_limit_order("XRPUSDT", Side.BUY, D("0.43070000"), D("1E+1"), cid)


# -- basics ----------------------------------------------------------------------------------
async def test_it_is_an_exchange_that_hides_its_credentials(exchange: BinanceExchange) -> None:
    assert isinstance(exchange, Exchange)
    for text in (repr(exchange), str(exchange)):
        assert API_KEY not in text and API_SECRET not in text and "<hidden>" in text


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError):
        BinanceExchange(API_KEY, API_SECRET, recv_window=60_001)
    with pytest.raises(ConfigError):
        BinanceExchange(API_KEY, API_SECRET, timeout=0)


async def test_start_measures_the_server_time_offset(fake: FakeBinance, clock: FakeClock) -> None:
    fake.server_offset_ms = 1_234
    async with client_for(fake, clock) as client:
        assert client.time_offset_ms == 1_234
        assert client.now_ms() == int(clock() * 1000) + 1_234
        assert await client.server_time() == fake.now_ms()


async def test_a_given_session_is_used_and_left_open(fake: FakeBinance, clock: FakeClock) -> None:
    async with aiohttp.ClientSession() as session:
        client = client_for(fake, clock, session=session)
        async with client:
            assert await client.open_orders() == []
        assert not session.closed


async def test_exchange_info_is_parsed_and_cached(
    exchange: BinanceExchange, fake: FakeBinance
) -> None:
    assert await exchange.symbol_filters("xrpusdt") == XRPUSDT
    assert (await exchange.symbol_filters("BTCUSDT")).tick_size == D("0.01")
    with pytest.raises(UnknownSymbol):
        await exchange.symbol_filters("NOPEUSDT")
    assert fake.count("GET", "/api/v3/exchangeInfo") == 1
    await exchange.exchange_info(refresh=True)
    assert fake.count("GET", "/api/v3/exchangeInfo") == 2


async def test_place_get_cancel_and_list_orders(
    exchange: BinanceExchange, fake: FakeBinance
) -> None:
    order = await place(exchange, "hh-a")
    assert (order.client_order_id, order.status) == ("hh-a", OrderStatus.NEW)
    assert (order.price, order.orig_qty) == (D("0.4307"), D(10))
    post = fake.requests[-1]
    assert post.method == "POST" and post.raw_query == ""  # everything is in the signed body
    assert post.headers["X-MBX-APIKEY"] == API_KEY
    assert post.headers["Content-Type"] == "application/x-www-form-urlencoded"
    params = post.params
    assert {
        k: params[k] for k in ("symbol", "side", "type", "timeInForce", "quantity", "price")
    } == {
        "symbol": "XRPUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "10",
        "price": "0.4307",
    }
    assert params["newClientOrderId"] == "hh-a" and params["newOrderRespType"] == "RESULT"
    assert params["recvWindow"] == "5000" and params["timestamp"] == str(exchange.now_ms())
    assert post.body.endswith(f"&signature={params['signature']}")

    assert (await exchange.get_order("XRPUSDT", client_order_id="hh-a")).order_id == order.order_id
    get = fake.requests[-1]
    assert get.body == "" and "origClientOrderId=hh-a" in get.raw_query
    assert [o.order_id for o in await exchange.open_orders("XRPUSDT")] == [order.order_id]
    assert await exchange.open_orders("BTCUSDT") == []

    fake.fill(order.order_id, D(4))
    partial = await exchange.get_order("XRPUSDT", order_id=order.order_id)
    assert (partial.status, partial.executed_qty) == (OrderStatus.PARTIALLY_FILLED, D(4))
    canceled = await exchange.cancel_order("XRPUSDT", client_order_id="hh-a")
    assert canceled.client_order_id == "hh-a"  # not the cancel request's own id
    assert (canceled.status, canceled.executed_qty) == (OrderStatus.CANCELED, D(4))
    assert await exchange.open_orders() == []
    with pytest.raises(UnknownOrder):
        await exchange.cancel_order("XRPUSDT", order_id=order.order_id)  # -2011
    with pytest.raises(UnknownOrder):
        await exchange.get_order("XRPUSDT", order_id=999)  # -2013
    with pytest.raises(ValueError):
        await exchange.get_order("XRPUSDT")


async def test_balances_and_account(exchange: BinanceExchange) -> None:
    assert await exchange.balances() == {"USDT": Balance("USDT", D(1000), D(0))}
    assert (await exchange.account())["accountType"] == "SPOT"


async def test_rejections_from_the_matching_rules(exchange: BinanceExchange) -> None:
    await place(exchange, "dup")
    with pytest.raises(OrderRejected) as dup:
        await place(exchange, "dup")
    assert dup.value.reason is RejectReason.DUPLICATE_CLIENT_ORDER_ID
    with pytest.raises(OrderRejected) as bad:
        await exchange.place_limit_order("XRPUSDT", Side.BUY, D("0.43071"), D(10), "tick")
    assert bad.value.reason is RejectReason.FILTER_FAILURE
    with pytest.raises(UnknownSymbol):
        await exchange.place_limit_order(NON_ASCII, Side.BUY, D(1), D(1), "sym")


async def test_non_ascii_and_spaces_are_percent_encoded_and_signed_as_sent(
    exchange: BinanceExchange, fake: FakeBinance
) -> None:
    # The fake verifies the signature over the raw bytes it received: a -2013 (not a -1022)
    # proves the client signed exactly what it sent.
    with pytest.raises(UnknownOrder):
        await exchange.get_order(NON_ASCII, client_order_id="a b")
    seen = fake.requests[-1]
    assert (
        "symbol=%EF%BC%91%EF%BC%92" in seen.raw_query and "origClientOrderId=a+b" in seen.raw_query
    )
    assert seen.params["symbol"] == NON_ASCII and seen.params["origClientOrderId"] == "a b"
    with pytest.raises(UnknownSymbol):  # the same through a POST body
        await exchange.place_limit_order(NON_ASCII, Side.BUY, D(1), D(1), "x y")
    assert "symbol=%EF%BC%91" in fake.requests[-1].body


async def test_signed_requests_need_credentials(fake: FakeBinance, clock: FakeClock) -> None:
    async with BinanceExchange(None, None, fake.url, clock=clock, sleep=clock.sleep) as public:
        assert "XRPUSDT" in await public.exchange_info()
        with pytest.raises(AuthenticationError):
            await public.open_orders()
    assert fake.count("GET", OPEN) == 0


async def test_ed25519_keys(clock: FakeClock) -> None:
    ed = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    from cryptography.hazmat.primitives import serialization

    key = ed.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    fake = FakeBinance(clock, ed25519_public_key=key.public_key())
    await fake.start()
    try:
        client = BinanceExchange(API_KEY, pem, fake.url, clock=clock, sleep=clock.sleep)
        async with client:
            assert (await place(client)).status is OrderStatus.NEW
            assert "Ed25519" in repr(client) and "PRIVATE" not in repr(client)
    finally:
        await fake.close()


# -- error codes -----------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "code", "msg", "kind", "reason"), ERRORS)
async def test_error_answers_become_our_exceptions(
    exchange: BinanceExchange,
    fake: FakeBinance,
    status: int,
    code: int,
    msg: str,
    kind: type[Exception],
    reason: RejectReason | None,
) -> None:
    fake.script("POST", ORDER, Reply(status, wire.error_body(code, msg)))
    with pytest.raises(kind) as info:
        await place(exchange)
    if reason is not None:
        assert isinstance(info.value, OrderRejected) and info.value.reason is reason
    assert fake.count("POST", ORDER) == 1


async def test_a_refused_signature_says_what_to_check(fake: FakeBinance, clock: FakeClock) -> None:
    wrong = BinanceExchange(API_KEY, "not-the-secret", fake.url, clock=clock, sleep=clock.sleep)
    async with wrong:
        with pytest.raises(AuthenticationError) as info:
            await wrong.open_orders()
    text = str(info.value)
    assert "-1022" in text and "Check the API key and secret" in text
    assert "not-the-secret" not in text and API_KEY not in text


# -- rate limits -----------------------------------------------------------------------------
async def test_weight_headers_are_tracked(exchange: BinanceExchange, fake: FakeBinance) -> None:
    await exchange.open_orders("XRPUSDT")
    assert exchange.weight_used == fake.weight
    await place(exchange)
    status = exchange.rate_limit_status()
    assert status.counters["X-MBX-USED-WEIGHT-1M"] == fake.weight
    assert status.counters["X-MBX-ORDER-COUNT-10S"] == 1
    assert status.counters["X-MBX-ORDER-COUNT-1D"] == 1
    assert status.max_weight_per_minute == 6000 and not status.banned
    assert status.retry_after == 0 and 0 < status.weight_fraction < 0.01


async def test_the_weight_limit_can_be_changed_on_a_running_client(
    fake: FakeBinance, clock: FakeClock
) -> None:
    async with client_for(fake, clock, max_weight_per_minute=100) as client:
        fake.weight_override = 95  # above 90% of 100 ...
        await client.open_orders()
        client.max_weight_per_minute = 1000  # ... but not of 1,000: no wait
        await client.open_orders()
        assert clock.slept == [] and client.rate_limit_status().max_weight_per_minute == 1000
        with pytest.raises(ConfigError, match="must be > 0"):
            client.max_weight_per_minute = 0


async def test_near_the_weight_limit_the_next_request_waits_for_the_next_minute(
    fake: FakeBinance, clock: FakeClock
) -> None:
    async with client_for(fake, clock, max_weight_per_minute=100) as client:
        fake.weight_override = 90  # 90%: not above the threshold
        await client.open_orders()
        await client.open_orders()
        assert client.weight_used == 90 and clock.slept == []
        fake.weight_override = 95
        await client.open_orders()
        assert client.weight_used == 95
        now_ms = client.now_ms()
        to_next_minute = (60_000 - now_ms % 60_000) / 1000
        fake.weight_override = 3
        await client.open_orders()
        assert clock.slept == [pytest.approx(to_next_minute + 0.05)]
        assert client.now_ms() // 60_000 == now_ms // 60_000 + 1
        assert client.weight_used == 3


async def test_a_429_holds_the_next_request_until_retry_after() -> None:
    fake = FakeBinance(time.time)  # real time: the client really waits
    await fake.start()
    try:
        fake.script(
            "GET",
            OPEN,
            Reply(
                429, wire.error_body(-1003, "Too much request weight used"), {"Retry-After": "0.2"}
            ),
        )
        async with BinanceExchange(API_KEY, API_SECRET, fake.url) as client:
            with pytest.raises(RateLimited) as info:
                await client.open_orders()
            assert info.value.retry_after == pytest.approx(0.2) and not info.value.banned
            assert 0 < client.rate_limit_status().retry_after <= 0.2
            started = time.monotonic()
            assert await client.open_orders() == []
            assert time.monotonic() - started >= 0.18
        assert fake.count("GET", OPEN) == 2
    finally:
        await fake.close()


async def test_a_429_without_retry_after_waits_for_the_next_minute(
    exchange: BinanceExchange, fake: FakeBinance, clock: FakeClock
) -> None:
    fake.script("GET", OPEN, Reply(429, wire.error_body(-1003, "Too many requests")))
    to_next_minute = (60_000 - exchange.now_ms() % 60_000) / 1000
    with pytest.raises(RateLimited) as info:
        await exchange.open_orders()
    assert info.value.retry_after == pytest.approx(to_next_minute)
    await exchange.open_orders()
    assert clock.slept == [pytest.approx(to_next_minute)]


async def test_a_418_is_logged_loudly_and_refuses_requests_until_the_ban_ends(
    exchange: BinanceExchange, fake: FakeBinance, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    ban = wire.error_body(-1003, "Way too much request weight used; IP banned until 1.")
    fake.script("GET", OPEN, Reply(418, ban, {"Retry-After": "120"}))
    rest_log = "hedgehog.exchange.binance.rest"
    with caplog.at_level(logging.ERROR, logger=rest_log), pytest.raises(RateLimited) as info:
        await exchange.open_orders()
    assert info.value.banned and info.value.retry_after == 120
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "IP banned by Binance until" in errors[0].getMessage()
    sent = len(fake.requests)
    for call in (exchange.open_orders(), place(exchange), exchange.server_time()):
        with pytest.raises(RateLimited) as refused:
            await call
        assert refused.value.banned and refused.value.retry_after == pytest.approx(120)
    assert len(fake.requests) == sent  # nothing was sent during the ban
    assert exchange.rate_limit_status().banned
    clock.advance(120.5)
    assert not exchange.rate_limit_status().banned
    assert await exchange.open_orders() == []


async def test_a_418_without_retry_after_reads_the_ban_end_from_the_message(
    exchange: BinanceExchange, fake: FakeBinance
) -> None:
    until = exchange.now_ms() + 30_000
    msg = f"Way too much request weight used; IP banned until {until}."
    fake.script("GET", OPEN, Reply(418, wire.error_body(-1003, msg)))
    with pytest.raises(RateLimited) as info:
        await exchange.open_orders()
    assert info.value.banned and info.value.retry_after == pytest.approx(30)


# -- clock skew ------------------------------------------------------------------------------
async def test_a_1021_resyncs_the_clock_and_retries_a_get_once(
    exchange: BinanceExchange, fake: FakeBinance
) -> None:
    syncs = fake.count("GET", TIME)
    fake.server_offset_ms = 20_000  # the server clock jumps: our timestamps are 20 s late
    assert await exchange.open_orders() == []
    assert fake.count("GET", OPEN) == 2 and fake.count("GET", TIME) == syncs + 1
    assert exchange.time_offset_ms == 20_000
    skew = Reply(
        400, wire.error_body(-1021, "Timestamp for this request is outside of the recvWindow.")
    )
    fake.script("GET", OPEN, skew, skew)
    with pytest.raises(wire.ClockSkew):  # retried once, not more
        await exchange.open_orders()
    assert fake.count("GET", OPEN) == 4


async def test_a_1021_on_an_order_resyncs_and_raises_without_resending(
    exchange: BinanceExchange, fake: FakeBinance
) -> None:
    syncs = fake.count("GET", TIME)
    fake.server_offset_ms = -20_000
    with pytest.raises(wire.ClockSkew):
        await place(exchange, "hh-skew")
    assert fake.count("POST", ORDER) == 1 and fake.orders == {}
    assert fake.count("GET", TIME) == syncs + 1 and exchange.time_offset_ms == -20_000
    assert (await place(exchange, "hh-skew")).status is OrderStatus.NEW


# -- MARKET orders ---------------------------------------------------------------------------
async def test_a_market_order_is_posted_as_binance_documents_it(
    exchange: BinanceExchange, fake: FakeBinance
) -> None:
    order = await exchange.place_market_order("XRPUSDT", Side.SELL, D("1E+1"), "hh-m")
    post = fake.requests[-1]
    assert post.method == "POST" and post.path == ORDER and post.raw_query == ""
    params = post.params
    assert set(params) == {
        "symbol", "side", "type", "quantity", "newClientOrderId", "newOrderRespType",
        "recvWindow", "timestamp", "signature",
    }  # fmt: skip
    assert [(k, params[k]) for k in ("symbol", "side", "type", "quantity")] == [
        ("symbol", "XRPUSDT"), ("side", "SELL"), ("type", "MARKET"), ("quantity", "10"),
    ]  # fmt: skip
    assert params["newClientOrderId"] == "hh-m" and params["newOrderRespType"] == "RESULT"
    assert (order.client_order_id, order.status, order.order_type) == (
        "hh-m", OrderStatus.FILLED, "MARKET")  # fmt: skip
    assert (order.price, order.executed_qty, order.cumulative_quote_qty) == (
        D(0), D(10), D("4.312"))  # fmt: skip
    assert await exchange.get_order("XRPUSDT", client_order_id="hh-m") == order


async def test_a_refused_market_order_raises_order_rejected(
    exchange: BinanceExchange, fake: FakeBinance
) -> None:
    with pytest.raises(OrderRejected) as info:
        await exchange.place_market_order("XRPUSDT", Side.SELL, D("1"), "hh-small")
    assert info.value.reason is RejectReason.FILTER_FAILURE  # 0.4312 < 1 USDT
    fake.script("POST", ORDER, Reply(400, wire.error_body(wire.NEW_ORDER_REJECTED,
                                                          wire.DUPLICATE_ORDER_MSG)))  # fmt: skip
    with pytest.raises(OrderRejected) as dup:
        await exchange.place_market_order("XRPUSDT", Side.SELL, D("10"), "hh-dup")
    assert dup.value.reason is RejectReason.DUPLICATE_CLIENT_ORDER_ID


@pytest.mark.parametrize("answer", [HANG, DROP, Reply(502, "<html>Bad Gateway</html>")])
async def test_a_market_order_of_unknown_outcome_is_never_resent(
    fake: FakeBinance, clock: FakeClock, answer: Any
) -> None:
    """Its outcome is resolved by querying its client order id (here: it never arrived)."""
    fake.script("POST", ORDER, answer)
    async with client_for(fake, clock, timeout=0.2) as client:
        with pytest.raises(ExchangeUnavailable) as info:
            await client.place_market_order("XRPUSDT", Side.SELL, D(10), "hh-unknown")
        assert not isinstance(info.value, RateLimited)
        assert "UNKNOWN" in str(info.value) and "hh-unknown" in str(info.value)
        assert "query it" in str(info.value)
        assert fake.count("POST", ORDER) == 1
        with pytest.raises(UnknownOrder):
            await client.get_order("XRPUSDT", client_order_id="hh-unknown")
    assert fake.count("POST", ORDER) == 1


# -- unknown outcomes ------------------------------------------------------------------------
Call = Callable[[BinanceExchange], Awaitable[Any]]


async def test_a_post_that_times_out_is_unknown_and_never_resent(
    fake: FakeBinance, clock: FakeClock
) -> None:
    fake.script("POST", ORDER, HANG)
    async with client_for(fake, clock, timeout=0.2) as client:
        with pytest.raises(ExchangeUnavailable) as info:
            await place(client, "hh-timeout")
    assert not isinstance(info.value, RateLimited)
    assert "UNKNOWN" in str(info.value) and "hh-timeout" in str(info.value)
    assert fake.count("POST", ORDER) == 1


@pytest.mark.parametrize(
    "answer",
    [DROP, Reply(502, "<html>Bad Gateway</html>"), Reply(503, wire.error_body(-1001, "x"))],
)
async def test_a_post_dropped_or_answered_5xx_is_unknown_and_never_resent(
    exchange: BinanceExchange, fake: FakeBinance, answer: Any
) -> None:
    fake.script("POST", ORDER, answer)
    with pytest.raises(ExchangeUnavailable) as info:
        await place(exchange, "hh-drop")
    assert "UNKNOWN" in str(info.value) and "hh-drop" in str(info.value)
    assert fake.count("POST", ORDER) == 1


async def test_a_get_is_retried_once_after_a_dropped_connection(
    exchange: BinanceExchange, fake: FakeBinance
) -> None:
    fake.script("GET", OPEN, DROP)
    assert await exchange.open_orders() == []
    assert fake.count("GET", OPEN) == 2
    fake.script("GET", OPEN, DROP, DROP)
    with pytest.raises(ExchangeUnavailable):
        await exchange.open_orders()
    assert fake.count("GET", OPEN) == 4


async def test_a_cancel_is_not_resent_and_a_get_5xx_is_not_retried(
    exchange: BinanceExchange, fake: FakeBinance
) -> None:
    order = await place(exchange)
    fake.script("DELETE", ORDER, DROP)
    with pytest.raises(ExchangeUnavailable):
        await exchange.cancel_order("XRPUSDT", order_id=order.order_id)
    assert fake.count("DELETE", ORDER) == 1
    fake.script("GET", ORDER, Reply(503, "Service Unavailable"))
    with pytest.raises(ExchangeUnavailable):
        await exchange.get_order("XRPUSDT", order_id=order.order_id)
    assert fake.count("GET", ORDER) == 1


async def test_an_unreachable_exchange_is_unavailable(clock: FakeClock) -> None:
    client = BinanceExchange(API_KEY, API_SECRET, "http://127.0.0.1:9", clock=clock, timeout=1)
    with pytest.raises(ExchangeUnavailable):
        await client.start()
    await client.close()


# -- secrets ---------------------------------------------------------------------------------
async def test_secrets_never_reach_logs_exceptions_or_reprs(
    fake: FakeBinance, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, everything
    wrong_secret = "wrong-" + "s" * 58
    errors: list[BaseException] = []
    wrong = BinanceExchange(API_KEY, wrong_secret, fake.url, timeout=0.2, clock=clock)
    async with wrong:
        with pytest.raises(AuthenticationError) as auth:
            await wrong.open_orders("XRPUSDT")
        errors.append(auth.value)
    fake.script("POST", ORDER, HANG)
    fake.script("GET", ORDER, DROP, DROP)
    fake.script("DELETE", ORDER, Reply(500, "<html>oops</html>"))
    fake.script(
        "GET", OPEN, Reply(400, wire.error_body(-1022, "Signature for this request is not valid."))
    )
    client = client_for(fake, clock, timeout=0.2)
    async with client:
        calls = (
            place(client),
            client.get_order("XRPUSDT", client_order_id="c"),
            client.cancel_order("XRPUSDT", order_id=1),
            client.open_orders("XRPUSDT"),
        )
        for call in calls:
            with pytest.raises(ExchangeError) as info:
                await call
            errors.append(info.value)
    signatures = [r.params["signature"] for r in fake.requests if "signature" in r.params]
    assert len(signatures) >= 6
    assert any(r.name.startswith("hedgehog.exchange.binance") for r in caplog.records)
    texts = [caplog.text, repr(client), repr(wrong)]
    for error in errors:
        texts += [str(error), repr(error)]
        # No aiohttp exception (whose text may hold the URL) rides along in a traceback.
        assert error.__cause__ is None
        assert error.__context__ is None or error.__suppress_context__
    for secret in (API_KEY, API_SECRET, wrong_secret, *signatures):
        for text in texts:
            assert secret not in text
