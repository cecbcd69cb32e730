"""Open problems keep a closed one as closed (a late audit event must not reopen it), and apply changes in the
order of the events' own times.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("projectopenproblem", sa.Column("closed", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.execute("DELETE FROM projectopenproblem WHERE closed")
    with op.batch_alter_table("projectopenproblem") as batch:
        batch.drop_column("closed")
