"""The paper exchange: the book's BinanceMock done right (one matching engine for all uses)."""
