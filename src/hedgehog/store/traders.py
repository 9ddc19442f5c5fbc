"""`SqlTraderStore`: the `TraderStore` on the database, so trader states survive a node restart.

Each trader's whole state is one JSON row (`trader_states`), written by its strategy's
`dump_state` with the strategy's name under `"strategy"` (absent: naive, as in every row
written before strategies were plug-ins) and read back through
`load_strategy(name).load_state`. Which strategy a symbol's traders run is
`strategy_for(symbol)` (the live node passes its context's; naive when not given).

Each row has a version that each save increments. The store remembers the version it last read
or wrote of every trader and saves with `UPDATE ... WHERE version = <that>`: a row changed
meanwhile by another writer (a second node on the same database) makes the save fail with
`StaleVersion` instead of silently overwriting it. That bookkeeping happens in the database's
worker thread right after the commit, so a trader cancelled while its save is in flight
cannot leave it out of step.

The same transaction writes the state's orders into the ledger (`orders`): the intent as
PENDING before the exchange call, then the exchange's answers. That is the durable "intent
before the call" of crash-only trading.

With the risk books given (`keep_risk(ctx.risk)`, a live node), the same transaction also
writes the durable part of the symbol's book when it has one (`max_loss` on): a "done"
state's realised PnL (`risk_realised`, by trader id: once per cycle) and the limits and halt
when they changed since last written (`risk_books`). A halt or new limits without a state
stored after them are written on their own (`risk_changed`, from the book's hook). `load`
gives the book back what was kept (`SymbolRisk.restore`) in the transaction that reads the
states. Without it (backtests, tools) nothing of this happens.

In a cluster (`fence_for` set by `hedgehog.cluster`) every write of a symbol (a state with
its orders, a removal, the risk book) first checks, in its own transaction, that this node
still holds the symbol's lease at its epoch (`hedgehog.store.leases.check_fence`): otherwise
`FencedError` (a `StoreUnavailable`) and nothing is written, so no intent and no order. On a
single node `fence_for` is None: no check, no cost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from hedgehog.core.errors import StoreUnavailable
from hedgehog.naive.risk import RiskBooks, SymbolRisk
from hedgehog.naive.strategy import TraderState
from hedgehog.store import risk as risk_rows
from hedgehog.store.db import Database
from hedgehog.store.errors import CorruptRow, StaleVersion
from hedgehog.store.leases import Fence, check_fence
from hedgehog.store.models import TraderCounterRow, TraderStateRow, utcnow
from hedgehog.store.orders import close_dropped, ref_values, write_order
from hedgehog.store.serde import dump, load, spec_of, strategy_spec
from hedgehog.strategy.protocol import Strategy
from hedgehog.strategy.registry import load_strategy
from hedgehog.strategy.risk import cycle_realised

Key = tuple[str, str]  # (symbol, trader id)
RiskWrite = tuple[Decimal | None, dict[str, Any]]  # (a done cycle's realised PnL, durable)
log = logging.getLogger("hedgehog.store.traders")


class SqlTraderStore:
    """Trader states in the database (implements `hedgehog.naive.store.TraderStore`)."""

    def __init__(self, db: Database, strategy_for: Callable[[str], Strategy] | None = None) -> None:
        self.db = db
        self.strategy_for = strategy_for  # symbol -> its strategy (None: naive)
        self._versions: dict[Key, int] = {}  # touched only in the database's worker thread
        self._specs: dict[int, str] = {}  # id(strategy) -> the name stored with its states
        self.risk_for: Callable[[str], SymbolRisk | None] | None = None  # symbol -> its book
        self._risk_written: dict[str, dict[str, Any] | None] = {}  # worker thread only
        self._risk_tasks: set[asyncio.Task[None]] = set()
        self.fence_for: Callable[[str], Fence] | None = None  # cluster: symbol -> its fence

    def keep_risk(self, books: dict[str, SymbolRisk]) -> None:
        """Keep the durable part of these risk books (a live node's `ctx.risk`, a
        `RiskBooks`; a plain dict has no hook to set)."""
        if isinstance(books, RiskBooks):
            self.risk_for = books.get
            books.on_change = self.risk_changed

    async def save(self, state: TraderState) -> None:
        """Write the state and its orders durably; `StaleVersion` if another writer won."""
        risk = None if self.risk_for is None else self.risk_for(state.symbol)
        extra: RiskWrite | None = None
        if risk is not None:
            realised = cycle_realised(state, risk.fee) if state.phase == "done" else None
            extra = (realised, risk.durable())
        fence = self._fence(state.symbol)
        await self.db.call(self._save, state, self.document(state), extra, fence)

    def _fence(self, symbol: str) -> Fence | None:
        """The fence writes of `symbol` must pass (None: no cluster); `FencedError` when
        this node does not hold the symbol at all."""
        return None if self.fence_for is None else self.fence_for(symbol)

    def document(self, state: Any) -> dict[str, Any]:
        """The JSON document stored for `state`: its strategy's `dump_state`, and the
        strategy's name (for any strategy but naive)."""
        strategy = load_strategy() if self.strategy_for is None else self.strategy_for(state.symbol)
        spec = self._specs.get(id(strategy))
        if spec is None:
            spec = self._specs[id(strategy)] = strategy_spec(strategy)
        return dump(strategy, spec, state)

    async def strategies(self, symbol: str) -> set[str]:
        """The strategies whose traders of `symbol` are stored (a symbol must not switch to
        another while they are)."""

        def read(session: Session) -> set[str]:
            query = select(TraderStateRow.state).where(TraderStateRow.symbol == symbol)
            return {spec_of(document) for document in session.scalars(query)}

        return await self.db.run(read)

    async def remove(self, symbol: str, trader_id: str) -> None:
        await self.db.call(self._remove, symbol, trader_id, self._fence(symbol))

    async def load(self, symbol: str) -> list[TraderState]:
        """The symbol's live traders in first-start order (by trader number); with the risk
        books kept, the symbol's book (if `max_loss` is on) takes back its realised PnL and
        halt, read in the same transaction."""
        risk = None if self.risk_for is None else self.risk_for(symbol)
        states, kept = await self.db.call(self._load, symbol, risk is not None)
        if risk is not None and kept is not None:
            realised, book = kept
            if book is None:
                risk.restore(realised, None, None)
            else:
                risk.restore(realised, book["limits"], book["halted"])
            if risk.durable() != book:  # other limits now (or never written): say so
                await self.db.call(self._put_risk, symbol, risk.durable(), self._fence(symbol))
        return states

    def risk_changed(self, symbol: str, risk: SymbolRisk | None) -> None:
        """The book's hook (in the event loop): a halt or new limits (`risk`), or the book
        forgotten (None), written on its own in the background. Should it fail, the next
        state stored of the symbol writes it."""
        durable = None if risk is None else risk.durable()
        task = asyncio.get_running_loop().create_task(self._write_risk(symbol, durable))
        self._risk_tasks.add(task)
        task.add_done_callback(self._risk_tasks.discard)

    async def drain(self) -> None:
        """Wait for the risk book writes under way (tests; a node before it closes)."""
        while self._risk_tasks:
            await asyncio.gather(*self._risk_tasks, return_exceptions=True)

    async def _write_risk(self, symbol: str, durable: dict[str, Any] | None) -> None:
        try:
            await self.db.call(self._put_risk, symbol, durable, self._fence(symbol))
        except (StoreUnavailable, RuntimeError) as exc:  # RuntimeError: the database closed
            log.warning("%s: cannot record its risk book yet (%s)", symbol, exc)

    async def next_trader_number(self, symbol: str) -> int:
        return await self.db.run(lambda session: _next_number(session, symbol))

    def version(self, symbol: str, trader_id: str) -> int | None:
        """The version of the trader's row that this store last read or wrote."""
        return self._versions.get((symbol, trader_id))

    # -- in the worker thread --------------------------------------------------------------
    def _save(
        self,
        state: TraderState,
        document: dict[str, Any],
        extra: RiskWrite | None,
        fence: Fence | None = None,
    ) -> None:
        key = (state.symbol, state.trader_id)
        expected = self._versions.get(key)
        with self.db.transaction() as session:
            if fence is not None:
                check_fence(session, fence)  # before the intent: a fenced node writes nothing
            if expected is None:
                _insert_state(session, state, document)
                dropped: set[str] = set()
                version = 1
            else:
                row = session.scalar(
                    select(TraderStateRow)
                    .where(TraderStateRow.symbol == key[0], TraderStateRow.trader_id == key[1])
                    .with_for_update()
                )
                if row is None or row.version != expected:
                    found = "was removed" if row is None else f"is at version {row.version}"
                    raise StaleVersion(
                        f"{state.symbol} trader {state.trader_id}: its stored state {found}, "
                        f"not version {expected}; another writer (a second node on this "
                        "database?) changed it"
                    )
                dropped = {str(o.get("client_order_id")) for o in _orders_of(row.state)}
                version = expected + 1
                session.execute(
                    update(TraderStateRow)
                    .where(TraderStateRow.id == row.id, TraderStateRow.version == expected)
                    .values(
                        state=document, number=state.number, version=version, updated_at=utcnow()
                    )
                )
            for ref in (state.buy, state.sell):
                if ref is not None:
                    dropped.discard(ref.client_order_id)
                    write_order(session, ref_values(state.symbol, state.trader_id, ref))
            for client_order_id in sorted(dropped):
                close_dropped(session, client_order_id)
            book = None
            if extra is not None:
                realised, durable = extra
                if realised is not None:
                    risk_rows.write_realised(session, state.symbol, state.trader_id, realised)
                if self._risk_written.get(state.symbol) != durable:
                    risk_rows.write_book(session, state.symbol, durable)
                    book = durable
        self._versions[key] = version  # committed: from now on this is the version to expect
        if book is not None:
            self._risk_written[state.symbol] = book

    def _put_risk(
        self, symbol: str, durable: dict[str, Any] | None, fence: Fence | None = None
    ) -> None:
        if symbol in self._risk_written and self._risk_written[symbol] == durable:
            return  # written already (with a trader's state, or forgotten already)
        with self.db.transaction() as session:
            if fence is not None:
                check_fence(session, fence)
            if durable is None:
                risk_rows.forget(session, symbol)
            else:
                risk_rows.write_book(session, symbol, durable)
        self._risk_written[symbol] = durable

    def _remove(self, symbol: str, trader_id: str, fence: Fence | None = None) -> None:
        with self.db.transaction() as session:
            if fence is not None:
                check_fence(session, fence)
            session.execute(
                delete(TraderStateRow).where(
                    TraderStateRow.symbol == symbol, TraderStateRow.trader_id == trader_id
                )
            )
        self._versions.pop((symbol, trader_id), None)

    def _load(
        self, symbol: str, with_risk: bool = False
    ) -> tuple[list[TraderState], tuple[dict[str, Decimal], dict[str, Any] | None] | None]:
        kept = None
        with self.db.transaction() as session:
            rows = session.scalars(
                select(TraderStateRow)
                .where(TraderStateRow.symbol == symbol)
                .order_by(TraderStateRow.number, TraderStateRow.id)
            ).all()
            loaded: list[tuple[TraderState, int]] = []
            for row in rows:
                try:
                    loaded.append((load(row.state), row.version))
                except CorruptRow as exc:
                    raise CorruptRow(
                        f"trader_states row {row.symbol}/{row.trader_id}: column state: {exc}"
                    ) from None
            if with_risk:
                kept = risk_rows.read(session, symbol)
        for state, version in loaded:
            self._versions[(state.symbol, state.trader_id)] = version
        if kept is not None and kept[1] is not None:
            self._risk_written[symbol] = kept[1]
        return [state for state, _ in loaded], kept


