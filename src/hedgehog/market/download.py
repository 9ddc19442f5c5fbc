"""Download Binance's public daily spot trade files, verified against their checksums.

Binance publishes one zip per symbol and UTC day (the next day) at
`{base}/data/spot/daily/trades/{SYMBOL}/{SYMBOL}-trades-{YYYY-MM-DD}.zip`, next to a
`.zip.CHECKSUM` file in `sha256sum` format (`<sha256>  <file name>`). A day is fetched into
`{name}.part` and renamed to `{name}` only once its sha256 matches, so a file that looks complete
always is; the checksum file is kept beside it. An interrupted `.part` is continued with an HTTP
Range request when the server honours it (206), else fetched again whole. A zip already there is
checked against its kept checksum file and skipped when it matches.

Days without a file (404) are reported as missing; network failures (refused connections,
timeouts, dropped transfers, 5xx) are retried with backoff, then reported as failed.
`download_days` does it all and returns a `DownloadReport`; it prints nothing.

The pieces live beside it, and every name is importable from here: `download_plan` (URLs,
defaults, results), `download_files` (checksums, files on disk), `download_fetch` (one day's
transfers and retries).
"""

from __future__ import annotations

import asyncio
import re
from datetime import date
from pathlib import Path

import aiohttp

from hedgehog import __version__
from hedgehog.core.errors import ConfigError
from hedgehog.core.symbols import normalize_symbol
from hedgehog.market.download_fetch import CHUNK as CHUNK
from hedgehog.market.download_fetch import MAX_BACKOFF_S as MAX_BACKOFF_S
from hedgehog.market.download_fetch import MAX_CHECKSUM_BYTES as MAX_CHECKSUM_BYTES
from hedgehog.market.download_fetch import Fetcher
from hedgehog.market.download_files import parse_checksum, sha256_file
from hedgehog.market.download_plan import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DayResult,
    DayStatus,
    DownloadProgress,
    DownloadReport,
    day_range,
    trades_file_name,
    trades_url,
)
from hedgehog.market.download_plan import CHECKSUM_SUFFIX as CHECKSUM_SUFFIX
from hedgehog.market.download_plan import DEFAULT_BACKOFF_S as DEFAULT_BACKOFF_S
from hedgehog.market.download_plan import DEFAULT_CONCURRENCY as DEFAULT_CONCURRENCY
from hedgehog.market.download_plan import DEFAULT_RETRIES as DEFAULT_RETRIES
from hedgehog.market.download_plan import DEFAULT_TIMEOUT_S as DEFAULT_TIMEOUT_S
from hedgehog.market.download_plan import PART_SUFFIX as PART_SUFFIX


async def download_days(
    symbol: str,
    start: date,
    end: date,
    dest: Path,
    base_url: str = DEFAULT_BASE_URL,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: DownloadProgress | None = None,
    *,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF_S,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> DownloadReport:
    """Fetch and verify the symbol's daily trade zips from `start` to `end` (both included)
    into `dest` (created). At most `concurrency` days at once; a network failure is tried
    `retries` more times, waiting `backoff` seconds, then twice that, and so on.

    Raises `ConfigError` on bad arguments; every per-day problem is in the report instead.
    """
    symbol = normalize_symbol(symbol)
    if start > end:
        raise ConfigError(f"the first day {start} is after the last day {end}")
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    if retries < 0 or backoff < 0 or timeout <= 0:
        raise ConfigError("retries and backoff must be >= 0, timeout > 0")
    base = base_url.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", base):
        raise ConfigError(f"base URL {base_url!r} must start with http:// or https://")
    dest.mkdir(parents=True, exist_ok=True)

    report = DownloadReport(symbol, start, end, dest, base)
    connector = aiohttp.TCPConnector(limit=concurrency)
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(sock_connect=timeout, sock_read=timeout),
        headers={"User-Agent": f"hedgehog/{__version__}", "Accept-Encoding": "identity"},
        auto_decompress=False,  # byte offsets of a Range request are those of the file itself
    )
    async with session:
        fetcher = Fetcher(session, symbol, base, dest, progress, retries, backoff)
        gate = asyncio.Semaphore(concurrency)

        async def one(day: date) -> DayResult:
            async with gate:
                result = await fetcher.day(day)
            if progress is not None:
                progress.finished(result)
            return result

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(d)) for d in day_range(start, end)]
        report.days = [t.result() for t in tasks]
    return report


__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DayResult",
    "DayStatus",
    "DownloadProgress",
    "DownloadReport",
    "day_range",
    "download_days",
    "parse_checksum",
    "sha256_file",
    "trades_file_name",
    "trades_url",
]
