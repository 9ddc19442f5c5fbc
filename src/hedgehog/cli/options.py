"""Command-line options declared once: the trading settings (shared by `backtest`, `sweep`,
`run` and `settings set`), and where a backtest's trades come from, the symbols' filters and
the replay mode (shared by `backtest` and `sweep`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

Chunks = Annotated[int | None, typer.Option(help="Traders per symbol [5]")]
Budget = Annotated[str | None, typer.Option(help="Quote budget per symbol [1000]")]
BuyDown = Annotated[str | None, typer.Option(help="Buy this far below the price [0.0001]")]
Profit = Annotated[str | None, typer.Option(help="Sell this far above, after fees [0.001]")]
Rebuy = Annotated[str | None, typer.Option(help="Add a trader this far below a buy [0.001]")]
Fee = Annotated[str | None, typer.Option(help="Fee rate [0.001]")]


def trading_values(
    chunks: int | None,
    budget: str | None,
    buy_down_interval: str | None,
    profit_interval: str | None,
    rebuy_interval: str | None,
    fee: str | None,
) -> dict[str, Any]:
    """The options as `TradingSettings.parse` keywords (None: not given)."""
    return {
        "chunks": chunks,
        "budget": budget,
        "buy_down_interval": buy_down_interval,
        "profit_interval": profit_interval,
        "rebuy_interval": rebuy_interval,
        "fee": fee,
    }


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
