"""Keep everyone who started a rectification task in any round (separation of duties at its follow-up check).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rectificationtask", sa.Column("starters", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("rectificationtask") as batch:
        batch.drop_column("starters")
