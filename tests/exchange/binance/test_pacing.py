"""The rate-limit policy alone, with plain numbers: no sockets, no sleeps, no event loop.

`now` is the local clock in seconds, `server_ms` the server's clock in milliseconds; the tests
below keep them apart only where the difference matters (the weight's minute).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgehog.exchange.binance.pacing import (
    DEFAULT_BAN_SECONDS,
    MAX_WAIT,
    ROLLOVER_MARGIN,
    Hold,
    Pacer,
    retry_after,
    seconds_to_next_minute,
)

T0 = 1_700_000_000.0  # a local clock reading, in seconds
MINUTE0 = 1_700_000_080_000  # 40 s into a server minute, in ms
WEIGHT = "X-MBX-USED-WEIGHT-1M"


def weight(n: int) -> dict[str, str]:
    return {"x-mbx-used-weight-1m": str(n)}  # header names arrive in any case


def ban_msg(until_ms: int) -> dict[str, object]:
    return {"code": -1003, "msg": f"Way too much request weight used; IP banned until {until_ms}."}


# -- weight accounting -----------------------------------------------------------------------
def test_weight_counts_in_the_minute_it_was_reported() -> None:
    pacer = Pacer(6000)
    assert pacer.weight_used(MINUTE0) == 0
    pacer.record({**weight(42), "Content-Type": "application/json"}, MINUTE0)
    assert pacer.weight_used(MINUTE0) == 42
    assert pacer.weight_used(MINUTE0 + 19_999) == 42  # still the same minute
    assert pacer.weight_used(MINUTE0 + 20_000) == 0  # the minute rolled over
    assert pacer.counters == {WEIGHT: 42}


def test_every_rate_limit_header_is_recorded_and_junk_is_skipped() -> None:
    pacer = Pacer(6000)
    headers = {
        "X-MBX-USED-WEIGHT-1M": "7",
        "X-MBX-USED-WEIGHT-1S": "not a number",
        "x-mbx-order-count-10s": "2",
        "X-MBX-ORDER-COUNT-1D": "15",
        "Retry-After": "3",
    }
    pacer.record(headers, MINUTE0)
    assert pacer.counters == {WEIGHT: 7, "X-MBX-ORDER-COUNT-10S": 2, "X-MBX-ORDER-COUNT-1D": 15}
    status = pacer.status(T0, MINUTE0)
    assert status.weight_used == 7 and status.max_weight_per_minute == 6000
    assert status.counters == pacer.counters and status.counters is not pacer.counters
    assert status.retry_after == 0 and not status.banned
    assert status.weight_fraction == pytest.approx(7 / 6000)


def test_above_ninety_percent_the_next_request_waits_for_the_next_minute() -> None:
    pacer = Pacer(100)
    pacer.record(weight(90), MINUTE0)
    assert pacer.throttle(MINUTE0) == 0  # 90%: not above the threshold
    pacer.record(weight(91), MINUTE0)
    assert pacer.throttle(MINUTE0) == pytest.approx(20 + ROLLOVER_MARGIN)
    assert pacer.throttle(MINUTE0 + 20_000) == 0  # next minute: the weight counts from 0
    assert pacer.before_send(T0) == Hold()  # the weight never refuses or holds by itself


def test_seconds_to_next_minute() -> None:
    assert seconds_to_next_minute(MINUTE0) == 20
    assert seconds_to_next_minute(MINUTE0 + 20_000) == 60  # on the boundary: a whole minute
    assert seconds_to_next_minute(MINUTE0 + 19_999) == pytest.approx(0.001)


# -- HTTP 429 --------------------------------------------------------------------------------
def test_a_429_holds_every_request_until_retry_after() -> None:
    pacer = Pacer(6000)
    hold = pacer.rate_limited(429, {"Retry-After": "2.5"}, {"code": -1003}, T0, MINUTE0)
    assert hold == Hold(2.5)
    assert pacer.before_send(T0) == Hold(2.5)
    assert pacer.before_send(T0 + 1).seconds == pytest.approx(1.5)
    assert pacer.status(T0 + 1, MINUTE0).retry_after == pytest.approx(1.5)
    assert not pacer.status(T0 + 1, MINUTE0).banned
    assert pacer.before_send(T0 + 2.5) == Hold()  # recovered
    assert pacer.status(T0 + 3, MINUTE0).retry_after == 0


def test_a_429_without_a_usable_retry_after_waits_for_the_next_minute() -> None:
    for headers in ({}, {"Retry-After": "soon"}, {"Retry-After": "-3"}, {"Retry-After": "nan"}):
        pacer = Pacer(6000)
        assert pacer.rate_limited(429, headers, {"code": -1003}, T0, MINUTE0) == Hold(20.0)
        assert pacer.before_send(T0 + 19.9).seconds == pytest.approx(0.1)


def test_a_shorter_429_does_not_shorten_an_earlier_hold() -> None:
    pacer = Pacer(6000)
    pacer.rate_limited(429, {"Retry-After": "10"}, None, T0, MINUTE0)
    assert pacer.rate_limited(429, {"Retry-After": "1"}, None, T0, MINUTE0) == Hold(1.0)
    assert pacer.before_send(T0 + 5) == Hold(5.0)


# -- HTTP 418 --------------------------------------------------------------------------------
def test_a_418_refuses_every_request_until_the_ban_ends_then_recovers() -> None:
    pacer = Pacer(6000)
    hold = pacer.rate_limited(418, {"Retry-After": "120"}, ban_msg(1), T0, MINUTE0)
    assert hold == Hold(120.0, banned=True)
    assert pacer.banned_until == T0 + 120
    for t in (T0, T0 + 60, T0 + 119.9):
        refused = pacer.before_send(t)
        assert refused.banned and refused.seconds == pytest.approx(T0 + 120 - t)
        status = pacer.status(t, MINUTE0)
        assert status.banned and status.retry_after == pytest.approx(T0 + 120 - t)
    assert pacer.before_send(T0 + 120) == Hold()  # the ban is over
    assert not pacer.status(T0 + 120.5, MINUTE0).banned
    pacer.record(weight(3), MINUTE0 + 121_000)  # requests flow again
    assert pacer.weight_used(MINUTE0 + 121_000) == 3


def test_a_418_without_retry_after_reads_the_ban_end_from_the_message() -> None:
    pacer = Pacer(6000)
    hold = pacer.rate_limited(418, {}, ban_msg(MINUTE0 + 30_000), T0, MINUTE0)
    assert hold == Hold(30.0, banned=True)
    assert pacer.before_send(T0 + 29).banned and not pacer.before_send(T0 + 30).banned


def test_a_418_with_nothing_to_go_by_bans_for_two_minutes() -> None:
    pacer = Pacer(6000)
    hold = pacer.rate_limited(418, {}, "<html>I'm a teapot</html>", T0, MINUTE0)
    assert hold == Hold(DEFAULT_BAN_SECONDS, banned=True)


def test_a_ban_outlasts_a_429_and_is_never_shortened() -> None:
    pacer = Pacer(6000)
    pacer.rate_limited(418, {"Retry-After": "300"}, None, T0, MINUTE0)
    pacer.rate_limited(418, {"Retry-After": "10"}, None, T0 + 1, MINUTE0)
    pacer.rate_limited(429, {"Retry-After": "1"}, None, T0 + 2, MINUTE0)
    refused = pacer.before_send(T0 + 200)
    assert refused.banned and refused.seconds == pytest.approx(100)


def test_retry_after_prefers_the_header_and_never_goes_negative() -> None:
    assert retry_after({"Retry-After": "0"}, ban_msg(MINUTE0 + 9_000), MINUTE0, 5.0) == 0
    assert retry_after({}, ban_msg(MINUTE0 + 9_000), MINUTE0, 5.0) == 9
    assert retry_after({}, ban_msg(MINUTE0 - 9_000), MINUTE0, 5.0) == 0  # already over
    assert retry_after({}, {"msg": "banned until 12"}, MINUTE0, 5.0) == 5  # not a timestamp


def test_an_absurd_wait_is_capped_at_binances_longest_ban() -> None:
    """`Retry-After: inf` or a ban ending in the year 33658 would park the client for ever
    (and crash the log line that prints the ban's end): three days at most."""
    assert retry_after({"Retry-After": "inf"}, None, MINUTE0, 5.0) == MAX_WAIT
    assert retry_after({"Retry-After": "1e300"}, None, MINUTE0, 5.0) == MAX_WAIT
    assert retry_after({"Retry-After": "nan"}, None, MINUTE0, 5.0) == 5.0
    assert retry_after({}, ban_msg(10**15), MINUTE0, 5.0) == MAX_WAIT
    pacer = Pacer(6000)
    hold = pacer.rate_limited(418, {"Retry-After": "inf"}, None, T0, MINUTE0)
    assert hold == Hold(MAX_WAIT, banned=True) and pacer.banned_until == T0 + MAX_WAIT


# -- the property ----------------------------------------------------------------------------
RETRY_AFTER = st.one_of(
    st.none(),
    st.floats(min_value=0, max_value=1e6).map(repr),
    st.sampled_from(["-1", "soon", "nan", "inf", ""]),
)
Event = tuple[float, int, str | None, int | None, int]
EVENT = st.tuples(
    st.floats(min_value=0, max_value=600),  # seconds passing before the answer
    st.sampled_from([200, 429, 418]),
    RETRY_AFTER,
    st.one_of(st.none(), st.integers(min_value=-600_000, max_value=600_000)),  # banned until +ms
    st.integers(min_value=0, max_value=7000),  # X-MBX-USED-WEIGHT-1M
)


@settings(max_examples=300, deadline=None)
@given(
    offset_ms=st.integers(min_value=-100_000, max_value=100_000),
    events=st.lists(EVENT, max_size=30),
    probes=st.lists(st.floats(min_value=0, max_value=1000), max_size=5),
)
def test_never_a_send_while_banned_and_never_a_negative_wait(
    offset_ms: int, events: list[Event], probes: list[float]
) -> None:
    pacer = Pacer(1000)
    now = T0
    ban_ends = 0.0  # the model: the latest end of any ban so far
    for dt, status, retry, until, used in events:
        now += dt
        server_ms = int(now * 1000) + offset_ms
        headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
        if retry is not None:
            headers["Retry-After"] = retry
        pacer.record(headers, server_ms)
        if status != 200:
            body = ban_msg(server_ms + until) if until is not None else {"code": -1003}
            hold = pacer.rate_limited(status, headers, body, now, server_ms)
            assert hold.seconds >= 0 and hold.banned == (status == 418)
            if status == 418:
                ban_ends = max(ban_ends, now + hold.seconds)
        for later in (now, *(now + p for p in probes)):
            decision = pacer.before_send(later)
            assert decision.seconds >= 0
            assert decision.banned == (later < ban_ends)
            if decision.banned:
                assert decision.seconds == ban_ends - later
            assert pacer.throttle(int(later * 1000) + offset_ms) >= 0
            state = pacer.status(later, int(later * 1000) + offset_ms)
            assert state.retry_after >= 0 and state.banned == decision.banned
