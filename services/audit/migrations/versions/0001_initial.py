"""Findings, rectification tasks, discipline referrals; outbox and inbox.

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
        "finding",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("area_code", sa.String(12), nullable=False, index=True),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("code", sa.String(60), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("source_ref", sa.String(64), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "uq_finding_open_subject_code",
        "finding",
        ["subject_kind", "subject_id", "code"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "rectificationtask",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("finding_id", sa.Uuid(), sa.ForeignKey("finding.id"), nullable=False, unique=True),
        sa.Column("owner", sa.String(100), nullable=False, index=True),
        sa.Column("deadline", UTCDateTime(), nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "disciplinereferral",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("finding_id", sa.Uuid(), sa.ForeignKey("finding.id"), nullable=False, index=True),
        sa.Column("reason", sa.String(60), nullable=False),
        sa.Column("referred_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("disciplinereferral", "rectificationtask", "finding", "inbox", "outbox"):
        op.drop_table(table)
