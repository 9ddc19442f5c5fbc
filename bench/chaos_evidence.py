"""The chaos run's evidence: read from the store the nodes really used (by its URL) and from
the simulator (ledger, order arrivals, account, exchange info), into `chaos_check.Evidence`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chaos_check import Evidence, Market, Ref, Row, Trader, dec
from chaos_procs import SYMBOLS, Procs


async def read_store(url: str) -> tuple[list[Row], list[Trader]]:
    from sqlalchemy import select

    from hedgehog.store import Database, SqlTraderStore
    from hedgehog.store.models import OrderRow

    def rows_of(session: Any) -> list[Row]:
        return [
            Row(
                client_order_id=r.client_order_id,
                symbol=r.symbol,
                side=r.side,
                status=r.status,
                executed_qty=dec(r.executed_qty),
                exchange_order_id=r.exchange_order_id,
                trader_id=r.trader_id,
                intent_ns=r.intent_committed_at_ns,
            )
            for r in session.scalars(select(OrderRow).order_by(OrderRow.id))
        ]

    db = Database(url)
    try:
        rows = await db.run(rows_of)
        store = SqlTraderStore(db)
        states = [s for symbol in SYMBOLS for s in await store.load(symbol)]
    finally:
        await db.close()
    traders = [
        Trader(
            symbol=s.symbol,
            trader_id=s.trader_id,
            buy=_ref(s.buy),
            sell=_ref(s.sell),
            buy_fee_base=getattr(s, "buy_fee_base", None),
        )
        for s in states
    ]
    return rows, traders


def _ref(ref: Any) -> Ref | None:
    if ref is None:
        return None
    return Ref(ref.client_order_id, ref.status, ref.executed_qty)


def balances(account: dict[str, Any]) -> dict[str, tuple[Decimal, Decimal]]:
    return {b["asset"]: (dec(b["free"]), dec(b["locked"])) for b in account["balances"]}


async def read_markets(procs: Procs) -> dict[str, Market]:
    from hedgehog.core.filters import parse_exchange_info

    info = await procs.sim_get("/api/v3/exchangeInfo")
    return {
        symbol: Market(f.base_asset, f.quote_asset, f.step_size, f.min_qty, f.min_notional)
        for symbol, f in parse_exchange_info(info).items()
    }


async def read_exchange(procs: Procs, ev: Evidence) -> None:
    """The simulator's side (read with the market paused)."""
    ev.ledger = (await procs.sim_get("/_sim/ledger"))["orders"]
    arrivals = await procs.sim_get("/_sim/arrivals")
    if arrivals["forgotten"]:
        raise RuntimeError(f"the simulator forgot {arrivals['forgotten']} order arrivals")
    ev.arrivals = arrivals["arrivals"]
    ev.final_balances = balances(await procs.sim_get("/_sim/account"))
