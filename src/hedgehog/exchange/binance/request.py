"""Binance REST requests as plain data: the parameters of the order endpoints, and how a request
is laid out in HTTP.

Why apart from the client: these are decisions about bytes, not about sending them, so they are
kept free of I/O next to `pacing` (when to send) and `api_errors` (what an answer means);
`rest.py` signs, sends and retries. Per Binance's spot API docs, GET and DELETE carry the
(signed) query string in the URL, and POST sends it as an `application/x-www-form-urlencoded`
body; the API key of a SIGNED request travels in the `X-MBX-APIKEY` header.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hedgehog.core.decimals import fmt
from hedgehog.core.types import Side

Params = list[tuple[str, object]]  # a request's parameters, in the order they are signed


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request, ready to send: `url` is percent-encoded exactly as signed (send it as is)."""

    method: str
    url: str
    body: bytes | None
    headers: dict[str, str]


def lay_out(method: str, url: str, query: str, api_key: str | None = None) -> HttpRequest:
    """The request for an encoded (and, with `api_key`, signed) `query` to `url`."""
    headers = {"X-MBX-APIKEY": api_key} if api_key is not None else {}
    if method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return HttpRequest(method, url, query.encode(), headers)
    return HttpRequest(method, f"{url}?{query}" if query else url, None, headers)


def limit_order_params(
    symbol: str, side: Side, price: Decimal, quantity: Decimal, client_order_id: str
) -> Params:
    """The parameters of `POST /api/v3/order` for a LIMIT GTC order with a RESULT answer."""
    return [
        ("symbol", symbol),
        ("side", Side(side).value),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", fmt(quantity)),
        ("price", fmt(price)),
        ("newClientOrderId", client_order_id),
        ("newOrderRespType", "RESULT"),
    ]


def market_order_params(symbol: str, side: Side, quantity: Decimal, client_order_id: str) -> Params:
    """The parameters of `POST /api/v3/order` for a MARKET order of `quantity` (base asset)
    with a RESULT answer: no `price`, no `timeInForce` (Binance's docs: MARKET takes
    `quantity` or `quoteOrderQty`)."""
    return [
        ("symbol", symbol),
        ("side", Side(side).value),
        ("type", "MARKET"),
        ("quantity", fmt(quantity)),
        ("newClientOrderId", client_order_id),
        ("newOrderRespType", "RESULT"),
    ]


def order_ref_params(symbol: str, client_order_id: str | None, order_id: int | None) -> Params:
    """The parameters naming one order for `GET` and `DELETE /api/v3/order`."""
    if client_order_id is None and order_id is None:
        raise ValueError("give client_order_id or order_id")
    params: Params = [("symbol", symbol)]
    if order_id is not None:
        params.append(("orderId", order_id))
    if client_order_id is not None:
        params.append(("origClientOrderId", client_order_id))
    return params
