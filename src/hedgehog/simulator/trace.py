"""Order arrivals (always on) and opt-in latency tracing (`--trace-latency`).

`OrderArrivals` (`order_arrivals(market)`) notes every order request, REST `POST /api/v3/order`
and WS API `order.place` alike: when it arrived (`time.time_ns()`, before the order is placed),
its client order id, symbol and side, and what became of it (the exchange's order id, or the
error code and message of its refusal). Every request counts, a re-placed client order id too.
It is one small dict per order; `GET /_sim/arrivals` serves it (the chaos checker compares these
times with the moments the node's store committed each intent, on the same machine's clock).

Opt-in latency tracing (`start_simulator(trace_latency=True)`, `--trace-latency`):

When on, the simulator notes when each trade frame is written to a stream connection (the
first connection's write, just before the frame goes to the socket: the time it spent in the
connection's `Outbox` is not counted) and when each order request arrives (`POST
/api/v3/order`, before its parameters are read), both with `time.time_ns()`. A client that
knows which trade made it place which order (a benchmark does, through
`NaiveContext.on_order_intent`) joins the two: `GET /_sim/latency` gives the orders' arrival
times by client order id, `POST /_sim/latency` the send times of the trades it names.

Memory is bounded: each symbol keeps the send times of its last `capacity // symbols` trades in
two flat integer arrays (slot = trade id modulo their length; a slot overwritten by a later
trade answers null), and the last `order_capacity` orders are kept. When off, nothing of this
runs: the stream hub and the REST handler take their plain paths.
"""

from __future__ import annotations

import time
import weakref
from array import array
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, TypeVar

from hedgehog.core.types import TradeEvent
from hedgehog.simulator.outbox import Outbox

DEFAULT_CAPACITY = 1 << 21  # trades remembered in all (16 bytes each: 32 MiB)
DEFAULT_ORDER_CAPACITY = 1 << 17
ARRIVALS_CAPACITY = 1 << 20  # order requests remembered (the oldest are forgotten, and counted)
T = TypeVar("T")
ArrivalListener = Callable[[str, dict[str, Any]], None]


