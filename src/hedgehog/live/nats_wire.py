"""What travels over NATS, and under which subject: pure values, no I/O (the bridge that does
the I/O is `hedgehog.live.nats_bridge`, imported only when `--pubsub nats://...` is given).

- `parse_pubsub_url("nats://HOST:PORT[/PREFIX]")`: the server and the subject prefix (default
  "hedgehog"; a prefix keeps clusters sharing one NATS server apart).
- `topic_subject` / `subject_topic`: a local topic ("TRADE_EVENTS:XRPUSDT") is the subject
  "hedgehog.TRADE_EVENTS:XRPUSDT". Topics keep their names; the few characters NATS gives a
  meaning ('.', '*', '>', whitespace) and '%' itself are percent-escaped, so the mapping is
  reversible for any topic.
- `encode_trade` / `decode_trade`: a `TradeEvent` as a compact JSON array, exact (Decimals as
  their strings), with the publisher's id and a per-topic sequence number that lets a receiver
  count what NATS lost. `decode_trade` validates everything and raises `WireError`.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from hedgehog.core.errors import ConfigError, DataError
from hedgehog.core.types import TradeEvent

VERSION = 1
DEFAULT_PREFIX = "hedgehog"
_TOKEN = re.compile(r"[A-Za-z0-9_\-:]+")
_ESCAPE = re.compile(r"[.*>%\x00-\x20\x7f]")
_UNESCAPE = re.compile(r"%([0-9A-F]{2})")
_SYMBOL = re.compile(r"[A-Z0-9]{1,32}")


class WireError(DataError):
    """A message from NATS that is not a valid encoded trade event."""


def parse_pubsub_url(url: str) -> tuple[str, str]:
    """("nats://HOST:PORT", prefix) from `nats://HOST:PORT[/PREFIX]`; ConfigError otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "nats" or not parts.hostname:
        raise ConfigError(f"--pubsub must be nats://HOST:PORT[/PREFIX], not {url!r}")
    try:
        port = parts.port or 4222
    except ValueError:
        raise ConfigError(f"--pubsub {url!r}: the port must be a number") from None
    prefix = parts.path.strip("/").replace("/", ".") or DEFAULT_PREFIX
    if not all(_TOKEN.fullmatch(token) for token in prefix.split(".")):
        raise ConfigError(
            f"--pubsub {url!r}: the prefix must be letters, digits, '_', '-' or ':' "
            "(dot-separated), e.g. nats://127.0.0.1:4222/prod"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"nats://{host}:{port}", prefix


def topic_subject(prefix: str, topic: str) -> str:
    """The NATS subject of a local topic."""
    if not topic:
        raise ConfigError("a pub/sub topic cannot be empty")
    return f"{prefix}.{_ESCAPE.sub(lambda m: f'%{ord(m.group()):02X}', topic)}"


def subject_topic(prefix: str, subject: str) -> str:
    """The local topic of a NATS subject (the inverse of `topic_subject`)."""
    head = prefix + "."
    if not subject.startswith(head) or len(subject) == len(head):
        raise WireError(f"subject {subject!r} is not under the prefix {prefix!r}")
    return _UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), subject[len(head) :])


def encode_trade(publisher: str, seq: int, event: TradeEvent) -> bytes:
    """The message for one trade event: [version, publisher, seq, symbol, trade_id, price,
    quantity, trade_time, buyer_market_maker, event_time]."""
    return json.dumps(
        [
            VERSION,
            publisher,
            seq,
            event.symbol,
            event.trade_id,
            str(event.price),
            str(event.quantity),
            event.trade_time,
            event.buyer_market_maker,
            event.event_time,
        ],
        separators=(",", ":"),
    ).encode()


def decode_trade(data: bytes) -> tuple[str, int, TradeEvent]:
    """(publisher, seq, event) from a message; `WireError` saying what is wrong otherwise."""
    try:
        fields = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"not JSON: {exc}") from None
    if not isinstance(fields, list) or len(fields) != 10:
        raise WireError("not a trade event (a JSON array of 10 fields expected)")
    version, publisher, seq, symbol, trade_id, price, qty, trade_time, maker, event_time = fields
    if version != VERSION or type(version) is not int:
        raise WireError(f"unknown format version {version!r}")
    if not isinstance(publisher, str) or not publisher:
        raise WireError("publisher must be a non-empty string")
    if not isinstance(symbol, str) or not _SYMBOL.fullmatch(symbol):
        raise WireError(f"bad symbol {symbol!r}")
    if type(maker) is not bool:
        raise WireError("buyer_market_maker must be true or false")
    event = TradeEvent(
        symbol,
        _count("trade_id", trade_id),
        _positive("price", price),
        _positive("quantity", qty),
        _count("trade_time", trade_time),
        maker,
        _count("event_time", event_time),
    )
    return publisher, _count("seq", seq), event


def _count(name: str, value: Any) -> int:
    if type(value) is not int or value < 0:
        raise WireError(f"{name} must be a non-negative integer, not {value!r}")
    return value


def _positive(name: str, value: Any) -> Decimal:
    if not isinstance(value, str):
        raise WireError(f"{name} must be a decimal string, not {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise WireError(f"{name} {value!r} is not a decimal") from None
    if not number.is_finite() or number <= 0:
        raise WireError(f"{name} must be positive and finite, not {value!r}")
    return number
