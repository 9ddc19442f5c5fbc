"""The database tables, as SQLAlchemy 2 typed declarative models.

Money (prices, quantities, budgets, intervals) is stored as text: the Decimal's exact digits,
written with `dec_text` and read with `parse_dec`. SQLite has no decimal type (SQLAlchemy's
`Numeric` goes through float there), and text round-trips exactly on every engine. Values are
parsed in the repositories, not in column types, so a value edited by hand into nonsense makes
only its own row fail, with an error that names the row and the column.

Timestamps are timezone-aware UTC (`UTCDateTime`); trade times are epoch milliseconds, as the
exchange sends them. The schema itself is created by the Alembic migrations in `migrations/`;
a test checks that they match these models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hedgehog.store.errors import CorruptRow

SYMBOL = 20  # Binance symbols are at most 20 characters (see `normalize_symbol`)
NAME = 64  # trader ids, client order ids (<= 36), topics
STRATEGY = 200  # a strategy's name, or the `package.module:Class` that finds it
TRADING_STATUSES = ("on", "off", "shutdown")
SWITCH_STATUSES = ("on", "off")


def utcnow() -> datetime:
    return datetime.now(UTC)


def dec_text(value: Decimal) -> str:
    """The exact digits of a Decimal, without an exponent (1E-8 -> "0.00000001")."""
    return format(value, "f")


def parse_dec(text: object, where: str) -> Decimal:
    """Read a stored Decimal back; `CorruptRow` naming `where` if it is not a finite number."""
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError):
        raise CorruptRow(f"{where} holds {text!r}, which is not a number") from None
    if not value.is_finite():
        raise CorruptRow(f"{where} holds {text!r}, which is not a finite number")
    return value


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every engine (SQLite stores them without a zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - a driver returning text
            value = datetime.fromisoformat(str(value))
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TradingSettingsRow(Timestamps, Base):
    """The book's `settings` table: which strategy trades one symbol, and how. `strategy` is
    what `load_strategy` takes ("naive", "grid", `package.module:Class`); `params` its settings
    as `as_dict()` gives them (JSON, decimals as strings), read back by `parse_settings`."""

    __tablename__ = "trading_settings"
    __table_args__ = (CheckConstraint(_in("status", TRADING_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(SYMBOL), unique=True)
    strategy: Mapped[str] = mapped_column(String(STRATEGY))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8))


class StreamingSettingsRow(Timestamps, Base):
    """Which symbols' trade streams run (and restart at boot)."""

    __tablename__ = "streaming_settings"
    __table_args__ = (CheckConstraint(_in("status", SWITCH_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(SYMBOL), unique=True)
    status: Mapped[str] = mapped_column(String(8))


class WarehouseSubscriptionRow(Timestamps, Base):
    """Which pub/sub topics the data warehouse records."""

    __tablename__ = "warehouse_subscriptions"
    __table_args__ = (CheckConstraint(_in("status", SWITCH_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(NAME), unique=True)
    status: Mapped[str] = mapped_column(String(8))


class TraderStateRow(Timestamps, Base):
    """A live trader's whole `TraderState` (JSON, Decimals as strings), optimistically locked."""

    __tablename__ = "trader_states"
    __table_args__ = (
        UniqueConstraint("symbol", "trader_id"),
        Index(None, "symbol", "number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(SYMBOL))
    trader_id: Mapped[str] = mapped_column(String(NAME))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)


class TraderCounterRow(Base):
    """The next trader number of a symbol (numbers are never handed out twice)."""

    __tablename__ = "trader_counters"

    symbol: Mapped[str] = mapped_column(String(SYMBOL), primary_key=True)
    next_number: Mapped[int] = mapped_column(Integer)


class OrderRow(Timestamps, Base):
    """The order ledger, keyed by client order id: traders' intents (PENDING) and exchange
    states, and the orders the warehouse records."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(_in("side", ("BUY", "SELL")), name="side"),
        Index(None, "symbol", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(NAME), unique=True)
    exchange_order_id: Mapped[int | None] = mapped_column(BigInteger)
    symbol: Mapped[str] = mapped_column(String(SYMBOL))
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[str] = mapped_column(String)
    quantity: Mapped[str] = mapped_column(String)
    executed_qty: Mapped[str] = mapped_column(String)
    cumulative_quote_qty: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String(16))
    trader_id: Mapped[str | None] = mapped_column(String(NAME))
    # time.time_ns() in the transaction that commits a trader's intent (the row's first write,
    # status PENDING), taken just before its commit: the chaos checker compares it with the
    # time the exchange received the order (the same machine's clock)
    intent_committed_at_ns: Mapped[int | None] = mapped_column(BigInteger)


class TradeEventRow(Base):
    """Recorded public trades (the warehouse), for `backtest --from-db`."""

    __tablename__ = "trade_events"
    __table_args__ = (Index(None, "symbol", "trade_time", "trade_id"),)

    symbol: Mapped[str] = mapped_column(String(SYMBOL), primary_key=True)
    trade_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    price: Mapped[str] = mapped_column(String)
    quantity: Mapped[str] = mapped_column(String)
    trade_time: Mapped[int] = mapped_column(BigInteger)
    buyer_market_maker: Mapped[bool] = mapped_column(Boolean)


metadata = Base.metadata


class RiskBookRow(Timestamps, Base):
    """A symbol's risk book, its durable part (issue 13): the limits it is judged under
    (`{"max_loss", "fee", "halt_cancels_buys"}`, Decimals as text) and its halt (`{trade_id,
    time, price, pnl, reason}`, null while not halted). The realised PnL is in
    `risk_realised`."""

    __tablename__ = "risk_books"

    symbol: Mapped[str] = mapped_column(String(SYMBOL), primary_key=True)
    limits: Mapped[dict[str, Any]] = mapped_column(JSON)
    halted: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class RiskRealisedRow(Base):
    """The realised PnL of one completed cycle (a trader whose state reached "done"), written
    in the transaction that stores that state; keyed by trader id, so a completion stored
    again (replayed after a crash) is counted once."""

    __tablename__ = "risk_realised"

    symbol: Mapped[str] = mapped_column(String(SYMBOL), primary_key=True)
    trader_id: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    pnl: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClusterNodeRow(Base):
    """A node of a cluster (issue 15): when it started and last said it was alive (the
    database's clock). Nodes whose heartbeat is within the lease ttl count as live."""

    __tablename__ = "cluster_nodes"

    cluster: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    node: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    info: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class SymbolLeaseRow(Base):
    """Who trades a symbol of a cluster: the holding node, its fencing epoch (only grows)
    and when its lease expires (the database's clock). See `hedgehog.store.leases`."""

    __tablename__ = "symbol_leases"

    cluster: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(SYMBOL), primary_key=True)
    node: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    epoch: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LeaseEventRow(Base):
    """The failover log: a lease acquired, taken over once expired, released, rebalanced."""

    __tablename__ = "lease_events"
    __table_args__ = (Index(None, "cluster", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster: Mapped[str] = mapped_column(String(NAME))
    symbol: Mapped[str] = mapped_column(String(SYMBOL))
    from_node: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    to_node: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    epoch: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(20))
