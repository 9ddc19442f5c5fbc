"""The NATS wire format and subjects: exact round trips, reversible names, bad input refused."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgehog.core.errors import ConfigError
from hedgehog.core.types import TradeEvent
from hedgehog.live.nats_wire import (
    WireError,
    decode_trade,
    encode_trade,
    parse_pubsub_url,
    subject_topic,
    topic_subject,
)

positive = st.decimals(min_value=Decimal("1e-12"), max_value=Decimal("1e12"), places=None).filter(
    lambda d: d > 0
)
exponents = st.builds(
    lambda digits, exp: Decimal(digits).scaleb(exp),
    st.integers(1, 10**20),
    st.integers(-20, 20),
)
events = st.builds(
    TradeEvent,
    st.from_regex(r"[A-Z0-9]{1,32}", fullmatch=True),
    st.integers(0, 2**63),
    st.one_of(positive, exponents),
    st.one_of(positive, exponents),
    st.integers(0, 2**53),
    st.booleans(),
    st.integers(0, 2**53),
)


@given(events, st.text("0123456789abcdef", min_size=1, max_size=12), st.integers(0, 2**63))
def test_a_trade_event_round_trips_exactly(event: TradeEvent, publisher: str, seq: int) -> None:
    back = decode_trade(encode_trade(publisher, seq, event))
    assert back == (publisher, seq, event)
    # exact: the same digits and exponent, not merely an equal value
    assert [str(back[2].price), str(back[2].quantity)] == [str(event.price), str(event.quantity)]


def test_the_encoding_is_a_compact_array() -> None:
    event = TradeEvent("XRPUSDT", 7, Decimal("0.3095"), Decimal("10.00"), 1558742400000, True, 5)
    data = encode_trade("ab12", 3, event)
    assert data == b'[1,"ab12",3,"XRPUSDT",7,"0.3095","10.00",1558742400000,true,5]'


@given(st.text(min_size=1))
def test_any_topic_maps_to_a_subject_and_back(topic: str) -> None:
    subject = topic_subject("hedgehog.prod", topic)
    token = subject.removeprefix("hedgehog.prod.")
    assert not set(token) & set(".*> \t\r\n")  # one plain token: no wildcard, no separator
    assert subject_topic("hedgehog.prod", subject) == topic


def test_topics_keep_their_names() -> None:
    assert topic_subject("hedgehog", "TRADE_EVENTS:XRPUSDT") == "hedgehog.TRADE_EVENTS:XRPUSDT"
    assert topic_subject("p", "a.b*c>d%e f") == "p.a%2Eb%2Ac%3Ed%25e%20f"


@pytest.mark.parametrize(
    ("url", "server", "prefix"),
    [
        ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222", "hedgehog"),
        ("nats://localhost", "nats://localhost:4222", "hedgehog"),
        ("nats://10.0.0.5:4333/prod", "nats://10.0.0.5:4333", "prod"),
        ("nats://h:1/a/b", "nats://h:1", "a.b"),
    ],
)
def test_pubsub_urls(url: str, server: str, prefix: str) -> None:
    assert parse_pubsub_url(url) == (server, prefix)


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379", "nats://", "127.0.0.1:4222", "nats://h:x", "nats://h/a*b"]
)
def test_bad_pubsub_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="pubsub"):
        parse_pubsub_url(url)


GOOD = [1, "p", 1, "XRPUSDT", 7, "0.5", "10", 100, False, 100]


@pytest.mark.parametrize(
    ("index", "value", "what"),
    [
        (0, 2, "version"),
        (1, "", "publisher"),
        (2, -1, "seq"),
        (2, True, "seq"),
        (3, "xrp.usdt", "symbol"),
        (4, 1.5, "trade_id"),
        (5, "NaN", "price"),
        (5, "0", "price"),
        (5, 0.5, "price"),
        (6, "-1", "quantity"),
        (6, "abc", "quantity"),
        (7, "100", "trade_time"),
        (8, 0, "buyer_market_maker"),
        (9, None, "event_time"),
    ],
)
def test_bad_fields_are_refused_saying_which(index: int, value: object, what: str) -> None:
    fields = list(GOOD)
    fields[index] = value
    with pytest.raises(WireError, match=what):
        decode_trade(json.dumps(fields).encode())


@pytest.mark.parametrize("data", [b"", b"\xff", b"{}", b"[1,2]", b"null"])
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(WireError):
        decode_trade(data)


def test_a_subject_outside_the_prefix_is_refused() -> None:
    with pytest.raises(WireError):
        subject_topic("hedgehog", "other.TRADE_EVENTS:X")
