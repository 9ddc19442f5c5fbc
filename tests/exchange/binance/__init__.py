"""Tests of the Binance client: REST, user data stream, polling, signing and wire formats."""
