"""A bank result import counts the lines the bank reported paid a second time (duplicate disbursements, each kept as
a leak): imports made before count none.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bankresultimport", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_count", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("bankresultimport", schema=None) as batch_op:
        batch_op.drop_column("duplicate_count")
