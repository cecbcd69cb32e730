"""Index the inbox by age: retention deletes applied-event records once older than the topics keep events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from shared.migrations import create_inbox_age_index, drop_inbox_age_index

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_inbox_age_index()


def downgrade() -> None:
    drop_inbox_age_index()
