"""WebSocket API session requests: `session.logon` / `.status` / `.logout`, the logged-on
`userDataStream.subscribe`, and the legacy listen-key `userDataStream.start` / `.ping` / `.stop`.

Binance accepts `session.logon` only with Ed25519 keys. The simulator's keys are HMAC keys, so
a logon with a valid HMAC signature is refused as Binance refuses it for such a key (-1002
"You are not authorized to execute this request."; a bad signature is -1022 first), and
`userDataStream.subscribe` without a logged-on session is refused the same way: HMAC clients
use `userDataStream.subscribe.signature`, as on Binance. `session.status` and `.logout` answer
the session's state. The listen-key methods take `apiKey` (USER_STREAM: no signature) and act
on the same keys as `POST/PUT/DELETE /api/v3/userDataStream`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hedgehog.simulator.auth import ApiError, missing

if TYPE_CHECKING:
    from hedgehog.simulator.ws_api import Session, WsApi

UNAUTHORIZED = -1002
UNAUTHORIZED_MSG = "You are not authorized to execute this request."


class SessionMethods:
    """The session and listen-key methods of one `WsApi`."""

    def __init__(self, api: WsApi) -> None:
        self.api = api

    def methods(self) -> dict[str, Callable[[Session, dict[str, Any]], Any]]:
        return {
            "session.logon": self.logon,
            "session.status": lambda s, p: self.status(s),
            "session.logout": self.logout,
            "userDataStream.subscribe": self.subscribe,
            "userDataStream.start": self.start,
            "userDataStream.ping": self.ping,
            "userDataStream.stop": self.stop,
        }

    def status(self, session: Session) -> dict[str, Any]:
        return {
            "apiKey": session.api_key,
            "authorizedSince": session.authorized_since,
            "connectedSince": session.connected_since,
            "returnRateLimits": True,
            "serverTime": self.api.auth.now_ms(),
            "userDataStream": bool(session.subscriptions),
        }

    def logon(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        self.api._verify(params)  # -2014/-2015/-1022/-1021 as for any signed request
        raise ApiError(UNAUTHORIZED, UNAUTHORIZED_MSG)  # HMAC keys cannot log on

    def logout(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        """Forget the logged-on key and close the subscription it made (not the others)."""
        if session.logon_subscription is not None:
            session.subscriptions.pop(session.logon_subscription, None)
        session.api_key = session.authorized_since = session.logon_subscription = None
        return self.status(session)

    def subscribe(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        if session.api_key is None:
            raise ApiError(UNAUTHORIZED, UNAUTHORIZED_MSG)
        result = self.api.add_subscription(session, session.api_key)
        session.logon_subscription = result["subscriptionId"]
        return result

    def _api_key(self, session: Session, params: dict[str, Any]) -> str:
        api_key = params.get("apiKey") or session.api_key
        if not api_key:
            raise missing("apiKey")
        self.api.auth.secret(api_key if isinstance(api_key, str) else None)
        return str(api_key)

    def start(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        return {"listenKey": self.api.listen_keys.start(self._api_key(session, params))}

    def ping(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        self._api_key(session, params)
        self.api.listen_keys.keepalive(params.get("listenKey"))
        return {}

    def stop(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        self._api_key(session, params)
        self.api.listen_keys.close(params.get("listenKey"))
        return {}
