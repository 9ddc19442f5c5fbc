"""The `hedgehog` command line (typer). Each command lives with its concern."""

from __future__ import annotations

import logging
import os

import typer

from hedgehog import __version__
from hedgehog.backtest.command import backtest
from hedgehog.backtest.data_command import data_app
from hedgehog.control.commands import (
    console,
    kill,
    status,
    stream_app,
    trade_app,
    warehouse_app,
)
from hedgehog.exchange.simulator.command import serve
from hedgehog.live.commands import demo, run
from hedgehog.store.commands import settings_app

app = typer.Typer(
    name="hedgehog",
    help="A crypto trading bot for Binance spot, with an OTP-style supervision tree.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(backtest)
app.command()(run)
app.command()(demo)

app.command()(status)
app.command()(kill)
app.command()(console)
app.add_typer(trade_app, name="trade")
app.add_typer(stream_app, name="stream")
app.add_typer(warehouse_app, name="warehouse")
app.add_typer(settings_app, name="settings")
app.add_typer(data_app, name="data")

exchange_app = typer.Typer(help="Exchange tools: the local Binance-compatible simulator.")
exchange_app.command("serve")(serve)
app.add_typer(exchange_app, name="exchange")


@app.command()
def version() -> None:
    """Print hedgehog's version."""
    typer.echo(__version__)


@app.callback()
def _main(
    log_level: str = typer.Option(
        os.environ.get("HEDGEHOG_LOG_LEVEL", "WARNING"), help="Logging level (DEBUG, INFO, ...)"
    ),
) -> None:
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def main() -> None:
    app()
