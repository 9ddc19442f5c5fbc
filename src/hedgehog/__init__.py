"""hedgehog: a Binance spot trading bot on asyncio with an OTP-style supervision tree."""

__version__ = "0.1.0"
