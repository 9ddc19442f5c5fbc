"""The risk book's durable part (issue 13): `risk_books` (a symbol's limits and its halt) and
`risk_realised` (the realised PnL of each completed cycle, by trader id), so a node restarted
from its database keeps the realised PnL and the halt. New tables only: existing rows are
untouched; the downgrade drops them (an older hedgehog recomputes from the stored positions).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "risk_books",
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("halted", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("symbol", name=op.f("pk_risk_books")),
    )
    op.create_table(
        "risk_realised",
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("trader_id", sa.String(length=64), nullable=False),
        sa.Column("pnl", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "trader_id", name=op.f("pk_risk_realised")),
    )


def downgrade() -> None:
    op.drop_table("risk_realised")
    op.drop_table("risk_books")
