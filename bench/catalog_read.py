"""How fast the catalog reads a day file, and why its files are LZ4.

Writes N synthetic trades (one UTC day) with the catalog's encodings (delta ids and times,
dictionary prices and quantities) under each compression, and reads each back into numpy on one
thread, best of R; then times `Catalog.scan` of the same day (the real read path: the catalog's
own file, page checksums verified, a `TradeTable` built without copying the int64 columns).

    python3 bench/catalog_read.py [--trades 1000000] [--repeat 9] [--json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from hedgehog.market.catalog import Catalog
from hedgehog.market.catalog_files import COLUMNS, ROW_GROUP, SCHEMA
from hedgehog.market.catalog_manifest import DAY_MS
from hedgehog.market.synthetic import synthetic_trades

FIRST_MS = 1_700_006_400_000  # 2023-11-15 00:00 UTC


def best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trades", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true", help="100k trades, 3 reads")
    args = ap.parse_args()
    n, repeat = (100_000, 3) if args.quick else (args.trades, args.repeat)
    table = synthetic_trades("XRPUSDT", n, 7, start_time_ms=FIRST_MS)
    assert int(table.time[-1]) < FIRST_MS + DAY_MS, "more trades than one day holds"
    import pyarrow as pa

    data = pa.Table.from_arrays([pa.array(getattr(table, c)) for c in COLUMNS], schema=SCHEMA)
    out: dict[str, object] = {"trades": n}
    with tempfile.TemporaryDirectory() as tmp:
        for comp in ("lz4", "snappy", "zstd", "none"):
            path = Path(tmp) / f"{comp}.parquet"
            pq.write_table(
                data, path, compression=comp, row_group_size=ROW_GROUP,
                use_dictionary=["price", "qty"],
                column_encoding={"trade_id": "DELTA_BINARY_PACKED", "time": "DELTA_BINARY_PACKED"},
            )  # fmt: skip

            def read(p: Path = path) -> None:
                t = pq.ParquetFile(p).read(use_threads=False)
                for i in range(t.num_columns):
                    t.column(i).chunk(0).to_numpy(zero_copy_only=False)

            s = best(read, repeat)
            out[comp] = {"ms": round(s * 1e3, 2), "mb": round(path.stat().st_size / 1e6, 2),
                         "m_rows_per_s": round(n / s / 1e6, 1)}  # fmt: skip
        cat = Catalog(Path(tmp) / "cat")
        cat.write_table(table, "bench")
        s = best(lambda: list(cat.scan("XRPUSDT")), repeat)
        out["scan"] = {"ms": round(s * 1e3, 2), "m_rows_per_s": round(n / s / 1e6, 1)}
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:8} {value}")


if __name__ == "__main__":
    main()
