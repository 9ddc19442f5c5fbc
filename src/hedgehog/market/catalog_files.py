"""One partition file of the catalog: a symbol's trades of one UTC day as Parquet.

Columns trade_id, price, qty, time (int64; price and qty in 1e-8 units) and buyer_maker (bool),
sorted by (time, trade_id). The Parquet key-value metadata carries the scale, symbol and day, so
a file says what it holds without the manifest. Encoding and compression are chosen for read
speed (see `hedgehog.market.catalog` for the measurements): LZ4, delta-encoded ids and times,
dictionary-encoded prices and quantities, row groups of 2^20 rows, so a usual day is a single
row group whose int64 columns become numpy arrays without a copy.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hedgehog.core.errors import DataError
from hedgehog.market.catalog_manifest import VERSION, write_atomically
from hedgehog.market.tables import SCALE, TradeTable

COLUMNS = ("trade_id", "price", "qty", "time", "buyer_maker")
COMPRESSION = "lz4"
ROW_GROUP = 1 << 20
SCHEMA = pa.schema([(name, pa.int64()) for name in COLUMNS[:4]] + [("buyer_maker", pa.bool_())])
_META_SCALE = b"hedgehog.scale"


def partition_bytes(table: TradeTable, day: date) -> bytes:
    """The Parquet file of `table` (one symbol's trades of `day`)."""
    arrays = [pa.array(getattr(table, name)) for name in COLUMNS]
    meta = {
        _META_SCALE: str(SCALE).encode(),
        b"hedgehog.symbol": table.symbol.encode(),
        b"hedgehog.day": day.isoformat().encode(),
        b"hedgehog.version": str(VERSION).encode(),
    }
    data = pa.Table.from_arrays(arrays, schema=SCHEMA.with_metadata(meta))
    sink = pa.BufferOutputStream()
    pq.write_table(
        data,
        sink,
        compression=COMPRESSION,
        row_group_size=ROW_GROUP,
        use_dictionary=["price", "qty"],
        column_encoding={"trade_id": "DELTA_BINARY_PACKED", "time": "DELTA_BINARY_PACKED"},
        write_statistics=["time", "trade_id"],
        write_page_checksum=True,
    )
    return bytes(sink.getvalue())


def write_partition(path: Path, table: TradeTable, day: date) -> tuple[int, str]:
    """Write the day file atomically; its size in bytes and sha256."""
    data = partition_bytes(table, day)
    write_atomically(path, data)
    return len(data), hashlib.sha256(data).hexdigest()


def read_partition(path: Path, symbol: str, threads: bool = False) -> TradeTable:
    """The trades of a day file, int64 columns as numpy views of Arrow's buffers.

    Pages are checked against their CRC32, so a damaged file raises DataError. The table is
    built without re-checking its order (our writer sorted it; a check would cost a quarter of
    the read): the caller compares rows, first and last times with the manifest.
    """
    try:
        file = pq.ParquetFile(path, memory_map=True, page_checksum_verification=True)
        data = file.read(columns=list(COLUMNS), use_threads=threads)
    except FileNotFoundError:
        raise DataError(
            f"catalog partition {path} is missing: run `hedgehog data catalog --verify`, then "
            "re-import the day"
        ) from None
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"catalog partition {path} cannot be read: {exc}") from None
    meta = data.schema.metadata or {}
    if meta.get(_META_SCALE) != str(SCALE).encode():
        raise DataError(f"catalog partition {path}: scale {meta.get(_META_SCALE)!r}, not {SCALE}")
    if data.schema.remove_metadata() != SCHEMA:
        raise DataError(f"catalog partition {path}: columns {data.schema.names} of wrong types")
    table = object.__new__(TradeTable)  # as TradeTable.slice does: no copy, no re-check
    object.__setattr__(table, "symbol", symbol)
    for i, name in enumerate(COLUMNS):
        column = data.column(i)
        if column.null_count:
            raise DataError(f"catalog partition {path}: nulls in {name}")
        chunk = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
        values = chunk.to_numpy(zero_copy_only=False)
        values.flags.writeable = False
        object.__setattr__(table, name, values)
    return table


def partition_rows(path: Path) -> int:
    """Rows of a day file, from its footer alone."""
    return int(pq.ParquetFile(path).metadata.num_rows)
