"""`hedgehog data exchange-info`, and what `data download` does after downloading: import the
days into the catalog and fetch exchangeInfo.json into it when it is absent.

aiohttp and pyarrow are imported only when these run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from hedgehog.cli.console import fail, out, warn
from hedgehog.cli.data_catalog import CatalogOption, open_catalog, print_import, run_import
from hedgehog.core.errors import ConfigError, DataError

DEFAULT_API_URL = "https://api.binance.com"  # = market.download_exchange_info's
API_URL_ENV = "HEDGEHOG_REST_URL"


def exchange_info_command(
    base_url: Annotated[
        str,
        typer.Option(
            help="Binance's REST API, or a simulator's (hedgehog exchange serve)",
            envvar=API_URL_ENV,
        ),
    ] = DEFAULT_API_URL,
    dest: Annotated[
        Path | None,
        typer.Option(help="Where to save it [the catalog's exchangeInfo.json]", show_default=False),
    ] = None,
    catalog: CatalogOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the answer")] = 30.0,
) -> None:
    """Save the exchange's GET /api/v3/exchangeInfo: the filters backtests check orders against.

    Symbols with their filters (tick size, lot size, minimum notional), from Binance or from a
    simulator (`hedgehog exchange serve`), saved atomically.

    Exits 0 when saved, 1 when it could not be fetched, 2 on bad input.
    """
    from hedgehog.market.download_exchange_info import download_exchange_info, exchange_info_url
    from hedgehog.runtime import interrupt

    try:
        exchange_info_url(base_url)
        if timeout <= 0:
            raise ConfigError("--timeout must be more than 0")
        target = dest if dest is not None else open_catalog(catalog).exchange_info_path
    except ConfigError as exc:
        fail(exc)
    try:
        count = interrupt.run(download_exchange_info(base_url, target, timeout))
    except (ConfigError, DataError) as exc:
        fail(exc, 1)
    out.print(Text(f"saved the exchange info of {count:,} symbols from {base_url} to {target}"),
              soft_wrap=True)  # fmt: skip


def after_download(paths: list[Path], symbol: str, catalog: Path | None, api_url: str) -> bool:
    """Import the downloaded days into the catalog, then fetch its exchange info if absent
    (a failure there is only a warning). False when the import failed (printed)."""
    from hedgehog.market.download_exchange_info import download_exchange_info
    from hedgehog.runtime import interrupt

    try:
        cat = open_catalog(catalog)
        if paths:
            print_import(run_import(cat, paths, symbol, False), cat.root)
    except (ConfigError, DataError) as exc:
        warn(f"the days are downloaded, but importing them into the catalog failed: {exc}")
        return False
    info = cat.exchange_info_path
    if not info.is_file():
        try:
            count = interrupt.run(download_exchange_info(api_url, info, 30.0))
        except (ConfigError, DataError) as exc:
            warn(
                f"could not fetch the exchange info into {info} ({exc}); backtests from the "
                f"catalog need it: run `hedgehog data exchange-info --catalog {cat.root}`"
            )
        else:
            out.print(Text(f"saved the exchange info of {count:,} symbols to {info}"),
                      soft_wrap=True)  # fmt: skip
    return True
