"""Command-line options shared by `backtest` and `sweep`: where the trades come from, the
symbols' filters, and the replay mode (each spelled and explained once)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Synthetic = Annotated[
    str | None,
    typer.Option(
        help="Instead of files: a seeded synthetic market of these symbols (XRPUSDT,ETHUSDT)"
    ),
]
Trades = Annotated[int, typer.Option(help="Trades per synthetic symbol")]
Seed = Annotated[int, typer.Option(help="Seed of the synthetic market")]
ExchangeInfo = Annotated[
    Path | None,
    typer.Option(help="A saved GET /api/v3/exchangeInfo answer giving each symbol's filters"),
]
TickSize = Annotated[str | None, typer.Option(help="Tick size (without --exchange-info)")]
StepSize = Annotated[str | None, typer.Option(help="Step size (without --exchange-info)")]
MinNotional = Annotated[str | None, typer.Option(help="Min notional (without --exchange-info)")]
SkipBadRows = Annotated[bool, typer.Option(help="Count and skip unreadable rows")]
EveryTick = Annotated[
    bool,
    typer.Option(
        help="Send every trade through the processes (no skip-ahead): slower, same result"
    ),
]
