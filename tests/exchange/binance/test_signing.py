"""Signing against the vectors of Binance's docs, percent-encoding, and key types."""

from __future__ import annotations

import base64
import pickle
from urllib.parse import unquote

import pytest

from hedgehog.core.errors import ConfigError
from hedgehog.exchange.binance import signing
from hedgehog.exchange.binance.keys import Ed25519Signer, HmacSigner, make_signer
from tests.exchange.binance.fakes import API_KEY, API_SECRET

# REST request-security docs, "SIGNED Endpoint Examples for POST /api/v3/order" (HMAC keys).
DOCS_PAYLOAD = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)
DOCS_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
DOCS_PARAMS = [
    ("symbol", "LTCBTC"),
    ("side", "BUY"),
    ("type", "LIMIT"),
    ("timeInForce", "GTC"),
    ("quantity", 1),
    ("price", "0.1"),
    ("recvWindow", 5000),
    ("timestamp", 1499827319559),
]
# The same docs, with a symbol of non-ASCII characters: it is percent-encoded before signing.
NON_ASCII_SYMBOL = "１２３４５６"
NON_ASCII_PAYLOAD = (
    "symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY&type=LIMIT"
    "&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
)
NON_ASCII_SIGNATURE = "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"


def test_the_docs_hmac_example() -> None:
    assert signing.encode_query(DOCS_PARAMS) == DOCS_PAYLOAD
    assert signing.hmac_signature(API_SECRET, DOCS_PAYLOAD) == DOCS_SIGNATURE
    assert (
        signing.sign_query(API_SECRET, DOCS_PARAMS) == f"{DOCS_PAYLOAD}&signature={DOCS_SIGNATURE}"
    )


def test_non_ascii_values_are_percent_encoded_before_signing() -> None:
    params = [("symbol", NON_ASCII_SYMBOL), *DOCS_PARAMS[1:]]
    assert signing.encode_query(params) == NON_ASCII_PAYLOAD
    assert signing.sign_query(API_SECRET, params).endswith(f"&signature={NON_ASCII_SIGNATURE}")


def test_spaces_and_reserved_characters_are_encoded_and_signed_as_sent() -> None:
    query = signing.encode_query([("newClientOrderId", "a b&c=d/e"), ("price", "1")])
    assert query == "newClientOrderId=a+b%26c%3Dd%2Fe&price=1"
    signed = signing.sign_query(API_SECRET, [("newClientOrderId", "a b&c=d/e"), ("price", "1")])
    assert signed == f"{query}&signature={signing.hmac_signature(API_SECRET, query)}"


def test_decimals_go_on_the_wire_as_plain_strings() -> None:
    from decimal import Decimal

    assert signing.encode_query([("q", Decimal("1E+2")), ("p", Decimal("0.00000100"))]) == (
        "q=100&p=0.00000100"
    )


def test_the_docs_websocket_api_hmac_example() -> None:
    # WebSocket API request-security docs: params sorted by name, signature over them.
    params = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01000000",
        "price": "52000.00",
        "recvWindow": 100,
        "timestamp": 1645423376532,
        "apiKey": API_KEY,
        "signature": "------ FILL ME ------",
    }
    assert signing.ws_api_payload(params).startswith(f"apiKey={API_KEY}&price=52000.00&")
    assert HmacSigner(API_SECRET).ws_signature(params) == (
        "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
    )


def test_hmac_signer_signs_like_sign_query_and_hides_its_secret() -> None:
    signer = make_signer(API_SECRET)
    assert isinstance(signer, HmacSigner)
    assert signer.signed_query(DOCS_PARAMS) == signing.sign_query(API_SECRET, DOCS_PARAMS)
    assert API_SECRET not in repr(signer) and API_SECRET not in str(signer)
    with pytest.raises(TypeError):
        pickle.dumps(signer)
    with pytest.raises(ConfigError):
        HmacSigner("")


@pytest.fixture
def ed25519_pem() -> tuple[str, object]:
    crypto = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    from cryptography.hazmat.primitives import serialization

    key = crypto.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def test_ed25519_keys_sign_base64_and_percent_encode_the_signature(
    ed25519_pem: tuple[str, object],
) -> None:
    pem, public = ed25519_pem
    signer = make_signer(pem)
    assert isinstance(signer, Ed25519Signer) and signer.kind == "Ed25519"
    signed = signer.signed_query(DOCS_PARAMS)
    payload, _, signature = signed.rpartition("&signature=")
    assert payload == DOCS_PAYLOAD
    assert not set("+/=") & set(signature)  # percent-encoded base64
    public.verify(base64.b64decode(unquote(signature)), payload.encode())  # type: ignore[attr-defined]
    ws = signer.ws_signature({"apiKey": API_KEY, "timestamp": 1})
    public.verify(base64.b64decode(ws), f"apiKey={API_KEY}&timestamp=1".encode())  # type: ignore[attr-defined]
    assert "PRIVATE" not in repr(signer) and pem not in str(signer)


def test_a_bad_pem_is_a_config_error_that_does_not_quote_the_key() -> None:
    pytest.importorskip("cryptography")
    bad = "-----BEGIN PRIVATE KEY-----\nTm90QUtleQ==\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ConfigError) as info:
        make_signer(bad)
    assert "Tm90QUtleQ" not in str(info.value)
