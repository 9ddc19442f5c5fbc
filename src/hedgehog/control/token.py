"""Where a running node can be found and how to prove you may drive it.

The node writes `<data_dir>/control.json` (its URL) and `<data_dir>/control.token` (a random
token, mode 0600: readable only by its owner). The CLI reads both; every request carries the
token as `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from hedgehog.errors import ConfigError

TOKEN_FILE = "control.token"
ADDRESS_FILE = "control.json"


def write_token(data_dir: Path) -> str:
    """Create a fresh token, readable only by its owner, and return it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / TOKEN_FILE
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)
    return token


def write_address(data_dir: Path, url: str, pid: int) -> None:
    (data_dir / ADDRESS_FILE).write_text(json.dumps({"url": url, "pid": pid}) + "\n")


def clear_address(data_dir: Path) -> None:
    (data_dir / ADDRESS_FILE).unlink(missing_ok=True)


def read_connection(data_dir: Path) -> tuple[str, str]:
    """(url, token) of the node running on this data directory; ConfigError if none."""
    try:
        address = json.loads((data_dir / ADDRESS_FILE).read_text())
        token = (data_dir / TOKEN_FILE).read_text().strip()
    except FileNotFoundError:
        raise ConfigError(
            f"no running node found in {data_dir} (start one with `hedgehog run`, or set "
            "HEDGEHOG_DATA_DIR to the node's data directory)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the node's control files in {data_dir}: {exc}") from None
    return str(address["url"]), token
