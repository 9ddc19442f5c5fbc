"""The downloaded archives on disk: their sha256, their checksum files, durable renames.

A day's zip counts only once its sha256 matches the `.CHECKSUM` file Binance publishes beside
it (`sha256sum` format); files are written to a temporary name, fsynced and renamed so a file
that looks complete always is. Apart from the transfers (`download_fetch`), which use these.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from hedgehog.market.download_plan import PART_SUFFIX

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def parse_checksum(text: bytes | str, name: str) -> str:
    """The lower-case sha256 of a `sha256sum`-style line `<sha256>  <name>` (the name may be
    absent, or marked binary with `*`). ValueError if malformed or naming another file."""
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    lines = [line for line in raw.strip().splitlines() if line.strip()]
    fields = lines[0].split(maxsplit=1) if lines else []
    if len(lines) != 1 or not fields or not _SHA256.match(fields[0]):
        raise ValueError(f"malformed checksum file (expected '<sha256>  {name}'): {raw[:100]!r}")
    if len(fields) == 2 and fields[1].strip().removeprefix("*") != name:
        raise ValueError(f"the checksum file names {fields[1].strip()!r}, not {name!r}")
    return fields[0].lower()


def sha256_file(path: Path, into: hashlib._Hash | None = None) -> str:
    """The hex sha256 of a file (feeding `into` when given, which then holds its state)."""
    hasher = into if into is not None else hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            hasher.update(block)
    return hasher.hexdigest()


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + PART_SUFFIX)
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
