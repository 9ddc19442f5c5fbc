"""`hedgehog dashboard`, and how a starting node announces its dashboard without leaking the token.

The dashboard's link carries the control token (`/?token=...`): whoever has it drives the node.
A node prints that link only when stderr is an interactive terminal; under a service manager or
a pipe (whose output ends up in logs) it prints the URL without the token and says where the
token file is. `hedgehog dashboard` prints the full link on demand (`--open` opens a browser).
"""

from __future__ import annotations

import sys
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from hedgehog.cli.console import err, fail, out
from hedgehog.config import Settings
from hedgehog.config.token import TOKEN_FILE, read_connection
from hedgehog.core.errors import HedgehogError


def dashboard_link(url: str, token: str) -> str:
    return f"{url}/?token={token}"


def announcement(url: str, token: str, data_dir: Path, interactive: bool) -> list[str]:
    """The lines a starting node prints on stderr about its control API and dashboard."""
    token_file = data_dir / TOKEN_FILE
    if interactive:
        return [
            f"control API at {url} (token in {token_file})",
            f"dashboard: {dashboard_link(url, token)}",
        ]
    return [
        f"control API at {url} (token in {token_file})",
        f"dashboard: {url}/ (the token is not logged: `hedgehog dashboard` prints the link)",
    ]


def announce(url: str, token: str, data_dir: Path) -> None:
    """Print the `announcement`; the token only if stderr is a terminal (not a log)."""
    for line in announcement(url, token, data_dir, interactive=sys.stderr.isatty()):
        err.print(line, soft_wrap=True, markup=False, highlight=False)


def dashboard(
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the dashboard in the default browser")
    ] = False,
) -> None:
    """Print the running node's dashboard link (it carries the control token: keep it private)."""
    try:
        url, token = read_connection(Settings().data_dir)
    except HedgehogError as exc:
        fail(exc)
    link = dashboard_link(url, token)
    out.print(link, soft_wrap=True, markup=False, highlight=False)
    if open_browser and not webbrowser.open(link):
        fail("no browser could be opened: copy the link above", code=1)
