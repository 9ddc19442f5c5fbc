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
from typer.core import TyperGroup

from hedgehog import __version__
from hedgehog.runtime import interrupt

# name -> (module, attribute: a typer command function or a typer.Typer app)
COMMANDS: dict[str, tuple[str, str]] = {
    "backtest": ("hedgehog.cli.backtest", "backtest"),
    "sweep": ("hedgehog.cli.sweep", "sweep"),
    "data": ("hedgehog.cli.data", "data_app"),
    "run": ("hedgehog.cli.run", "run"),
    "demo": ("hedgehog.cli.run", "demo"),
    "status": ("hedgehog.cli.control", "status"),
    "kill": ("hedgehog.cli.control", "kill"),
    "console": ("hedgehog.cli.control", "console"),
    "dashboard": ("hedgehog.cli.dashboard", "dashboard"),
    "trade": ("hedgehog.cli.control", "trade_app"),
    "stream": ("hedgehog.cli.control", "stream_app"),
    "warehouse": ("hedgehog.cli.control", "warehouse_app"),
    "settings": ("hedgehog.cli.settings", "settings_app"),
    "exchange": ("hedgehog.cli.exchange", "exchange_app"),
}


def _load(name: str) -> Any:
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        return typer.main.get_group(target)
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(name)(target)
    return typer.main.get_command(app)


class LazyGroup(TyperGroup):
    """Commands imported on first use (typer's own click underneath, so typer.Exit works)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted([*COMMANDS, *super().list_commands(ctx)])

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
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


def main() -> None:
    """Run the command line; a SIGINT/SIGTERM stops any command with one line and exit
    130/143 (see `hedgehog.runtime.interrupt`)."""
    interrupt.install()
    try:
        app()
    except interrupt.Interrupted as exc:
        sys.stderr.write(interrupt.message(exc.signum) + "\n")
        sys.stderr.flush()
        sys.exit(exc.exit_code)
