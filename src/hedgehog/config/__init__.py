"""Node settings (pydantic-settings): from `HEDGEHOG_*` environment variables, then options.

Secrets (the Binance API key and secret) come from the environment or from a key file outside
the repository; they are `SecretStr`, so they never show in reprs or logs, and are never stored
in the database.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from hedgehog.core.errors import ConfigError

BINANCE = {
    "rest_url": "https://api.binance.com",
    "stream_url": "wss://stream.binance.com:9443",
    "ws_api_url": "wss://ws-api.binance.com:443/ws-api/v3",
}
TESTNET = {
    "rest_url": "https://testnet.binance.vision",
    "stream_url": "wss://stream.testnet.binance.vision",
    "ws_api_url": "wss://ws-api.testnet.binance.vision/ws-api/v3",
}


class Settings(BaseSettings):
    """Everything a node needs to know at start."""

    model_config = SettingsConfigDict(env_prefix="HEDGEHOG_", extra="ignore")

    exchange: Literal["paper", "binance"] = "paper"
    testnet: bool = False
    rest_url: str | None = None
    stream_url: str | None = None
    ws_api_url: str | None = None
    binance_api_key: SecretStr | None = None
    binance_api_secret: SecretStr | None = None
    key_file: Path | None = Field(default=None, description="file with KEY and SECRET lines")
    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir("hedgehog", False)))
    database_url: str | None = None
    paper_balance: str = "10000"  # quote asset balance of the paper exchange
    # the paper exchange's money rules, Binance's by default (see exchange/paper/rules.py)
    paper_commission: Literal["received", "quote", "bnb"] = "received"
    paper_fills: Literal["volume", "full"] = "volume"

    def urls(self) -> dict[str, str]:
        base = TESTNET if self.testnet else BINANCE
        return {
            "rest_url": self.rest_url or base["rest_url"],
            "stream_url": self.stream_url or base["stream_url"],
            "ws_api_url": self.ws_api_url or base["ws_api_url"],
        }

    def credentials(self) -> tuple[str, str]:
        """(api key, api secret) from the environment or the key file; ConfigError if none."""
        if self.binance_api_key and self.binance_api_secret:
            return (
                self.binance_api_key.get_secret_value(),
                self.binance_api_secret.get_secret_value(),
            )
        if self.key_file is not None:
            return read_key_file(self.key_file)
        raise ConfigError(
            "trading on Binance needs API keys: set HEDGEHOG_BINANCE_API_KEY and "
            "HEDGEHOG_BINANCE_API_SECRET, or HEDGEHOG_KEY_FILE (a file outside the repository "
            "with the key on its first line and the secret on its second)"
        )


def read_key_file(path: Path) -> tuple[str, str]:
    """A key file: the API key on its first line, the secret on its second."""
    try:
        mode = path.stat().st_mode
        lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    except OSError as exc:
        raise ConfigError(f"cannot read the key file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and os.name == "posix":
        raise ConfigError(f"the key file {path} is readable by others: chmod 600 {path}")
    if len(lines) < 2:
        raise ConfigError(f"the key file {path} must hold the key and the secret on two lines")
    return lines[0].removeprefix("KEY=").strip(), lines[1].removeprefix("SECRET=").strip()
