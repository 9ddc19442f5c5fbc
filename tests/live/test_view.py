"""The live view in an 80x24 terminal: nothing wider than 80 columns, nothing taller than 24
lines, with the demo's three symbols (and more traders than fit), and it says true things:
the exchange it was told, the symbol's completed cycles, each trader's retries."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from hedgehog.live.view import render_snapshot


def _order(price: str) -> dict[str, Any]:
    return {"price": price, "quantity": "12345.67800000", "status": "PARTIALLY_FILLED"}


def _snapshot(symbols: int, traders: int) -> dict[str, Any]:
    return {
        "symbols": {
            f"SYM{n}USDT": {
                "status": "on",
                "last_price": "0.51234567",
                "cycles_completed": 42,
                "realised_pnl": "1234.56789012",
                "unrealised_pnl": "-98.76543210",
                "fees_paid": "12.34567890",
                "traders": [
                    {
                        "trader_id": f"t{n}{i}",
                        "phase": "selling",
                        "cycle": i,
                        "buy": _order("0.51230000"),
                        "sell": _order("0.51290000"),
                        "rebuy_notified": i % 2 == 0,
                    }
                    for i in range(traders)
                ],
            }
            for n in range(symbols)
        },
        "exchange": {"exchange": "binance", "user_stream_connected": True},
        "streams": {"connections": {"a": {"connected": True}}},
        "errors": [{"what": "trader:SYM0USDT:t01", "error": "ConnectionResetError " * 5}],
    }


def _screen(data: dict[str, Any], **kwargs: Any) -> list[str]:
    console = Console(width=80, height=24, record=True, color_system=None)
    console.print(render_snapshot(data, "hedgehog demo — local simulator", height=24, **kwargs))
    return console.export_text().rstrip("\n").split("\n")


@pytest.mark.parametrize("symbols,traders", [(3, 5), (3, 12), (1, 30), (6, 2)])
def test_the_view_fits_80_by_24(symbols: int, traders: int) -> None:
    lines = _screen(_snapshot(symbols, traders))
    assert max(len(line) for line in lines) <= 80, lines
    assert len(lines) <= 24, "\n".join(lines)


def test_traders_that_do_not_fit_are_counted() -> None:
    text = "\n".join(_screen(_snapshot(3, 12)))
    assert "more" in text
    hidden = [line for line in text.split("\n") if "more" in line]
    assert len(hidden) == 3 and all(line.strip().startswith("+") for line in hidden)


def test_the_view_names_the_exchange_it_is_given() -> None:
    demo = "\n".join(_screen(_snapshot(3, 5), exchange="local simulator"))
    assert "exchange: local simulator" in demo and "exchange: binance" not in demo
    assert "exchange: binance" in "\n".join(_screen(_snapshot(3, 5)))


def test_cycles_and_retries_are_the_counts_they_say() -> None:
    lines = _screen(_snapshot(1, 4))
    assert "cycles 42" in lines[1]  # the symbol's completed cycles
    header = next(line for line in lines if "retries" in line)
    column = header.index("retries")
    rows = [line for line in lines if line.startswith("t0")]
    assert [row[column : column + 7].strip() for row in rows] == ["0", "1", "2", "3"]
