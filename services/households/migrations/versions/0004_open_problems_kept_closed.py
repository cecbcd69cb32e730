"""Open problems keep a closed one as closed (a late audit event must not reopen it), and apply changes in the
order of the events' own times.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("openproblem", sa.Column("closed", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.execute("DELETE FROM openproblem WHERE closed")
    with op.batch_alter_table("openproblem") as batch:
        batch.drop_column("closed")
