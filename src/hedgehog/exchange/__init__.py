"""Exchanges: the `Exchange` protocol, the paper exchange, the Binance client, the simulator."""

from hedgehog.exchange.base import Balance, Exchange

__all__ = ["Balance", "Exchange"]
