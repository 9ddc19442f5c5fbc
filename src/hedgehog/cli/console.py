"""Terminal output shared by the commands: rich consoles and clear error exits."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

out = Console()
err = Console(stderr=True)


def fail(message: object, code: int = 2) -> NoReturn:
    """Print `error: message` on stderr (never wrapped, never read as markup) and exit."""
    err.print(Text.assemble(("error: ", "bold red"), str(message)), soft_wrap=True)
    raise typer.Exit(code)


def warn(message: object) -> None:
    err.print(Text.assemble(("warning: ", "yellow"), str(message)), soft_wrap=True)
