"""Creates made with an Idempotency-Key and the responses they gave, so a retried create is answered, not repeated.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from alembic import op

from shared.migrations import create_idempotency_table

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    op.drop_table("idempotent_request")
