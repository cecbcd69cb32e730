"""An index for finding a subject's findings whatever their status.

The partial unique index on open findings cannot serve the open-finding look-up once PostgreSQL switches
a prepared statement to its generic plan (`status = $4` does not prove `status = 'open'`), which then
scanned the whole table for every consumed problem.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_finding_subject", "finding", ["subject_kind", "subject_id", "code"])


def downgrade() -> None:
    op.drop_index("ix_finding_subject", table_name="finding")
