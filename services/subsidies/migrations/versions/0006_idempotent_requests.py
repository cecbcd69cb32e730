"""Creates made with an Idempotency-Key and the responses they gave, so a retried create is answered, not repeated.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from alembic import op

from shared.migrations import create_idempotency_table

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    op.drop_table("idempotent_request")
