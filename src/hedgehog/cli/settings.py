"""`hedgehog settings seed|show|set`: the trading settings table, straight in the database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hedgehog.cli.console import fail, out
from hedgehog.cli.options import Budget, BuyDown, Chunks, Fee, Profit, Rebuy
from hedgehog.config import Settings
from hedgehog.core.errors import HedgehogError
from hedgehog.core.filters import SymbolFilters, load_exchange_info
from hedgehog.store.db import Database
from hedgehog.store.settings import SettingsRepo

settings_app = typer.Typer(help="Trading settings per symbol, kept in the database.")
Symbol = Annotated[str, typer.Argument(help="A symbol, e.g. XRPUSDT")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def _db_call(work: Any) -> Any:
    async def run() -> Any:
        db = Database.from_settings(Settings())
        try:
            await db.migrate()
            return await work(db)
        finally:
            await db.close()

    try:
        return asyncio.run(run())
    except (HedgehogError, ValueError) as exc:
        fail(exc)


async def _filters(exchange_info: Path | None, rest_url: str | None) -> dict[str, SymbolFilters]:
    if exchange_info is not None:
        return load_exchange_info(exchange_info)
    from hedgehog.exchange.binance.rest import BinanceExchange

    url = rest_url or Settings().urls()["rest_url"]
    async with BinanceExchange(None, None, url) as rest:
        return await rest.exchange_info()


@settings_app.command("seed")
def seed(
    exchange_info: Annotated[
        Path | None, typer.Option(help="A saved GET /api/v3/exchangeInfo answer")
    ] = None,
    rest_url: Annotated[str | None, typer.Option(help="Ask this REST API instead")] = None,
) -> None:
    """Insert every symbol of the exchange with the default settings, status off (existing
    rows are left alone)."""

    async def work(db: Database) -> int:
        return await SettingsRepo(db).seed_from_exchange_info(
            await _filters(exchange_info, rest_url)
        )

    added = _db_call(work)
    out.print(f"seeded {added} new symbols (every new one is off)")


@settings_app.command("show")
def show(
    symbol: Annotated[
        str | None, typer.Argument(help="A symbol, e.g. XRPUSDT (default: those not off)")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """The stored settings of one symbol, or of every symbol that is not off."""

    async def work(db: Database) -> Any:
        repo = SettingsRepo(db)
        if symbol:
            return [await repo.get(symbol)]
        return [r for r in await repo.all() if r.status != "off"] or await repo.all()

    rows = _db_call(work)
    if as_json:
        out.print_json(json.dumps([{**r.settings.as_dict(), "status": r.status} for r in rows]))
        return
    table = Table("symbol", "status", "chunks", "budget", "buy down", "profit", "rebuy", "fee")
    for r in rows[:200]:
        s = r.settings.as_dict()
        table.add_row(
            s["symbol"],
            r.status,
            str(s["chunks"]),
            s["budget"],
            s["buy_down_interval"],
            s["profit_interval"],
            s["rebuy_interval"],
            s["fee"],
        )
    out.print(table)
    if len(rows) > 200:
        out.print(f"... and {len(rows) - 200} more")


@settings_app.command("set")
def set_(
    symbol: Symbol,
    chunks: Chunks = None,
    budget: Budget = None,
    buy_down_interval: BuyDown = None,
    profit_interval: Profit = None,
    rebuy_interval: Rebuy = None,
    fee: Fee = None,
    exchange_info: Annotated[
        Path | None, typer.Option(help="Check against these filters (min notional)")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Change a symbol's settings (validated; nothing is stored when invalid). A running
    symbol uses them from its next start."""
    values = dict(
        chunks=chunks,
        budget=budget,
        buy_down_interval=buy_down_interval,
        profit_interval=profit_interval,
        rebuy_interval=rebuy_interval,
        fee=fee,
    )

    async def work(db: Database) -> Any:
        filters = None
        if exchange_info is not None:
            known = load_exchange_info(exchange_info)
            filters = known.get(symbol.upper())
        return await SettingsRepo(db).update(symbol, filters, **values)

    row = _db_call(work)
    if as_json:
        out.print_json(json.dumps(row.settings.as_dict()))
    else:
        for key, value in row.settings.as_dict().items():
            out.print(f"{key}: {value}", highlight=False)
