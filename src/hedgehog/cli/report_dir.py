"""Writing a backtest's HTML report into a directory whole, for every command that writes one
(`hedgehog backtest --report`, `hedgehog sweep --report`)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from hedgehog.core.errors import ConfigError
from hedgehog.runtime import interrupt

if TYPE_CHECKING:
    from hedgehog.backtest.report_model import Data
    from hedgehog.backtest.runner import BacktestConfig, BacktestResult


def write_report_dir(
    result: BacktestResult,
    data: Data,
    config: BacktestConfig,
    report: Path,
) -> Path:
    """The report, written beside `report` first and moved in whole: a stopped backtest
    leaves no index.html that looks complete. Returns the page's path; a directory that
    cannot be written is a `ConfigError`. `data`: the trades run on, or None (the result's
    price histories, recorded with `BacktestConfig.chart_bars`)."""
    from hedgehog.backtest.report import write_report

    try:
        report.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".report-", dir=report) as scratch:
            page = write_report(result, data, config, Path(scratch))
            with interrupt.deferred():
                for part in sorted(Path(scratch).iterdir(), key=lambda p: p.name == page.name):
                    os.replace(part, report / part.name)
    except OSError as exc:
        raise ConfigError(f"cannot write the report into {report}: {exc}") from None
    return report / page.name


__all__ = ["write_report_dir"]
