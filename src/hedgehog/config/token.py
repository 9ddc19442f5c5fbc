"""Where a running node can be found and how to prove you may drive it.

The node writes `<data_dir>/control.json` (its URL) and `<data_dir>/control.token` (a random
token, mode 0600: readable only by its owner). The CLI reads both; every request carries the
token as `Authorization: Bearer <token>`. Both are written atomically (a temp file renamed
over the old one) and removed only by the node whose pid control.json records.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from hedgehog.core.errors import ConfigError

TOKEN_FILE = "control.token"
ADDRESS_FILE = "control.json"


def _write_atomically(path: Path, content: str, mode: int) -> None:
    """Write a temp file beside `path` (with `mode` from the start), then rename it over
    `path`: a reader sees the old content or the new, never half of either."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def write_token(data_dir: Path) -> str:
    """Create a fresh token, readable only by its owner, and return it."""
    token = secrets.token_urlsafe(32)
    _write_atomically(data_dir / TOKEN_FILE, token + "\n", 0o600)
    return token


def write_address(data_dir: Path, url: str, pid: int) -> None:
    """Publish the node's control URL and pid (its owner's mark: see `clear_address`)."""
    _write_atomically(data_dir / ADDRESS_FILE, json.dumps({"url": url, "pid": pid}) + "\n", 0o644)


def read_address(data_dir: Path) -> dict[str, Any] | None:
    """control.json as a dict, or None when there is none (or it cannot be read)."""
    try:
        address = json.loads((data_dir / ADDRESS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return address if isinstance(address, dict) else None


def clear_address(data_dir: Path, pid: int | None = None) -> bool:
    """Remove control.json and the token, but only if they are this process's (`pid`, by
    default ours): a node never removes another node's control files. True if removed."""
    address = read_address(data_dir)
    if address is None or address.get("pid") != (os.getpid() if pid is None else pid):
        return False
    (data_dir / ADDRESS_FILE).unlink(missing_ok=True)
    (data_dir / TOKEN_FILE).unlink(missing_ok=True)
    return True


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
