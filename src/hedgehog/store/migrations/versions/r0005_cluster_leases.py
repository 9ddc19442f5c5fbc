"""A cluster of nodes (issue 15): `cluster_nodes` (heartbeats), `symbol_leases` (who trades
each symbol, with a fencing epoch and an expiry on the database's clock) and `lease_events`
(the failover log). New tables only; the downgrade drops them.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "cluster_nodes",
        sa.Column("cluster", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("info", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("cluster", "node", name=op.f("pk_cluster_nodes")),
    )
    op.create_table(
        "symbol_leases",
        sa.Column("cluster", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=True),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cluster", "symbol", name=op.f("pk_symbol_leases")),
    )
    op.create_table(
        "lease_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("from_node", sa.String(length=64), nullable=True),
        sa.Column("to_node", sa.String(length=64), nullable=True),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lease_events")),
    )
    op.create_index(op.f("ix_lease_events_cluster_at"), "lease_events", ["cluster", "at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_lease_events_cluster_at"), table_name="lease_events")
    op.drop_table("lease_events")
    op.drop_table("symbol_leases")
    op.drop_table("cluster_nodes")
