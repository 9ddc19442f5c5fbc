"""Command-line options declared once: the trading settings (shared by `backtest`, `sweep`,
`run` and `settings set`), and where a backtest's trades come from, the symbols' filters and
the replay mode (shared by `backtest` and `sweep`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hedgehog.core.time_range import HELP_FROM, HELP_TO

StrategyName = Annotated[
    str,
    typer.Option(
        "--strategy",
        help="naive (the book's), grid, package.module:Class, or a name an installed package "
        "registers (entry points hedgehog.strategies)",
    ),
]
Params = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        help="A setting of the strategy, key=value (repeat it), e.g. --param levels=5",
        show_default=False,
    ),
]
Chunks = Annotated[int | None, typer.Option(help="Traders per symbol [5]")]
Budget = Annotated[str | None, typer.Option(help="Quote budget per symbol [1000]")]
BuyDown = Annotated[str | None, typer.Option(help="Buy this far below the price [0.0001]")]
Profit = Annotated[str | None, typer.Option(help="Sell this far above, after fees [0.001]")]
Rebuy = Annotated[str | None, typer.Option(help="Add a trader this far below a buy [0.001]")]
Fee = Annotated[str | None, typer.Option(help="Fee rate [0.001]")]


TradeSymbol = Annotated[
    str | None,
    typer.Option(
        "--symbol",
        help="Symbol of the trades (default: from the file names); keeps only that symbol. "
        "Without files: the symbols (S1,S2) to read from the catalog",
    ),
]
CatalogDir = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help="Read --symbol's trades from this Parquet catalog, a day at a time (memory does "
        "not grow with --from/--to); without files, --symbol alone reads the data directory's "
        "catalog (`hedgehog data download`/`data import` fill it)",
        show_default=False,
    ),
]
FromTime = Annotated[str | None, typer.Option("--from", help=HELP_FROM, show_default=False)]
ToTime = Annotated[str | None, typer.Option("--to", help=HELP_TO, show_default=False)]


def strategy_settings(
    strategy: str, params: list[str] | None, naive_values: dict[str, Any], symbols: list[str]
) -> tuple[Any, dict[str, Any]]:
    """The strategy and each symbol's settings from `--strategy`, `--param` and naive's own
    options (`--chunks` ...): those are naive's, refused for another strategy; a key given
    both ways is refused."""
    from hedgehog.core.errors import ConfigError
    from hedgehog.strategy.registry import load_strategy, parse_params

    chosen = load_strategy(strategy)
    given = parse_params(params or [])
    flags = {k: v for k, v in naive_values.items() if v is not None}
    if flags and chosen.name != "naive":
        names = ", ".join("--" + k.replace("_", "-") for k in flags)
        raise ConfigError(f"{names}: naive's options; give {chosen.name}'s with --param key=value")
    both = sorted(set(flags) & set(given))
    if both:
        raise ConfigError(f"{both[0]} given both as --{both[0].replace('_', '-')} and --param")
    return chosen, {s: chosen.parse_settings(s, {**flags, **given}) for s in symbols}


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


PubSubUrl = Annotated[
    str | None,
    typer.Option(
        "--pubsub",
        help="Pub/sub between nodes (default: in-process only): nats://HOST:PORT shares the "
        "trades this node streams with other nodes over NATS, topics keeping their names "
        "(TRADE_EVENTS:XRPUSDT); nats://HOST:PORT/PREFIX keeps clusters on one server apart",
        show_default=False,
    ),
]
TradesFrom = Annotated[
    str,
    typer.Option(
        "--trades-from",
        help="Where the traders get each symbol's trades: exchange (this node's own stream) or "
        "nats (published by a streamer node; needs --pubsub). Fills always come from this "
        "node's own exchange connection",
    ),
]
StreamSymbols = Annotated[
    str | None,
    typer.Option(
        "--stream",
        help="Symbols to stream without trading them, e.g. XRPUSDT,ETHUSDT: with --pubsub, a "
        "streamer node publishing their trades to trading nodes (--trades-from nats)",
        show_default=False,
    ),
]


ClusterName = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Join this cluster of nodes: symbols on in the shared PostgreSQL store are traded "
        "each by one node under a lease (HEDGEHOG_DATABASE_URL=postgresql://... required)",
        show_default=False,
    ),
]
NodeName = Annotated[
    str | None,
    typer.Option(
        "--node-name", help="This node's name in the cluster [host-pid]", show_default=False
    ),
]
LeaseTtl = Annotated[
    float,
    typer.Option(
        "--lease-ttl",
        min=1.0,
        help="Seconds a symbol's lease lasts unless renewed (renewed every third of it)",
    ),
]
