"""The risk book's durable part in the database (issue 13; `hedgehog.naive.risk`).

`risk_realised` holds the realised PnL of each completed cycle, keyed by (symbol, trader id):
`SqlTraderStore` writes it in the transaction that stores the trader's "done" state, so it is
durable exactly when the completion is, and a completion stored again (replayed after a crash)
overwrites its own row instead of counting twice. `risk_books` holds a symbol's limits and its
halt (null while not halted), written with the next trader state stored or on its own. These
functions run in the database's worker thread, inside the caller's transaction.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hedgehog.store.errors import CorruptRow
from hedgehog.store.models import RiskBookRow, RiskRealisedRow, dec_text, parse_dec, utcnow


def write_realised(session: Session, symbol: str, trader_id: str, pnl: Decimal) -> None:
    """A completed cycle's realised PnL (the same cycle stored again: the same row)."""
    row = session.get(RiskRealisedRow, (symbol, trader_id))
    if row is None:
        session.add(RiskRealisedRow(symbol=symbol, trader_id=trader_id, pnl=dec_text(pnl)))
    else:
        row.pnl = dec_text(pnl)


def write_book(session: Session, symbol: str, durable: dict[str, Any]) -> None:
    """A symbol's limits and halt (`SymbolRisk.durable()`)."""
    row = session.get(RiskBookRow, symbol)
    if row is None:
        session.add(RiskBookRow(symbol=symbol, limits=durable["limits"], halted=durable["halted"]))
    else:
        row.limits, row.halted, row.updated_at = durable["limits"], durable["halted"], utcnow()


def forget(session: Session, symbol: str) -> None:
    """`max_loss` is off for `symbol`: its book is forgotten (as in memory)."""
    session.execute(delete(RiskRealisedRow).where(RiskRealisedRow.symbol == symbol))
    session.execute(delete(RiskBookRow).where(RiskBookRow.symbol == symbol))


def read(session: Session, symbol: str) -> tuple[dict[str, Decimal], dict[str, Any] | None]:
    """(realised PnL by trader id, the book's {limits, halted} or None) of `symbol`."""
    realised = {
        row.trader_id: parse_dec(row.pnl, f"risk_realised row {symbol}/{row.trader_id}: pnl")
        for row in session.scalars(select(RiskRealisedRow).where(RiskRealisedRow.symbol == symbol))
    }
    row = session.get(RiskBookRow, symbol)
    if row is None:
        return realised, None
    if not isinstance(row.limits, dict) or not isinstance(row.halted, dict | None):
        raise CorruptRow(f"risk_books row {symbol}: limits or halted is not a JSON object")
    return realised, {"limits": row.limits, "halted": row.halted}
