"""What the NATS tests share: skip when the local server does not answer, a unique subject
prefix per test (tests share one server), a recorder of local broadcasts."""

from __future__ import annotations

import secrets
import socket
from collections import defaultdict
from typing import Any

import pytest

NATS_HOST, NATS_PORT = "127.0.0.1", 4222


def nats_answers(host: str = NATS_HOST, port: int = NATS_PORT) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            return sock.recv(4).startswith(b"INFO")  # a NATS server greets first
    except OSError:
        return False


needs_nats = pytest.mark.skipif(
    not nats_answers(), reason=f"no NATS server at {NATS_HOST}:{NATS_PORT} (start nats-server)"
)


def nats_url(port: int = NATS_PORT) -> str:
    """A URL with a prefix of its own, so that tests running at once never hear each other."""
    return f"nats://{NATS_HOST}:{port}/test{secrets.token_hex(4)}"


class Recorder:
    """A `Broadcaster` keeping what it was given, per topic."""

    def __init__(self) -> None:
        self.by_topic: dict[str, list[Any]] = defaultdict(list)

    def broadcast(self, topic: str, message: Any) -> None:
        self.by_topic[topic].append(message)

    def count(self) -> int:
        return sum(len(v) for v in self.by_topic.values())
