"""A subsidy payment's receipt keeps the cycle it was paid in, so that a cycle's approval arriving after its payments
(another partition, a lagging or replayed consumer) still checks them against the approver's relatives (优亲厚友).
Receipts recorded before this, and payments recorded by hand, name no cycle.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("transferreceipt", sa.Column("cycle_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_transferreceipt_cycle_id"), "transferreceipt", ["cycle_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_transferreceipt_cycle_id"), table_name="transferreceipt")
    with op.batch_alter_table("transferreceipt") as batch:
        batch.drop_column("cycle_id")
