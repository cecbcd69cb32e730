"""Keep entitlements from households' events and record coverage checks (政策落实覆盖核查) with their gaps.

Entitlements start empty: they fill as households' allowance, disability and schooling events arrive.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from shared.timeutil import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entitlement",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("policy_code", sa.String(60), nullable=False, index=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("household_id", "member_id", "policy_code", name="uq_entitlement_household_member_policy"),
    )
    op.create_table(
        "coveragecheck",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("policy_code", sa.String(60), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("area_code", sa.String(12), nullable=True),
        sa.Column("checked_by", sa.String(100), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.Column("entitled_count", sa.Integer(), nullable=False),
        sa.Column("gap_count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "coveragegap",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("check_id", sa.Uuid(), sa.ForeignKey("coveragecheck.id"), nullable=False, index=True),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("area_code", sa.String(12), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("coveragegap")
    op.drop_table("coveragecheck")
    op.drop_table("entitlement")
