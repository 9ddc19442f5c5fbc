"""`hedgehog data import` and `hedgehog data catalog`: fill the Parquet catalog, list it.

The catalog (`hedgehog.market.catalog`) lives under the data directory (`HEDGEHOG_DATA_DIR`)
unless `--catalog DIR` names another. pyarrow is imported only when a command runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.filesize import decimal
from rich.table import Table
from rich.text import Text

from hedgehog.cli.console import err, fail, out, warn
from hedgehog.core.errors import ConfigError, DataError

if TYPE_CHECKING:
    from hedgehog.market.catalog import Catalog, ImportReport

CatalogOption = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help="The catalog's directory [the data directory's catalog/]",
        show_default=False,
    ),
]


def open_catalog(root: Path | None) -> Catalog:
    """The catalog at `root`, or the default one under the settings' data directory."""
    from hedgehog.config import Settings
    from hedgehog.market.catalog import Catalog

    return Catalog(root) if root is not None else Catalog.default(Settings().data_dir)


def import_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Trade files (Binance .zip/.csv, the book's .csv[.gz]) or directories of them",
            show_default=False,
        ),
    ],
    symbol: Annotated[
        str | None,
        typer.Option(help="Only this symbol (and the symbol of files not named for one)"),
    ] = None,
    catalog: CatalogOption = None,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Skip rows that cannot be read, count them")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Import trade files into the Parquet catalog (one file per symbol and UTC day).

    The manifest keeps each file's checksum and sources. Files already imported are skipped;
    days already there are merged (a trade id once), rewriting only the days that changed.

    Exits 0 when done, 1 when no file held trades to import, 2 on bad input.
    """
    try:
        cat = open_catalog(catalog)
        report = run_import(cat, paths, symbol, skip_bad_rows)
    except (ConfigError, DataError) as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps({"catalog": str(cat.root), **report.to_json()}, indent=2))
    else:
        print_import(report, cat.root)
    if report.skipped_rows:
        warn(f"{report.skipped_rows:,} bad rows skipped")
    if report.sources and all(s.status.value == "other symbol" for s in report.sources):
        fail(f"no file of {symbol.upper() if symbol else '?'} among those given", 1)


def run_import(
    cat: Catalog, paths: list[Path], symbol: str | None, skip_bad_rows: bool
) -> ImportReport:
    """The import, with a progress bar on stderr when it is a terminal."""
    if not err.is_terminal:
        return cat.import_files(paths, symbol, skip_bad_rows)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def progress(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name)

        return cat.import_files(paths, symbol, skip_bad_rows, progress)


def print_import(report: ImportReport, root: Path) -> None:
    table = Table(title=f"imported into {root}", title_justify="left")
    for name in ("symbol", "days added", "merged", "unchanged", "rows added"):
        table.add_column(name, justify="left" if name == "symbol" else "right")
    for symbol, row in report.by_symbol().items():
        table.add_row(symbol, *(f"{row[k]:,}" for k in ("added", "merged", "unchanged", "rows")))
    if report.days:
        out.print(table)
    counts: dict[str, int] = {}
    for source in report.sources:
        counts[source.status.value] = counts.get(source.status.value, 0) + 1
    for status, n in counts.items():
        out.print(Text(f"{n:,} file{'s' * (n != 1)} {status}"), soft_wrap=True)


@dataclass(frozen=True, slots=True)
class Listed:
    """One symbol of the catalog: days, their consecutive ranges, rows and bytes."""

    days: int
    ranges: list[str]
    rows: int
    bytes: int


def catalog_command(
    catalog: CatalogOption = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check every file against the manifest's sha256")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the listing as JSON")] = False,
) -> None:
    """List the catalog's symbols, days, rows and bytes; --verify checks its checksums.

    Also says whether the catalog has exchangeInfo.json. With --verify each file is checked
    against the manifest's sha256 and row count; exits 1 on any problem.
    """
    try:
        cat = open_catalog(catalog)
        manifest = cat.manifest()
        problems = cat.verify() if verify else []
    except (ConfigError, DataError) as exc:
        fail(exc)
    listing = {
        symbol: Listed(
            len(days),
            [f"{a}..{b}" if a != b else str(a) for a, b in spans(list(days))],
            sum(p.rows for p in days.values()),
            sum(p.bytes for p in days.values()),
        )
        for symbol, days in manifest.partitions.items()
        if days
    }
    info = cat.exchange_info_path
    if as_json:
        doc: dict[str, object] = {
            "catalog": str(cat.root),
            "symbols": {s: asdict(v) for s, v in listing.items()},
            "exchange_info": str(info) if info.is_file() else None,
        }
        if verify:
            doc["problems"] = problems
        typer.echo(json.dumps(doc, indent=2))
    else:
        print_listing(cat.root, listing, info)
    if verify and not as_json:
        for problem in problems:
            err.print(Text.assemble(("problem: ", "bold red"), problem), soft_wrap=True)
        if not problems:
            n = sum(v.days for v in listing.values())
            files = f"{n:,} file{'s' * (n != 1)}"
            out.print(Text(f"verified {files}: all match the manifest"), soft_wrap=True)
    if problems:
        fail(f"{len(problems)} problem{'s' * (len(problems) != 1)} in {cat.root}", 1)


def print_listing(root: Path, listing: dict[str, Listed], info: Path) -> None:
    if not listing:
        out.print(Text(f"{root}: no trades yet (`hedgehog data import` or `data download`)"))
    else:
        table = Table(title=str(root), title_justify="left")
        for name in ("symbol", "days", "from .. to", "rows", "bytes"):
            table.add_column(name, justify="left" if name in ("symbol", "from .. to") else "right")
        for symbol, v in listing.items():
            more = f", and {len(v.ranges) - 4} more" if len(v.ranges) > 4 else ""
            shown = ", ".join(v.ranges[:4]) + more
            table.add_row(symbol, f"{v.days:,}", shown, f"{v.rows:,}", decimal(v.bytes))
        out.print(table)
    if info.is_file():
        out.print(Text(f"exchange info: {info}"), soft_wrap=True)
    else:
        out.print(Text(f"exchange info: absent ({info}); run `hedgehog data exchange-info`"),
                  soft_wrap=True)  # fmt: skip


def spans(days: list[date]) -> Iterator[tuple[date, date]]:
    """Consecutive days as (first, last) ranges, in order."""
    start = prev = None
    for day in sorted(days):
        if prev is not None and (day - prev).days == 1:
            prev = day
            continue
        if start is not None and prev is not None:
            yield start, prev
        start = prev = day
    if start is not None and prev is not None:
        yield start, prev
