"""Outbox rows record the transaction that wrote them, so the relay can tell rows committed while it read.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from alembic import op

from shared.migrations import add_outbox_transaction_id

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_transaction_id()


def downgrade() -> None:
    op.drop_column("outbox", "txid")
