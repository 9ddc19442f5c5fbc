"""The streamer: Binance trade streams in, `TradeEvent`s out on `TRADE_EVENTS:<SYMBOL>`.

- `connection.py`: `StreamConnection`, one WebSocket carrying up to 1,024 trade streams, and
  the modules of its parts: `runner.py` (its sockets' life: connect, reconnect, rotate),
  `reader.py` (each frame handled inline), `sequencer.py` (trade ids: duplicates, gaps, the
  merge of a rotation's two sockets; sans-io), `frames.py` (the wire format; sans-io),
  `requests.py` (SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS and their answers) and `link.py`
  (one open socket and its request pace).
- `manager.py`: `StreamManager`, which symbols stream and on which connection.
- `api.py`: `Streamer`, the facade, and the streamer's supervision tree.
"""

from hedgehog.core.symbols import normalize_symbol
from hedgehog.streamer.api import Streamer, StreamerSupervisor, streamer_children
from hedgehog.streamer.connection import (
    DEFAULT_STREAM_URL,
    StreamConnection,
    StreamRequestError,
    list_subscriptions,
    stream_name,
)
from hedgehog.streamer.manager import (
    CONNECTIONS,
    MANAGER,
    SUPERVISOR,
    StreamerContext,
    StreamManager,
    connection_name,
)
from hedgehog.streamer.options import Backoff, ConnectionOptions

__all__ = [
    "CONNECTIONS",
    "DEFAULT_STREAM_URL",
    "MANAGER",
    "SUPERVISOR",
    "Backoff",
    "ConnectionOptions",
    "StreamConnection",
    "StreamManager",
    "StreamRequestError",
    "Streamer",
    "StreamerContext",
    "StreamerSupervisor",
    "connection_name",
    "list_subscriptions",
    "normalize_symbol",
    "stream_name",
    "streamer_children",
]
