"""`hedgehog data`: download Binance's public daily trade files (verified by sha256) into the
Parquet catalog, import files into it, list it, fetch exchangeInfo. The catalog commands live in
`data_catalog` and `data_exchange`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.filesize import decimal
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID, TextColumn
from rich.text import Text

from hedgehog.cli.console import err, fail, out, warn
from hedgehog.cli.data_catalog import CatalogOption, catalog_command, import_command
from hedgehog.cli.data_exchange import (
    API_URL_ENV,
    DEFAULT_API_URL,
    after_download,
    exchange_info_command,
)
from hedgehog.core.errors import ConfigError
from hedgehog.core.symbols import normalize_symbol
from hedgehog.market.download import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_RETRIES,
    DayResult,
    DayStatus,
    DownloadReport,
    download_days,
)
from hedgehog.runtime import interrupt
from hedgehog.runtime.interrupt import Interrupted

MAX_DAYS = 3 * 365 + 1  # longer ranges need --yes
MAX_CONCURRENCY = 32
MAX_LISTED = 10  # day ranges listed in the summary

data_app = typer.Typer(
    help="Historical market data: download Binance's public trade files. Import them into the "
    "Parquet catalog, list it, fetch the exchange info that backtests check orders against."
)


def download(
    symbol: Annotated[str, typer.Argument(help="The symbol, e.g. XRPUSDT", show_default=False)],
    first_day: Annotated[
        str, typer.Option("--from", help="The first UTC day, YYYY-MM-DD", show_default=False)
    ],
    last_day: Annotated[
        str,
        typer.Option("--to", help="The last UTC day, YYYY-MM-DD (included)", show_default=False),
    ],
    dest: Annotated[
        Path | None,
        typer.Option(help="Directory of the files (created) [./data/SYMBOL]", show_default=False),
    ] = None,
    base_url: Annotated[
        str, typer.Option(help="Where Binance's public data lives", envvar=BASE_URL_ENV)
    ] = DEFAULT_BASE_URL,
    concurrency: Annotated[
        int, typer.Option(help=f"Days downloaded at once (1 to {MAX_CONCURRENCY})")
    ] = DEFAULT_CONCURRENCY,
    retries: Annotated[
        int, typer.Option(help="Tries more after a network failure, waiting longer each time")
    ] = DEFAULT_RETRIES,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help=f"Allow a range of more than {MAX_DAYS} days")
    ] = False,
    catalog: CatalogOption = None,
    no_catalog: Annotated[
        bool, typer.Option("--no-catalog", help="Only download: do not import into the catalog")
    ] = False,
    api_url: Annotated[
        str,
        typer.Option(
            help="Where to fetch exchangeInfo when the catalog lacks it", envvar=API_URL_ENV
        ),
    ] = DEFAULT_API_URL,
) -> None:
    """Download a symbol's daily spot trade files from Binance's public data, checking each
    against its published sha256; days already downloaded are skipped, interrupted ones resume.

    The verified days are then imported into the Parquet catalog (unless --no-catalog), and
    the catalog's exchangeInfo.json is fetched from --api-url when it is absent.

    Exits 0 when every day Binance has is here and verified (and imported), 1 when some day
    failed (or none exists) or the import failed, 2 on bad input.
    """
    target: Path | None = None
    try:
        sym = normalize_symbol(symbol)
        start, end = _day(first_day, "--from"), _day(last_day, "--to")
        _check_range(start, end, yes)
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ConfigError(f"--concurrency must be from 1 to {MAX_CONCURRENCY}")
        if retries < 0:
            raise ConfigError("--retries must be 0 or more")
        if not re.match(r"^https?://[^/\s]+", base_url.strip()):
            raise ConfigError(f"--base-url {base_url!r} must start with http:// or https://")
        folder = dest if dest is not None else Path("data") / sym
        existed = folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create --dest {folder}: {exc.strerror or exc}") from None
        target = None if existed else folder  # only a folder this run made is removed empty
        report = _run(sym, start, end, folder, base_url, concurrency, retries)
    except ConfigError as exc:
        fail(exc)
    except Interrupted as exc:
        _remove_if_empty(target)
        fail(
            f"stopped by {exc.name}: unfinished files are kept as .part and resume on the next run",
            exc.exit_code,
        )
    _print_summary(report)
    _remove_if_empty(target)
    imported = (
        no_catalog or report.all_missing or after_download(report.paths(), sym, catalog, api_url)
    )
    if report.all_missing:
        fail(
            f"no file for any day of {report.symbol} from {start} to {end}: check the symbol "
            "and the days (Binance has a symbol's days from its listing on, each the day after)",
            1,
        )
    if report.failed:
        n = len(report.failed)
        fail(f"{n} day{'s' if n > 1 else ''} failed: run the same command again to retry", 1)
    if not imported:
        fail("run `hedgehog data import` on the downloaded files once the problem is fixed", 1)


data_app.command("download")(download)
data_app.command("import")(import_command)
data_app.command("catalog")(catalog_command)
data_app.command("exchange-info")(exchange_info_command)


def _remove_if_empty(folder: Path | None) -> None:
    """A download that got nothing leaves no empty folder behind (`folder` is the one it
    created, None when it existed before: a user's folder is never removed)."""
    if folder is not None and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def _day(value: str, option: str) -> date:
    text = value.strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a day: give YYYY-MM-DD (UTC)") from None


def _check_range(start: date, end: date, yes: bool) -> None:
    if start > end:
        raise ConfigError(f"--from {start} is after --to {end}")
    today = datetime.now(UTC).date()
    if end > today:
        raise ConfigError(
            f"--to {end} is in the future (today is {today} UTC; Binance publishes a day's "
            "file the day after)"
        )
    days = (end - start).days + 1
    if days > MAX_DAYS and not yes:
        raise ConfigError(
            f"--from {start} --to {end} is {days:,} days (more than {MAX_DAYS:,}): "
            "pass --yes to download them all"
        )


def _run(
    symbol: str,
    start: date,
    end: date,
    dest: Path,
    base_url: str,
    concurrency: int,
    retries: int,
) -> DownloadReport:
    total = (end - start).days + 1
    if not out.is_terminal:
        reporter = _Reporter(None, None)
        return interrupt.run(
            download_days(
                symbol, start, end, dest, base_url, concurrency, reporter, retries=retries
            )
        )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        _Amount(),
        console=out,
        transient=True,
    ) as bar:
        days = bar.add_task(symbol, total=total, kind="days")
        reporter = _Reporter(bar, days)
        return interrupt.run(
            download_days(
                symbol, start, end, dest, base_url, concurrency, reporter, retries=retries
            )
        )


