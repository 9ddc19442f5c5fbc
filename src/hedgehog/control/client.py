"""A client of the control API, for the CLI and the console."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from hedgehog.config import Settings
from hedgehog.config.token import read_connection
from hedgehog.core.errors import ConfigError


class ControlClient:
    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"ControlClient({self.url!r})"  # never the token

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ControlClient:
        url, token = read_connection((settings or Settings()).data_dir)
        return cls(url, token)

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"}
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.request(method, self.url + path, json=body, headers=headers) as resp,
            ):
                data = await resp.json(content_type=None)
                if resp.status >= 400:
                    message = data.get("error") if isinstance(data, dict) else data
                    raise ConfigError(f"the node refused: {message} (HTTP {resp.status})")
                return data
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise ConfigError(
                f"cannot reach the node at {self.url} ({exc or type(exc).__name__}); "
                "is `hedgehog run` still running?"
            ) from None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The same, from synchronous code (the CLI, the console)."""
        return asyncio.run(self.request(method, path, body))
