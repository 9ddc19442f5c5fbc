"""The CSV bytes of a plain, gzipped or zipped trades file, inflated as fast as this machine can.

Inflating is most of a Binance zip's load time: zlib takes about 0.2 s for a 1 M-trade day (70 MB
of CSV). ISA-L (`isal`, a declared dependency) inflates the same bytes 2-2.5x faster, and its
crc32 about 5x; when it cannot be imported (a platform without wheels) zlib-ng is used if
present, else the standard zlib, with the same results. A zip's one CSV member is inflated
straight from the file's bytes (no `zipfile` stream, no extra copy) and checked against its
CRC-32 and size, as `zipfile` would.
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

from hedgehog.core.errors import DataError


class Codec(NamedTuple):
    """A zlib-compatible module, its gzip-compatible module, and their name."""

    zlib: ModuleType
    gzip: ModuleType
    name: str


def _codec() -> Codec:
    """The fastest codec importable here."""
    try:
        from isal import igzip, isal_zlib

        return Codec(isal_zlib, igzip, "isal")
    except ImportError:  # pragma: no cover - isal is a dependency; the fallbacks are tested
        pass
    try:  # pragma: no cover
        from zlib_ng import gzip_ng, zlib_ng

        return Codec(zlib_ng, gzip_ng, "zlib-ng")
    except ImportError:  # pragma: no cover
        return STDLIB


SUFFIXES = (".zip", ".csv", ".csv.gz")  # the names of trade files
STDLIB = Codec(zlib, gzip, "zlib")
CODEC = _codec()
_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    ValueError,
    zlib.error,
    zipfile.BadZipFile,
    CODEC.zlib.error,
)
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature .. name length, extra length (30 bytes)
_BOM = b"\xef\xbb\xbf"


def read_csv_bytes(path: Path, codec: Codec = CODEC) -> bytes:
    """The CSV bytes of `path` (BOM removed); `DataError` naming the file for anything wrong."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = codec.gzip.decompress(raw)
        elif raw[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            raw = unzip_one_csv(path, raw, codec)
    except _ERRORS as exc:
        kind = "gzip" if raw[:2] == b"\x1f\x8b" else "zip"
        raise DataError(f"{path}: corrupt {kind} file ({exc})") from None
    if raw[:3] == _BOM:
        raw = raw[3:]
    if not raw or raw.isspace():  # isspace: no copy, unlike strip()
        raise DataError(f"{path}: empty file, no trades")
    return raw


def unzip_one_csv(path: Path, raw: bytes, codec: Codec = CODEC) -> bytes:
    """The one .csv member of a zip, inflated and checked (CRC-32 and size)."""
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        csvs = [i for i in zf.infolist() if i.filename.lower().endswith(".csv")]
        if len(csvs) != 1:
            found = [i.filename for i in zf.infolist()]
            raise DataError(f"{path}: expected one CSV file in the zip, found {found}")
        info = csvs[0]
        if info.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED) or (
            info.flag_bits & 0x1  # encrypted: let zipfile say so
        ):
            return zf.read(info)
    start = info.header_offset
    signature, name_len, extra_len = _LOCAL_HEADER.unpack_from(raw, start)
    if signature != b"PK\x03\x04":
        raise zipfile.BadZipFile("bad magic number for file header")
    begin = start + _LOCAL_HEADER.size + name_len + extra_len
    member = memoryview(raw)[begin : begin + info.compress_size]
    if len(member) != info.compress_size:
        raise EOFError("the zip ends inside its CSV member")
    if info.compress_type == zipfile.ZIP_STORED:
        data = bytes(member)
    else:
        d = codec.zlib.decompressobj(-15)
        data = d.decompress(member)
        if not d.eof:
            raise EOFError("the CSV member ends before its end-of-stream marker")
    if len(data) != info.file_size or codec.zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"bad CRC-32 or size for {info.filename!r}")
    return data
