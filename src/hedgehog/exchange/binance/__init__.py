"""exchange/binance."""
