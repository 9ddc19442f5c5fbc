"""Backtests: loaders of historical trades, the synthetic market, the runner and its report."""
