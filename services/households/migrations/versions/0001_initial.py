"""Households, members, visits, problems found, open problems; outbox and inbox.

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
        "household",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("household_code", sa.String(32), nullable=False, unique=True),
        sa.Column("area_code", sa.String(12), nullable=False, index=True),
        sa.Column("head_name", sa.String(100), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "member",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), sa.ForeignKey("household.id"), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("relationship_to_head", sa.String(30), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
    )
    op.create_table(
        "visit",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), sa.ForeignKey("household.id"), nullable=False, index=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("visitor", sa.String(100), nullable=False),
        sa.Column("observations", sa.String(4000), nullable=False),
        sa.Column("housing_grade", sa.String(1)),
    )
    op.create_table(
        "visitproblem",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("visit_id", sa.Uuid(), sa.ForeignKey("visit.id"), nullable=False, index=True),
        sa.Column("household_id", sa.Uuid(), sa.ForeignKey("household.id"), nullable=False, index=True),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("code", sa.String(60), nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
    )
    op.create_table(
        "openproblem",
        sa.Column("finding_id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("code", sa.String(60), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("rectification_deadline", UTCDateTime()),
        sa.Column("referred", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("openproblem", "visitproblem", "visit", "member", "household", "inbox", "outbox"):
        op.drop_table(table)