class OrderArrivals:
    """Every order request: when it arrived and what became of it (see the module doc)."""

    def __init__(self, capacity: int = ARRIVALS_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.records: deque[dict[str, Any]] = deque(maxlen=capacity)
        self.count = 0  # requests noted in all; record i has "seq" i
        self.listeners: list[ArrivalListener] = []  # (kind "arrival" | "ack", record)

    @property
    def forgotten(self) -> int:
        return self.count - len(self.records)

    def place(
        self,
        place: Callable[[Mapping[str, str]], T],
        params: Mapping[str, str],
        via: str,
        at_ns: int | None = None,
    ) -> T:
        """Note the request (arrived at `at_ns`, default now), then `place(params)`, noting
        the order id it answers or the error it raises (re-raised)."""
        record: dict[str, Any] = {
            "seq": self.count,
            "clientOrderId": params.get("newClientOrderId") or "",
            "symbol": params.get("symbol") or "",
            "side": params.get("side") or "",
            "via": via,
            "at_ns": time.time_ns() if at_ns is None else at_ns,
            "orderId": None,
            "error": None,
        }
        self.count += 1
        self.records.append(record)
        self._tell("arrival", record)
        try:
            answer = place(params)
        except Exception as exc:
            code = getattr(exc, "code", None)
            record["error"] = {"code": code, "msg": str(getattr(exc, "msg", exc))}
            raise
        if isinstance(answer, dict):
            record["orderId"] = answer.get("orderId")
        self._tell("ack", record)
        return answer

    def since(self, seq: int) -> list[dict[str, Any]]:
        """The records from sequence number `seq` on (those still remembered)."""
        first = self.count - len(self.records)
        return list(self.records)[max(0, seq - first) :]

    def _tell(self, kind: str, record: dict[str, Any]) -> None:
        for listener in self.listeners:
            listener(kind, record)


_ARRIVALS: weakref.WeakKeyDictionary[object, OrderArrivals] = weakref.WeakKeyDictionary()


def order_arrivals(market: object) -> OrderArrivals:
    """The `OrderArrivals` of a simulated market (made at first use)."""
    arrivals = _ARRIVALS.get(market)
    if arrivals is None:
        arrivals = _ARRIVALS[market] = OrderArrivals()
    return arrivals


class LatencyTrace:
    """Send times of trade frames, arrival times of orders (nanoseconds, `time.time_ns()`)."""

    def __init__(
        self,
        symbols: Collection[str],
        capacity: int = DEFAULT_CAPACITY,
        order_capacity: int = DEFAULT_ORDER_CAPACITY,
    ) -> None:
        if capacity < 1 or order_capacity < 1:
            raise ValueError("capacity and order_capacity must be >= 1")
        self.slots = max(1, capacity // max(1, len(symbols)))
        self._ids = {s: array("q", [-1]) * self.slots for s in symbols}
        self._sent = {s: array("q", [0]) * self.slots for s in symbols}
        self.order_capacity = order_capacity
        self.orders: dict[str, int] = {}
        self._order_ids: deque[str] = deque()
        self.trades_stamped = 0
        self.orders_forgotten = 0

    def trade_sent(self, trade: TradeEvent) -> None:
        """A frame of `trade` is being written to a connection (only the first write counts)."""
        ids = self._ids.get(trade.symbol)
        if ids is None:
            return
        trade_id = trade.trade_id
        slot = trade_id % self.slots
        if ids[slot] != trade_id:
            ids[slot] = trade_id
            self._sent[trade.symbol][slot] = time.time_ns()
            self.trades_stamped += 1

    def order_received(self, client_order_id: str, at_ns: int) -> None:
        """An order request with this client order id arrived at `at_ns` (first one counts)."""
        if not client_order_id or client_order_id in self.orders:
            return
        self.orders[client_order_id] = at_ns
        self._order_ids.append(client_order_id)
        if len(self._order_ids) > self.order_capacity:
            del self.orders[self._order_ids.popleft()]
            self.orders_forgotten += 1

    def sent_at(self, symbol: str, trade_id: int) -> int | None:
        """When the trade's frame was first written, if it is still remembered."""
        ids = self._ids.get(symbol)
        if ids is None or trade_id < 0 or ids[trade_id % self.slots] != trade_id:
            return None
        return self._sent[symbol][trade_id % self.slots]

    def lookup(self, trades: Iterable[Any]) -> list[int | None]:
        """`sent_at` of each `[symbol, trade id]` pair (null for anything else)."""
        out: list[int | None] = []
        for item in trades:
            match item:
                case [str(symbol), int(trade_id)] if type(trade_id) is int:
                    out.append(self.sent_at(symbol, trade_id))
                case _:
                    out.append(None)
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "trades_stamped": self.trades_stamped,
            "trades_remembered_per_symbol": self.slots,
            "orders": len(self.orders),
            "orders_forgotten": self.orders_forgotten,
        }


class TracedOutbox(Outbox):
    """An `Outbox` that tells the trace when a trade's frame is written (tracing only)."""

    __slots__ = ("_keys", "_trace")

    def __init__(self, *args: Any, trace: LatencyTrace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trace = trace
        self._keys: deque[TradeEvent | None] = deque()

    def offer(self, frame: str, trade: TradeEvent | None = None) -> bool:
        if not super().offer(frame):
            return False
        self._keys.append(trade)
        return True

    async def _run(self) -> None:
        frames, keys, ws, sent = self._frames, self._keys, self.ws, self._trace.trade_sent
        try:
            while not self.closed:
                if not frames:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                frame, trade = frames.popleft(), keys.popleft()
                if trade is not None:
                    sent(trade)
                await ws.send_str(frame)
                if len(frames) <= self._limit // 2:
                    self._room.set()
        except (ConnectionError, RuntimeError):
            self.abort()
