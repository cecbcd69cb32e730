"""Eligible households, project areas, income allocations, payments; outbox and inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from shared.migrations import create_messaging_tables
from shared.timeutil import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "eligiblehousehold",
        sa.Column("household_id", sa.Uuid(), primary_key=True),
        sa.Column("area_code", sa.String(12), nullable=False, index=True),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "projectarea",
        sa.Column("project_id", sa.Uuid(), primary_key=True),
        sa.Column("area_code", sa.String(12), nullable=False),
    )
    op.create_table(
        "incomeallocation",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("income_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("project_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("household_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("allocated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("income_id", "household_id", name="uq_incomeallocation_income_household"),
    )
    op.create_table(
        "payment",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("policy_code", sa.String(60), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False, unique=True),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(12), nullable=False),
        sa.Column("paid_by", sa.String(100), nullable=False),
        sa.Column("paid_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("household_id", "policy_code", "period", name="uq_payment_household_policy_period"),
    )


def downgrade() -> None:
    for table in ("payment", "incomeallocation", "projectarea", "eligiblehousehold", "inbox", "outbox"):
        op.drop_table(table)
