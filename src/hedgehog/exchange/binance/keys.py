"""API key types: HMAC secrets and Ed25519 private keys, behind one small `Signer` interface.

- HMAC (the classic key pair): the secret is a plain string; signatures are hex HMAC-SHA256,
  computed by `signing` (REST: `sign_query`; WebSocket API: over `ws_api_payload`).
- Ed25519 (recommended by Binance): the "secret" is the PEM of the PKCS#8 private key
  (`-----BEGIN PRIVATE KEY-----`); signatures are base64, percent-encoded in a query string.
  This needs the `cryptography` package, imported only when such a key is given.

A signer never shows its key: `repr()` and `str()` hide it, and it is not pickled into logs.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import NoReturn, Protocol
from urllib.parse import quote

from hedgehog.core.errors import ConfigError
from hedgehog.exchange.binance import signing

PEM_PREFIX = "-----BEGIN"


class Signer(Protocol):
    """Signs Binance request payloads with one API key's private part."""

    kind: str

    def signed_query(self, params: signing.Params) -> str:
        """The percent-encoded query of `params` followed by `&signature=...` (REST)."""
        ...

    def ws_signature(self, params: Mapping[str, object]) -> str:
        """The `signature` of a WebSocket API request with these `params`."""
        ...


class HmacSigner:
    """HMAC-SHA256 with a secret key (hex signatures)."""

    kind = "HMAC"
    __slots__ = ("_secret",)

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ConfigError("the Binance API secret is empty")
        self._secret = secret

    def signed_query(self, params: signing.Params) -> str:
        return signing.sign_query(self._secret, params)

    def ws_signature(self, params: Mapping[str, object]) -> str:
        return signing.hmac_signature(self._secret, signing.ws_api_payload(params))

    def __repr__(self) -> str:
        return "HmacSigner(secret=<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Signer holds a secret and cannot be pickled")


class Ed25519Signer:
    """Ed25519 with a PKCS#8 PEM private key (base64 signatures)."""

    kind = "Ed25519"
    __slots__ = ("_key",)

    def __init__(self, pem: str | bytes, password: bytes | None = None) -> None:
        try:
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
            from cryptography.hazmat.primitives.serialization import load_pem_private_key
        except ImportError:  # pragma: no cover - depends on the environment
            raise ConfigError(
                "an Ed25519 API key needs the 'cryptography' package: pip install cryptography"
            ) from None
        data = pem.encode() if isinstance(pem, str) else pem
        try:
            key = load_pem_private_key(data, password=password)
        except (ValueError, TypeError):
            # The library's message may quote parts of the key: say only what is wrong.
            raise ConfigError(
                "the Binance API secret looks like a PEM key but cannot be read as an "
                "unencrypted PKCS#8 private key"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(
                f"the Binance API key must be Ed25519 (or an HMAC secret), not {type(key).__name__}"
            )
        self._key = key

    def _sign(self, payload: str) -> str:
        return base64.b64encode(self._key.sign(payload.encode())).decode()

    def signed_query(self, params: signing.Params) -> str:
        query = signing.encode_query(params)
        return f"{query}&signature={quote(self._sign(query), safe='')}"

    def ws_signature(self, params: Mapping[str, object]) -> str:
        return self._sign(signing.ws_api_payload(params))

    def __repr__(self) -> str:
        return "Ed25519Signer(key=<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Signer holds a secret and cannot be pickled")


def make_signer(api_secret: str) -> Signer:
    """An Ed25519 signer for a PEM private key, else an HMAC signer for a secret string."""
    if api_secret.lstrip().startswith(PEM_PREFIX):
        return Ed25519Signer(api_secret.strip())
    return HmacSigner(api_secret)
