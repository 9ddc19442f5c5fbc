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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from hedgehog.naive.strategy import TraderState
from hedgehog.store.db import Database
from hedgehog.store.errors import CorruptRow, StaleVersion
from hedgehog.store.models import TraderCounterRow, TraderStateRow, utcnow
from hedgehog.store.orders import close_dropped, ref_values, write_order
from hedgehog.store.serde import dump, load, spec_of, strategy_spec
from hedgehog.strategy.protocol import Strategy
from hedgehog.strategy.registry import load_strategy

Key = tuple[str, str]  # (symbol, trader id)


class SqlTraderStore:
    """Trader states in the database (implements `hedgehog.naive.store.TraderStore`)."""

    def __init__(self, db: Database, strategy_for: Callable[[str], Strategy] | None = None) -> None:
        self.db = db
        self.strategy_for = strategy_for  # symbol -> its strategy (None: naive)
        self._versions: dict[Key, int] = {}  # touched only in the database's worker thread
        self._specs: dict[int, str] = {}  # id(strategy) -> the name stored with its states

    async def save(self, state: TraderState) -> None:
        """Write the state and its orders durably; `StaleVersion` if another writer won."""
        await self.db.call(self._save, state, self.document(state))

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
        await self.db.call(self._remove, symbol, trader_id)

    async def load(self, symbol: str) -> list[TraderState]:
        """The symbol's live traders in first-start order (by trader number)."""
        return await self.db.call(self._load, symbol)

    async def next_trader_number(self, symbol: str) -> int:
        return await self.db.run(lambda session: _next_number(session, symbol))

    def version(self, symbol: str, trader_id: str) -> int | None:
        """The version of the trader's row that this store last read or wrote."""
        return self._versions.get((symbol, trader_id))

    # -- in the worker thread --------------------------------------------------------------
    def _save(self, state: TraderState, document: dict[str, Any]) -> None:
        key = (state.symbol, state.trader_id)
        expected = self._versions.get(key)
        with self.db.transaction() as session:
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
        self._versions[key] = version  # committed: from now on this is the version to expect

    def _remove(self, symbol: str, trader_id: str) -> None:
        with self.db.transaction() as session:
            session.execute(
                delete(TraderStateRow).where(
                    TraderStateRow.symbol == symbol, TraderStateRow.trader_id == trader_id
                )
            )
        self._versions.pop((symbol, trader_id), None)

    def _load(self, symbol: str) -> list[TraderState]:
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
        for state, version in loaded:
            self._versions[(state.symbol, state.trader_id)] = version
        return [state for state, _ in loaded]


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
