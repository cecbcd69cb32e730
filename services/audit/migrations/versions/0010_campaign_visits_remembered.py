"""Visits audit heard of are kept (HouseholdVisit), so that a campaign opened after its round's visits began counts them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _create_householdvisit()


def _create_householdvisit() -> None:
    op.create_table(
        "householdvisit",
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("area_code", sa.String(length=12), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("visit_id"),
    )
    op.create_index("ix_householdvisit_round_day", "householdvisit", ["round", "visited_on"], unique=False)


def downgrade() -> None:
    op.drop_table("householdvisit")
