"""A member's death (死亡注销) is recorded on the member, who is kept; money that reaches a household through
subsidies (subsidies paid, project-income shares) is kept per payment or allocation, counted in its year's income.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

from shared.timeutil import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_FEN = sa.BigInteger()


def upgrade() -> None:
    op.add_column("member", sa.Column("died_on", sa.Date(), nullable=True))
    op.add_column("member", sa.Column("death_source", sa.String(100), nullable=True))
    op.create_table(
        "transferreceipt",
        sa.Column("receipt_id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), sa.ForeignKey("household.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("policy_code", sa.String(100), nullable=True),
        sa.Column("period", sa.String(7), nullable=True),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("paid_fen", _FEN, nullable=True),
        sa.Column("corrected_fen", _FEN, nullable=False),
        sa.Column("counted_fen", _FEN, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_transferreceipt_household_year", "transferreceipt", ["household_id", "year"])


def downgrade() -> None:
    op.drop_index("ix_transferreceipt_household_year", table_name="transferreceipt")
    op.drop_table("transferreceipt")
    with op.batch_alter_table("member") as batch:
        batch.drop_column("death_source")
        batch.drop_column("died_on")
