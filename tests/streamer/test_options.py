"""The connection's tools without a network: jittered exponential backoff, option checks,
the rate-limited logger."""

from __future__ import annotations

import logging
import random

import pytest

from hedgehog.core.errors import ConfigError
from hedgehog.streamer import Backoff, ConnectionOptions, normalize_symbol, stream_name
from hedgehog.streamer.options import LogLimiter


def test_backoff_doubles_up_to_its_cap_and_resets() -> None:
    backoff = Backoff(0.5, 30.0)
    assert [backoff.next() for _ in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    backoff.reset()
    assert backoff.next() == 0.5


def test_backoff_jitter_stays_within_its_band() -> None:
    backoff = Backoff(1.0, 8.0, jitter=0.5, rng=random.Random(7))
    for _ in range(200):
        raw = backoff.peek()
        delay = backoff.next()
        assert raw * 0.5 <= delay <= raw
    delays = {Backoff(1.0, 8.0, jitter=0.5, rng=random.Random(s)).next() for s in range(20)}
    assert len(delays) > 1  # clients cut off together do not come back together


def test_backoff_from_the_defaults_follows_the_brief() -> None:
    options = ConnectionOptions(backoff_jitter=0.0)
    backoff = Backoff.from_options(options)
    delays = [backoff.next() for _ in range(10)]
    assert delays[0] == 0.5 and delays[-1] == 30.0
    assert options.rotate_after == 23.5 * 3600


@pytest.mark.parametrize(
    "bad",
    [
        {"backoff_base": 0},
        {"backoff_max": 0.1},
        {"backoff_jitter": 1.0},
        {"backoff_factor": 0.5},
        {"rotate_after": 0},
        {"max_requests_per_window": 0},
        {"max_params_per_request": 0},
    ],
)
def test_bad_options_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ConnectionOptions(**bad)  # type: ignore[arg-type]


def test_log_limiter_counts_what_it_suppresses(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limiter = LogLimiter(logging.getLogger("test.limiter"), 10.0, lambda: now[0])
    with caplog.at_level(logging.WARNING, "test.limiter"):
        assert limiter.warning("a", "first %s", 1)
        assert not limiter.warning("a", "again")
        assert not limiter.warning("a", "again")
        assert limiter.warning("b", "another key")
        now[0] = 10.0
        assert limiter.warning("a", "later")
    assert [r.getMessage() for r in caplog.records] == [
        "first 1",
        "another key",
        "later (2 more like this since the last report)",
    ]


def test_symbols_and_stream_names() -> None:
    assert normalize_symbol(" btcUSDT ") == "BTCUSDT"
    assert stream_name("BTCUSDT") == "btcusdt@trade"
    for bad in ("", "BTC/USDT", "x" * 21, "ÄBC"):
        with pytest.raises(ConfigError):
            normalize_symbol(bad)
