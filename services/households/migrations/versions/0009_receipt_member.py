"""A subsidy payment's receipt keeps the member it was paid for (a member's programme), so that a payment for a
period after the member's death is found (数据比对). Receipts recorded before this name no member.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("transferreceipt", sa.Column("member_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_transferreceipt_member_id"), "transferreceipt", ["member_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_transferreceipt_member_id"), table_name="transferreceipt")
    with op.batch_alter_table("transferreceipt") as batch:
        batch.drop_column("member_id")
