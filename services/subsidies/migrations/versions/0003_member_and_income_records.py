"""Keep added members (to count each once) and every project income received, distributed or not.

Incomes distributed before this revision get their receipt from their allocations; an income that found no
household before it was never stored, so it cannot be recovered here.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from shared.timeutil import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "addedmember",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), nullable=False, index=True),
    )
    op.create_table(
        "incomereceipt",
        sa.Column("income_id", sa.Uuid(), primary_key=True),
        sa.Column("project_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("household_count", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("distributed_at", UTCDateTime(), nullable=True),
    )
    op.execute(
        "INSERT INTO incomereceipt"
        " (income_id, project_id, period, amount_fen, status, household_count, received_at, distributed_at)"
        " SELECT income_id, project_id, period, SUM(amount_fen), 'distributed', COUNT(*),"
        " MIN(allocated_at), MIN(allocated_at)"
        " FROM incomeallocation GROUP BY income_id, project_id, period"
    )


def downgrade() -> None:
    op.drop_table("incomereceipt")
    op.drop_table("addedmember")
