"""Who rejected a distribution plan, when and why, in columns of their own beside the reviewer's and approver's.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from shared.timeutil import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("distributionplan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rejected_by", sa.String(100), nullable=True))
        batch_op.add_column(sa.Column("rejected_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("rejection_note", sa.String(1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("distributionplan", schema=None) as batch_op:
        for column in ("rejection_note", "rejected_at", "rejected_by"):
            batch_op.drop_column(column)
