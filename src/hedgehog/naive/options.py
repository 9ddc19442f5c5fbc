"""The trading settings as command-line options, shared by `backtest`, `sweep`, `run` and
`settings set` (so each option is spelled and explained once)."""

from __future__ import annotations

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
