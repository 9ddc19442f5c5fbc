"""The wire format on its own, no sockets: what `read_frame` makes of each kind of frame, and
the URL of a combined stream (`stream_url`) with the streams that fit in it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from hedgehog.core.types import TradeEvent
from hedgehog.streamer.frames import Answer, Malformed, Notice, read_frame, stream_url
from tests.streamer.fake_binance import T0, trade_frame


def text(frame: Any) -> str:
    return json.dumps(frame)


def test_a_trade_combined_or_raw_is_a_trade_event() -> None:
    frame = trade_frame("BTCUSDT", 7, price="43000.5", qty="0.001")
    expected = TradeEvent("BTCUSDT", 7, Decimal("43000.5"), Decimal("0.001"), T0 + 7, False, T0 + 7)
    assert read_frame(text(frame)) == expected
    assert read_frame(text(frame["data"])) == expected


def test_answers_in_both_error_shapes() -> None:
    ok = {"result": None, "id": 3}
    assert read_frame(text(ok)) == Answer(3, None, None, ok)
    listed = read_frame('{"result": ["btcusdt@trade"], "id": 4}')
    assert isinstance(listed, Answer) and listed.result == ["btcusdt@trade"]
    newer = read_frame('{"error": {"code": 3, "msg": "Invalid JSON"}, "id": 5}')
    assert isinstance(newer, Answer) and newer.error == {"code": 3, "msg": "Invalid JSON"}
    older = read_frame('{"code": 2, "msg": "Invalid request", "id": 6}')
    assert isinstance(older, Answer) and older.error == {"code": 2, "msg": "Invalid request"}


def test_server_notices() -> None:
    assert read_frame('{"code": 1, "msg": "bad"}') is Notice.ERROR  # an error without id
    shutdown = {"event": {"e": "serverShutdown", "E": T0}}
    assert read_frame(text(shutdown)) is Notice.SHUTDOWN
    assert read_frame(text(shutdown["event"])) is Notice.SHUTDOWN


def bad(field: str, value: Any) -> dict[str, Any]:
    frame = trade_frame("BTCUSDT", 1)
    if value is None:
        del frame["data"][field]
    else:
        frame["data"][field] = value
    return frame


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("not json {", "invalid JSON"),
        ("[1, 2, 3]", "not a JSON object"),
        ('"a string"', "not a JSON object"),
        (text({"stream": "btcusdt@kline_1m", "data": {"e": "kline"}}), "unexpected frame"),
        (text({"foo": 1}), "unexpected frame"),
        (text(bad("p", "-1")), "price and quantity must be positive"),
        (text(bad("q", "0")), "price and quantity must be positive"),
    ],
)
def test_malformed_frames_say_why(raw: str, why: str) -> None:
    assert read_frame(raw) == Malformed(why)


@pytest.mark.parametrize("field", ["t", "p", "s"])
def test_a_trade_with_a_bad_field_is_malformed(field: str) -> None:
    assert isinstance(read_frame(text(bad(field, None))), Malformed)
    assert isinstance(read_frame(text(bad(field, "abc" if field != "s" else 1))), Malformed)


def test_the_url_carries_the_sorted_streams_that_fit() -> None:
    base = "ws://h:1"
    streams = {"cccusdt@trade", "aaausdt@trade", "bbbusdt@trade"}
    url, in_url = stream_url(base, streams, 1000)
    assert url == "ws://h:1/stream?streams=aaausdt@trade/bbbusdt@trade/cccusdt@trade"
    assert in_url == ["aaausdt@trade", "bbbusdt@trade", "cccusdt@trade"]
    fits_two = len(base) + len("/stream?streams=") + 2 * len("aaausdt@trade/")
    assert stream_url(base, streams, fits_two)[1] == ["aaausdt@trade", "bbbusdt@trade"]
    assert stream_url(base, set(), 1000) == ("ws://h:1/stream", [])
