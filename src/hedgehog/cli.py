"""The `hedgehog` command line (typer). Each sub-command lives with its concern."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="hedgehog",
    help="A crypto trading bot for Binance spot, with an OTP-style supervision tree.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def version() -> None:
    """Print hedgehog's version."""
    from hedgehog import __version__

    typer.echo(__version__)


def main() -> None:
    app()
