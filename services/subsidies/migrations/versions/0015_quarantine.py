"""Records the Kafka client cannot unpack are quarantined with their raw bytes, and the partition moves on.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from alembic import op

from shared.migrations import create_quarantine_table

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_quarantine_table()


def downgrade() -> None:
    op.drop_table("quarantined_record")
