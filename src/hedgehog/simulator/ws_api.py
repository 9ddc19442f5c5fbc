"""Binance's WebSocket API at `/ws-api/v3`: trading, account queries and the user data stream.

Requests are `{"id", "method", "params"}`; answers `{"id", "status": 200, "result", "rateLimits"}`
or `{"id", "status": 4xx, "error": {"code", "msg"}, "rateLimits"}`. Methods: `ping`, `time`,
`userDataStream.subscribe.signature` (apiKey, timestamp, [recvWindow], signature over the sorted
params), `userDataStream.unsubscribe` ([subscriptionId]), `session.subscriptions`; the signed
`order.place`, `order.test`, `order.status`, `order.cancel`, `openOrders.status`, `allOrders`,
`myTrades`, `account.status`, `account.commission` (params and answers as REST's, through the
same `OrderDesk` and `AccountQueries`); `session.logon` / `.status` / `.logout` and
`userDataStream.subscribe` (`ws_session`); the legacy listen-key `userDataStream.start`,
`.ping`, `.stop`. Every change of an order is pushed to each subscription as
`{"subscriptionId": n, "event": <executionReport>}`, followed by the `outboundAccountPosition`
of the balances it moved.

A frame is parsed with limits (`hedgehog.core.jsonlimits`: deep nesting or endless numbers are
-1135, not a RecursionError); text that cannot be signed (a lone surrogate) is -1100. Whatever a
client sends, it gets an answer and keeps its connection: a fault of the simulator itself is
logged and answered -1000 with status 500 (the fuzz tests fail on it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from aiohttp import WSMsgType, web

from hedgehog.core import jsonlimits
from hedgehog.exchange.binance import signing
from hedgehog.simulator.account import AccountQueries
from hedgehog.simulator.auth import ApiError, Auth, illegal_characters, missing
from hedgehog.simulator.limits import Limits
from hedgehog.simulator.listen_key import ListenKeys
from hedgehog.simulator.orders import OrderDesk
from hedgehog.simulator.outbox import Outbox
from hedgehog.simulator.trace import order_arrivals
from hedgehog.simulator.user_data import position_event
from hedgehog.simulator.ws_session import SessionMethods

log = logging.getLogger("hedgehog.simulator")
INVALID_JSON = -1135
MAX_FRAME = 1 << 20
SUBSCRIPTION_ACTIVE = -2035
SUBSCRIPTION_INACTIVE = -2036
_WEIGHTS = {"ping": 1, "time": 1, "userDataStream.subscribe.signature": 2,
            "userDataStream.unsubscribe": 2, "session.subscriptions": 2, "order.place": 1,
            "order.status": 4, "order.cancel": 1, "openOrders.status": 6, "order.test": 1,
            "allOrders": 20, "myTrades": 20, "account.status": 20, "account.commission": 20,
            "session.logon": 2, "session.status": 2, "session.logout": 2,
            "userDataStream.subscribe": 2, "userDataStream.start": 2,
            "userDataStream.ping": 2, "userDataStream.stop": 2}  # fmt: skip


class Session:
    """One WebSocket API connection and its user data subscriptions (id -> api key)."""

    __slots__ = ("api_key", "authorized_since", "connected_since", "logon_subscription",
                 "next_id", "outbox", "subscriptions")  # fmt: skip

    def __init__(self, outbox: Outbox, connected_since: int = 0) -> None:
        self.outbox = outbox
        self.subscriptions: dict[int, str] = {}
        self.next_id = 0
        self.connected_since = connected_since
        self.api_key: str | None = None  # after session.logon
        self.authorized_since: int | None = None
        self.logon_subscription: int | None = None  # made by userDataStream.subscribe


class WsApi:
    """The `/ws-api/v3` handler and the fan-out of execution reports."""

    def __init__(
        self,
        auth: Auth,
        limits: Limits,
        desk: OrderDesk,
        ping_interval: float = 20.0,
        queue_limit: int = 10_000,
    ) -> None:
        self.auth, self.limits = auth, limits
        self.ping_interval = ping_interval
        self.queue_limit = queue_limit
        self.sessions: set[Session] = set()
        self.dropped = 0
        self.account = AccountQueries(desk)
        self.market = desk.market
        self.listen_keys = ListenKeys(desk.market, auth, ping_interval, queue_limit)
        account = self.account
        arrivals = partial(order_arrivals(desk.market).place, desk.place, via="ws_api")
        self._methods: dict[str, Callable[[Session, dict[str, Any]], Any]] = {
            "ping": lambda s, p: {},
            "time": lambda s, p: {"serverTime": self.auth.now_ms()},
            "userDataStream.subscribe.signature": self._subscribe,
            "userDataStream.unsubscribe": self._unsubscribe,
            "session.subscriptions": lambda s, p: [{"subscriptionId": i} for i in s.subscriptions],
            "order.place": lambda s, p: self._trade(p, arrivals, True, s),
            "order.status": lambda s, p: self._trade(p, desk.query, session=s),
            "order.cancel": lambda s, p: self._trade(p, desk.cancel, session=s),
            "openOrders.status": lambda s, p: self._trade(p, desk.open_orders, session=s),
            "order.test": lambda s, p: self._trade(p, desk.test, session=s),
            "allOrders": lambda s, p: self._trade(p, account.all_orders, session=s),
            "myTrades": lambda s, p: self._trade(p, account.my_trades, session=s),
            "account.status": lambda s, p: self._trade(p, account.account, session=s),
            "account.commission": lambda s, p: self._trade(p, account.commission, session=s),
        }
        self._methods.update(SessionMethods(self).methods())

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/ws-api/v3", self.handle)]

    @property
    def subscription_count(self) -> int:
        return sum(len(s.subscriptions) for s in self.sessions)

    def publish(self, report: dict[str, Any]) -> None:
        """Push an executionReport, then the balances it moved, to every user data
        subscription (one account)."""
        events: list[str] = []
        for session in tuple(self.sessions):
            for sid in session.subscriptions:
                if not events:
                    events.append(json.dumps(report, separators=(",", ":")))
                    position = position_event(self.market, report)
                    if position is not None:
                        events.append(json.dumps(position, separators=(",", ":")))
                for event in events:
                    session.outbox.offer(f'{{"subscriptionId":{sid},"event":{event}}}')

    def drop_all(self) -> int:
        sessions = tuple(self.sessions)
        for session in sessions:
            session.outbox.abort()
        return len(sessions)

    def _on_drop(self, outbox: Outbox) -> None:
        self.dropped += 1

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=self.ping_interval or None, compress=False)
        await ws.prepare(request)
        outbox = Outbox(ws, request.transport, self.queue_limit, self._on_drop)
        session = Session(outbox, self.auth.now_ms())
        session.outbox.start()
        self.sessions.add(session)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    answer = self.answer(session, msg.data)
                    session.outbox.offer(json.dumps(answer, separators=(",", ":")))
        finally:
            self.sessions.discard(session)
            await session.outbox.close()
        return ws

    def answer(self, session: Session, text: str) -> dict[str, Any]:
        rid: Any = None
        try:
            try:
                request = jsonlimits.loads(text, max_size=MAX_FRAME)
            except jsonlimits.BadJson:
                raise ApiError(INVALID_JSON, "Invalid JSON Request") from None
            if not isinstance(request, dict):
                raise ApiError(INVALID_JSON, "Invalid JSON Request")
            rid = request.get("id")
            method, params = request.get("method"), request.get("params", {})
            if not isinstance(method, str) or not method:
                raise missing("method")
            if not isinstance(params, dict):
                raise ApiError(INVALID_JSON, "Invalid 'params' in JSON request; expected an "
                                             "object.")  # fmt: skip
            self.limits.spend(_WEIGHTS.get(method, 1))
            handler = self._methods.get(method)
            if handler is None:
                raise ApiError(-1020, f"This operation is not supported ({method!r}).")
            if not _encodable(params):
                raise illegal_characters()
            result = handler(session, params)
        except ApiError as exc:
            return {"id": rid, "status": 400, "error": {"code": exc.code, "msg": exc.msg},
                    "rateLimits": self.limits.rate_limits()}  # fmt: skip
        except Exception:  # a fault of ours: answer it, keep the connection
            log.exception("WebSocket API: %.200s failed", text)
            return {"id": rid, "status": 500, "error": {"code": -1000, "msg": "An unknown error "
                    "occurred while processing the request."},
                    "rateLimits": self.limits.rate_limits()}  # fmt: skip
        return {"id": rid, "status": 200, "result": result,
                "rateLimits": self.limits.rate_limits()}  # fmt: skip

    def _verify(self, params: dict[str, Any], session: Session | None = None) -> str:
        """Check the key, signature and timestamp of signed params; returns the api key.
        A session logged on may omit `apiKey` and `signature` (only the timestamp counts)."""
        if session is not None and session.api_key is not None and not params.get("apiKey"):
            if params.get("signature"):
                raise missing("apiKey")
            self.auth.check_time(params.get("timestamp"), params.get("recvWindow"))
            return session.api_key
        for name in ("apiKey", "timestamp", "signature"):
            if params.get(name) in (None, ""):
                raise missing(name)
        api_key = params["apiKey"]
        secret = self.auth.secret(api_key if isinstance(api_key, str) else None)
        signature = params["signature"]
        payload = signing.ws_api_payload(params)
        self.auth.check_signature(secret, payload, signature if isinstance(signature, str) else "")
        self.auth.check_time(params["timestamp"], params.get("recvWindow"))
        return str(api_key)

    def _trade(self, params: dict[str, Any], action: Callable[[dict[str, str]], Any],
               count: bool = False, session: Session | None = None) -> Any:  # fmt: skip
        """A signed request, handled by the same `OrderDesk` / `AccountQueries` as REST."""
        self._verify(params, session)
        result = action({k: signing.wire_value(v) for k, v in params.items() if v is not None})
        if count:
            self.limits.count_order()
        return result

    def _subscribe(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        return self.add_subscription(session, self._verify(params))

    def add_subscription(self, session: Session, api_key: str) -> dict[str, Any]:
        """A new user data subscription of `api_key`'s account (-2035 if it has one here)."""
        if api_key in session.subscriptions.values():
            raise ApiError(SUBSCRIPTION_ACTIVE, "User Data Stream subscription already active.")
        sid = session.next_id
        session.next_id += 1
        session.subscriptions[sid] = api_key
        return {"subscriptionId": sid}

    def _unsubscribe(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        sid = params.get("subscriptionId")
        if sid is None:
            session.subscriptions.clear()
            return {}
        if isinstance(sid, bool) or not isinstance(sid, int) or sid not in session.subscriptions:
            raise ApiError(SUBSCRIPTION_INACTIVE, "User Data Stream subscription not active.")
        del session.subscriptions[sid]
        return {}


def _encodable(value: Any) -> bool:
    """Whether every string in `value` (JSON, nesting bounded) can be encoded as UTF-8: JSON's
    `\\ud800` escapes decode to lone surrogates, which no signature can cover."""
    if isinstance(value, str):
        return value.isascii() or not any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return all(_encodable(k) and _encodable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_encodable(v) for v in value)
    return True