class _Amount(ProgressColumn):
    """`3/10 days` for the days bar; bytes, size and speed for a file's bar."""

    def render(self, task: Task) -> Text:
        if task.fields.get("kind") == "days":
            return Text(f"{int(task.completed)}/{int(task.total or 0)} days")
        done = decimal(int(task.completed))
        size = f"/{decimal(int(task.total))}" if task.total is not None else ""
        speed = f"  {decimal(int(task.speed))}/s" if task.speed else ""
        return Text(f"{done}{size}{speed}")


class _Reporter:
    """Prints each day's problems as they happen; drives the bars when there are bars."""

    def __init__(self, bar: Progress | None, days: TaskID | None) -> None:
        self.bar = bar
        self.days = days
        self.files: dict[date, TaskID] = {}

    def started(self, day: date, done: int, total: int | None) -> None:
        if self.bar is None:
            return
        task = self.files.get(day)
        if task is None:
            self.files[day] = self.bar.add_task(str(day), total=total, completed=done)
        else:
            self.bar.reset(task, total=total, completed=done)

    def advanced(self, day: date, nbytes: int) -> None:
        if self.bar is not None and day in self.files:
            self.bar.advance(self.files[day], nbytes)

    def finished(self, result: DayResult) -> None:
        if result.status is DayStatus.MISSING:
            warn(result.detail)
        elif result.status is DayStatus.FAILED:
            line = Text.assemble(("failed: ", "bold red"), f"{result.day}: {result.detail}")
            err.print(line, soft_wrap=True)
        if result.note:
            err.print(Text(f"{result.day}: {result.note}"), soft_wrap=True)
        if self.bar is not None and self.days is not None:
            task = self.files.pop(result.day, None)
            if task is not None:
                self.bar.remove_task(task)
            self.bar.advance(self.days)


def _print_summary(report: DownloadReport) -> None:
    out.print(
        Text(
            f"{report.symbol} {report.start} to {report.end} into {report.dest} "
            f"(from {report.base_url})"
        ),
        soft_wrap=True,
    )
    rows = [
        ("downloaded", f"{len(report.downloaded):>6,}"),
        ("already there", f"{len(report.skipped):>6,}"),
        ("missing (404)", f"{len(report.missing):>6,}{_days_listed(report.missing)}"),
        ("failed", f"{len(report.failed):>6,}{_days_listed(report.failed)}"),
    ]
    if report.fetched_bytes:
        rows.append(("fetched", f"{decimal(report.fetched_bytes):>6}"))
    for what, value in rows:
        out.print(Text(f"  {what:<14}{value}"), soft_wrap=True)


def _days_listed(results: list[DayResult]) -> str:
    """`: 2019-05-24..2019-05-26, 2019-06-01` (consecutive days as ranges)."""
    if not results:
        return ""
    spans: list[tuple[date, date]] = []
    for day in sorted(r.day for r in results):
        if spans and (day - spans[-1][1]).days == 1:
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    texts = [f"{a}" if a == b else f"{a}..{b}" for a, b in spans]
    more = f", and {len(texts) - MAX_LISTED} more" if len(texts) > MAX_LISTED else ""
    return ": " + ", ".join(texts[:MAX_LISTED]) + more


__all__ = ["data_app", "download"]
