"""`hedgehog settings seed|show|set`: the trading settings table (each symbol's strategy, its
parameters and status), straight in the database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hedgehog.cli.console import fail, out
from hedgehog.cli.options import (
    Budget,
    BuyDown,
    Chunks,
    Fee,
    Params,
    Profit,
    Rebuy,
    StrategyName,
    strategy_settings,
    trading_values,
)
from hedgehog.config import Settings
from hedgehog.core.errors import ConfigError, HedgehogError
from hedgehog.core.filters import SymbolFilters, load_exchange_info
from hedgehog.store.db import Database
from hedgehog.store.settings import SettingsRepo
from hedgehog.strategy.registry import parse_params

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
        out.print_json(json.dumps([r.as_dict() for r in rows]))
        return
    if all(r.strategy == "naive" for r in rows):
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
    else:
        table = Table("symbol", "status", "strategy", "settings")
        for r in rows[:200]:
            params = " ".join(f"{k}={v}" for k, v in r.params.items())
            table.add_row(r.symbol, r.status, r.strategy, params)
    out.print(table)
    if len(rows) > 200:
        out.print(f"... and {len(rows) - 200} more")


@settings_app.command("set")
def set_(
    context: typer.Context,
    symbol: Symbol,
    strategy: StrategyName = "naive",
    param: Params = None,
    chunks: Chunks = None,
    budget: Budget = None,
    buy_down_interval: BuyDown = None,
    profit_interval: Profit = None,
    rebuy_interval: Rebuy = None,
    fee: Fee = None,
    exchange_info: Annotated[
        Path | None, typer.Option(help="Check against these filters (min notional, tick size)")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Change a symbol's settings (validated; nothing is stored when invalid). With
    `--strategy`, the symbol trades with that strategy and these `--param`s (the others at its
    defaults; naive's own options count as naive's params); without it, the given settings
    of the strategy it has change and the rest stay. A running symbol uses them from its next
    start."""
    values = trading_values(chunks, budget, buy_down_interval, profit_interval, rebuy_interval, fee)
    source = context.get_parameter_source("strategy")
    switch = source is not None and source.name != "DEFAULT"

    async def work(db: Database) -> Any:
        filters = None
        if exchange_info is not None:
            known = load_exchange_info(exchange_info)
            filters = known.get(symbol.strip().upper())
        repo = SettingsRepo(db)
        given = {k: v for k, v in values.items() if v is not None} | parse_params(param or [])
        if switch:
            strategy_settings(strategy, param, values, [symbol])  # refuses mixed-up options
            return await repo.set(symbol, strategy, given, filters)
        both = sorted(set(parse_params(param or [])) & {k for k, v in values.items() if v})
        if both:
            raise ConfigError(f"{both[0]} given both as --{both[0].replace('_', '-')} and --param")
        return await repo.update(symbol, filters, **given)

    row = _db_call(work)
    if as_json:
        out.print_json(json.dumps(row.as_dict()))
    else:
        out.print(f"strategy: {row.strategy}", highlight=False)
        for key, value in row.settings.as_dict().items():
            out.print(f"{key}: {value}", highlight=False)
