"""The `hedgehog` command line. Each command lives with its concern and is imported only when
it runs, so `hedgehog backtest` does not pay for the database or network stacks it never uses
(click's lazy-group pattern; each command is a typer function or a typer app)."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from hedgehog import __version__
from hedgehog.runtime import interrupt

# name -> (module, attribute: a typer command function or a typer.Typer app, summary). The
# summary (the start of the command's help, checked by a test) lists the command in `--help`
# without importing its module: each would pull in its own stack (polars, sqlalchemy, aiohttp).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "backtest": (
        "hedgehog.cli.backtest",
        "backtest",
        "Backtest a strategy (naive by default) on historical (or synthetic) trades",
    ),
    "sweep": (
        "hedgehog.cli.sweep",
        "sweep",
        "Backtest every combination of a strategy's settings (--param key=V1,V2,...,"
        " or naive's --grid)",
    ),
    "data": (
        "hedgehog.cli.data",
        "data_app",
        "Historical market data: download Binance's public trade files.",
    ),
    "run": (
        "hedgehog.cli.run",
        "run",
        "Run the trading node: store, streamer, the book's tree running each symbol's strategy",
    ),
    "demo": (
        "hedgehog.cli.run",
        "demo",
        "Start the local exchange simulator with a synthetic market of three symbols",
    ),
    "status": (
        "hedgehog.cli.control",
        "status",
        "The running node's live tree, each symbol's traders and orders, and restarts.",
    ),
    "kill": (
        "hedgehog.cli.control",
        "kill",
        'Kill a process of the running node (chaos, demos): a pid number, "leader:XRPUSDT",',
    ),
    "console": (
        "hedgehog.cli.control",
        "console",
        "An interactive console attached to the running node (like `iex -S mix`).",
    ),
    "dashboard": (
        "hedgehog.cli.dashboard",
        "dashboard",
        "Print the running node's dashboard link (it carries the control token: keep it private).",
    ),
    "trade": (
        "hedgehog.cli.control",
        "trade_app",
        "Start, stop or shut down trading of a symbol on the running node.",
    ),
    "stream": (
        "hedgehog.cli.control",
        "stream_app",
        "Start or stop streaming a symbol's trades on the running node.",
    ),
    "warehouse": (
        "hedgehog.cli.control",
        "warehouse_app",
        "Record a topic's messages in the database (or stop).",
    ),
    "settings": (
        "hedgehog.cli.settings",
        "settings_app",
        "Trading settings per symbol, kept in the database.",
    ),
    "exchange": (
        "hedgehog.cli.exchange",
        "exchange_app",
        "Exchange tools: the local Binance-compatible simulator.",
    ),
}


_LISTING = "hedgehog.cli.listing"


def _load(name: str) -> Any:
    module, attribute, _ = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        return typer.main.get_group(target)
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(name)(target)
    return typer.main.get_command(app)


class LazyGroup(TyperGroup):
    """Commands imported on first use (typer's own click underneath, so typer.Exit works);
    `--help` lists them from their summaries, importing none."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted([*COMMANDS, *super().list_commands(ctx)])

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        ctx.meta[_LISTING] = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            ctx.meta.pop(_LISTING, None)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS and ctx.meta.get(_LISTING):
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name][2])
        if cmd_name in COMMANDS:
            command = _load(cmd_name)
            command.name = cmd_name
            return command
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=LazyGroup,
    name="hedgehog",
    help="hedgehog: a crypto trading bot for Binance spot, with an OTP-style supervision tree.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.command()
def version() -> None:
    """Print hedgehog's version."""
    typer.echo(__version__)


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _main(
    log_level: str = typer.Option(
        os.environ.get("HEDGEHOG_LOG_LEVEL", "WARNING"),
        help="Logging level: DEBUG, INFO, WARNING, ERROR or CRITICAL (HEDGEHOG_LOG_LEVEL)",
    ),
    version: bool = typer.Option(
        False,
        "--version",
        callback=_show_version,
        is_eager=True,
        help="Print hedgehog's version and exit",
    ),
) -> None:
    level = log_level.strip().upper()
    if level not in LEVELS:
        raise typer.BadParameter(
            f"{log_level!r} is not a level: choose from {', '.join(LEVELS)}",
            param_hint="--log-level",
        )
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _read_ahead(argv: list[str]) -> None:
    """`hedgehog backtest FILES`: start inflating and parsing the files in a background thread
    while this process is still importing (see `hedgehog.market.prefetch`)."""
    while argv and argv[0].startswith("-"):  # the group's own options
        argv = argv[2:] if argv[0] == "--log-level" else argv[1:]
    if argv[:1] == ["backtest"]:
        from hedgehog.market import prefetch

        prefetch.start(a for a in argv[1:] if not a.startswith("-"))


def main() -> None:
    """Run the command line; a SIGINT/SIGTERM stops any command with one line and exit
    130/143 (see `hedgehog.runtime.interrupt`)."""
    interrupt.install()
    _read_ahead(sys.argv[1:])
    try:
        app()
    except interrupt.Interrupted as exc:
        sys.stderr.write(interrupt.message(exc.signum) + "\n")
        sys.stderr.flush()
        sys.exit(exc.exit_code)
