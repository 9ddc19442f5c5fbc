"""The initial schema: settings, switches, trader states, the order ledger, trade events.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "trading_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("budget", sa.String(), nullable=False),
        sa.Column("buy_down_interval", sa.String(), nullable=False),
        sa.Column("profit_interval", sa.String(), nullable=False),
        sa.Column("rebuy_interval", sa.String(), nullable=False),
        sa.Column("fee", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('on', 'off', 'shutdown')", name=op.f("ck_trading_settings_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_settings")),
        sa.UniqueConstraint("symbol", name=op.f("uq_trading_settings_symbol")),
    )
    op.create_table(
        "streaming_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("status IN ('on', 'off')", name=op.f("ck_streaming_settings_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_streaming_settings")),
        sa.UniqueConstraint("symbol", name=op.f("uq_streaming_settings_symbol")),
    )
    op.create_table(
        "warehouse_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('on', 'off')", name=op.f("ck_warehouse_subscriptions_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouse_subscriptions")),
        sa.UniqueConstraint("topic", name=op.f("uq_warehouse_subscriptions_topic")),
    )
    op.create_table(
        "trader_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("trader_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trader_states")),
        sa.UniqueConstraint("symbol", "trader_id", name=op.f("uq_trader_states_symbol_trader_id")),
    )
    op.create_index(op.f("ix_trader_states_symbol_number"), "trader_states", ["symbol", "number"])
    op.create_table(
        "trader_counters",
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", name=op.f("pk_trader_counters")),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("exchange_order_id", sa.BigInteger(), nullable=True),
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("price", sa.String(), nullable=False),
        sa.Column("quantity", sa.String(), nullable=False),
        sa.Column("executed_qty", sa.String(), nullable=False),
        sa.Column("cumulative_quote_qty", sa.String(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trader_id", sa.String(length=64), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("side IN ('BUY', 'SELL')", name=op.f("ck_orders_side")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_orders_client_order_id")),
    )
    op.create_index(op.f("ix_orders_symbol_status"), "orders", ["symbol", "status"])
    op.create_table(
        "trade_events",
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("trade_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("price", sa.String(), nullable=False),
        sa.Column("quantity", sa.String(), nullable=False),
        sa.Column("trade_time", sa.BigInteger(), nullable=False),
        sa.Column("buyer_market_maker", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "trade_id", name=op.f("pk_trade_events")),
    )
    op.create_index(
        op.f("ix_trade_events_symbol_trade_time_trade_id"),
        "trade_events",
        ["symbol", "trade_time", "trade_id"],
    )


def downgrade() -> None:
    for index, table in (
        ("ix_trade_events_symbol_trade_time_trade_id", "trade_events"),
        ("ix_orders_symbol_status", "orders"),
        ("ix_trader_states_symbol_number", "trader_states"),
    ):
        op.drop_index(op.f(index), table_name=table)
    for table in (
        "trade_events",
        "orders",
        "trader_counters",
        "trader_states",
        "warehouse_subscriptions",
        "streaming_settings",
        "trading_settings",
    ):
        op.drop_table(table)
