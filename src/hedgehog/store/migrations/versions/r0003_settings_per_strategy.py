"""Trading settings per strategy: `trading_settings` holds (symbol, strategy, params as JSON,
status) instead of the naive strategy's own columns.

Upgrade: every row becomes strategy "naive" with its columns as the parameters, as written
(`{"chunks": 5, "budget": "1000", ...}`; a value damaged by hand stays as it was, for the
repository to name). Downgrade: a naive row's parameters go back into the columns (a missing
one takes the default of the time); a row of another strategy cannot be said in the old
columns, so it gets the naive defaults and status off (the older hedgehog must not trade it).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

# frozen copies: the naive columns and their defaults as 0001 knew them
NAIVE = "naive"
DECIMALS = ("budget", "buy_down_interval", "profit_interval", "rebuy_interval", "fee")
COLUMNS = ("chunks", *DECIMALS)
DEFAULTS: dict[str, Any] = {
    "chunks": 5,
    "budget": "1000",
    "buy_down_interval": "0.0001",
    "profit_interval": "0.001",
    "rebuy_interval": "0.001",
    "fee": "0.001",
}
STRATEGY_LENGTH = 200  # "package.module:Class" names


def _table(*columns: sa.ColumnClause[Any]) -> sa.TableClause:
    return sa.table("trading_settings", sa.column("id", sa.Integer()), *columns)


def _naive_columns() -> list[sa.ColumnClause[Any]]:
    return [sa.column("chunks", sa.Integer()), *(sa.column(c, sa.String()) for c in DECIMALS)]


def upgrade() -> None:
    with op.batch_alter_table("trading_settings") as batch:
        batch.add_column(sa.Column("strategy", sa.String(STRATEGY_LENGTH), nullable=True))
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))
    bind = op.get_bind()
    old = _table(*_naive_columns())
    new = _table(sa.column("strategy", sa.String()), sa.column("params", sa.JSON()))
    rows = [
        {"row_id": row.id, "strategy": NAIVE, "params": {c: getattr(row, c) for c in COLUMNS}}
        for row in bind.execute(sa.select(old)).all()
    ]
    if rows:
        bind.execute(
            new.update()
            .where(new.c.id == sa.bindparam("row_id"))
            .values(strategy=sa.bindparam("strategy"), params=sa.bindparam("params")),
            rows,
        )
    with op.batch_alter_table("trading_settings") as batch:
        batch.alter_column("strategy", existing_type=sa.String(STRATEGY_LENGTH), nullable=False)
        batch.alter_column("params", existing_type=sa.JSON(), nullable=False)
        for column in COLUMNS:
            batch.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("trading_settings") as batch:
        batch.add_column(sa.Column("chunks", sa.Integer(), nullable=True))
        for column in DECIMALS:
            batch.add_column(sa.Column(column, sa.String(), nullable=True))
    bind = op.get_bind()
    current = _table(
        sa.column("strategy", sa.String()),
        sa.column("params", sa.JSON()),
        sa.column("status", sa.String()),
    )
    rows = []
    for row in bind.execute(sa.select(current)).all():
        params = row.params if isinstance(row.params, dict) else {}
        if row.strategy == NAIVE:
            values = {c: params.get(c, DEFAULTS[c]) for c in COLUMNS}
            status = row.status
        else:
            values, status = dict(DEFAULTS), "off"
        values = {c: _old_value(c, v) for c, v in values.items()}
        rows.append({"row_id": row.id, "status": status, **values})
    if rows:
        old = _table(*_naive_columns(), sa.column("status", sa.String()))
        bind.execute(
            old.update()
            .where(old.c.id == sa.bindparam("row_id"))
            .values({c: sa.bindparam(c) for c in (*COLUMNS, "status")}),
            rows,
        )
    with op.batch_alter_table("trading_settings") as batch:
        for column in COLUMNS:
            batch.alter_column(
                column,
                existing_type=sa.Integer() if column == "chunks" else sa.String(),
                nullable=False,
            )
        batch.drop_column("params")
        batch.drop_column("strategy")


def _old_value(column: str, value: Any) -> Any:
    """A parameter in its old column's type (chunks an integer when it is one, the rest text)."""
    if column == "chunks":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        return int(text) if text.lstrip("-").isdigit() else DEFAULTS["chunks"]
    return value if isinstance(value, str) else str(value)
