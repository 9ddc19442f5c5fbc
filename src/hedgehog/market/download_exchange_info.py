"""Fetch Binance's `GET /api/v3/exchangeInfo` and save it, for the filters of backtests.

Backtests check every order against the symbol's filters (tick size, lot size, notional), which
Binance publishes in its exchangeInfo answer; our simulator answers the same request. The body is
saved as received, once it parses as JSON and `parse_exchange_info` reads every symbol of it;
the file is replaced atomically, so a failed fetch leaves the previous one in place.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp

from hedgehog import __version__
from hedgehog.core.errors import ConfigError, DataError
from hedgehog.core.filters import parse_exchange_info
from hedgehog.market.catalog_manifest import write_atomically

DEFAULT_API_URL = "https://api.binance.com"
API_URL_ENV = "HEDGEHOG_REST_URL"  # the node's REST URL setting: a simulator's, a testnet's
EXCHANGE_INFO_PATH = "/api/v3/exchangeInfo"
DEFAULT_TIMEOUT_S = 30.0
MAX_BYTES = 64 * 1024 * 1024  # Binance's whole answer is a few MB


def exchange_info_url(base_url: str) -> str:
    base = base_url.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", base):
        raise ConfigError(f"--base-url {base_url!r} must start with http:// or https://")
    return base + EXCHANGE_INFO_PATH


async def fetch_exchange_info(
    base_url: str, timeout: float = DEFAULT_TIMEOUT_S
) -> tuple[bytes, int]:
    """The exchangeInfo answer of `base_url` and how many symbols it has. ConfigError when it
    cannot be had (network, HTTP status), DataError when it is not an exchangeInfo answer."""
    url = exchange_info_url(base_url)
    headers = {"User-Agent": f"hedgehog/{__version__}", "Accept": "application/json"}
    try:
        async with (
            aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout), headers=headers
            ) as session,
            session.get(url) as resp,
        ):
            body = await resp.content.read(MAX_BYTES + 1)
            if resp.status != 200:
                text = body[:200].decode("utf-8", "replace").strip()
                raise ConfigError(f"GET {url}: HTTP {resp.status} {resp.reason or ''}: {text}")
    except TimeoutError:
        raise ConfigError(f"GET {url}: no answer within {timeout:g} s") from None
    except aiohttp.ClientError as exc:
        raise ConfigError(f"GET {url} failed: {exc or type(exc).__name__}") from None
    if len(body) > MAX_BYTES:
        raise DataError(f"GET {url}: the answer is larger than {MAX_BYTES:,} bytes")
    return body, check_exchange_info(body, url)


def check_exchange_info(body: bytes, where: str) -> int:
    """How many symbols the exchangeInfo `body` holds; DataError naming `where` if unusable."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise DataError(f"{where}: the answer is not JSON ({exc})") from None
    try:
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        symbols = parse_exchange_info(data)
    except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
        raise DataError(f"{where}: not an exchangeInfo answer ({exc})") from None
    if not symbols:
        raise DataError(f"{where}: the exchangeInfo answer lists no symbols")
    return len(symbols)


async def download_exchange_info(
    base_url: str, dest: Path, timeout: float = DEFAULT_TIMEOUT_S
) -> int:
    """Fetch the answer into `dest` (atomically; folders created); how many symbols it has."""
    body, count = await fetch_exchange_info(base_url, timeout)
    try:
        write_atomically(dest, body)
    except OSError as exc:
        raise ConfigError(f"cannot write {dest}: {exc.strerror or exc}") from None
    return count