def _insert_state(session: Session, state: TraderState, document: dict[str, object]) -> None:
    existing = session.scalar(
        select(TraderStateRow.version).where(
            TraderStateRow.symbol == state.symbol, TraderStateRow.trader_id == state.trader_id
        )
    )
    if existing is not None:
        raise StaleVersion(
            f"{state.symbol} trader {state.trader_id}: a state (version {existing}) is stored "
            "that this store never loaded; load the symbol first, or another writer (a second "
            "node on this database?) is trading it"
        )
    session.add(
        TraderStateRow(
            symbol=state.symbol,
            trader_id=state.trader_id,
            number=state.number,
            state=document,
            version=1,
        )
    )
    session.flush()


def _orders_of(document: object) -> list[dict[str, object]]:
    if not isinstance(document, dict):
        return []
    return [o for o in (document.get("buy"), document.get("sell")) if isinstance(o, dict)]


def _next_number(session: Session, symbol: str) -> int:
    counter = session.get(TraderCounterRow, symbol, with_for_update=True)
    if counter is None:
        highest = session.scalar(
            select(func.max(TraderStateRow.number)).where(TraderStateRow.symbol == symbol)
        )
        number = (highest or 0) + 1
        session.add(TraderCounterRow(symbol=symbol, next_number=number + 1))
        session.flush()
        return number
    number = counter.next_number
    counter.next_number = number + 1
    return number
