"""Outbox rows record the transaction that wrote them, so the relay can tell rows committed while it read.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from alembic import op

from shared.migrations import add_outbox_transaction_id

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_transaction_id()


def downgrade() -> None:
    op.drop_column("outbox", "txid")
