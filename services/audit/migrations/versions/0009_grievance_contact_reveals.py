"""Grievances: who opened a complainant's contact, when and why (the reveal log), and the finding a grievance's missed
reply deadline opened (so the deadline check opens it once per grievance).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from shared.timeutil import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grievancecontactreveal",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grievance_id", sa.Uuid(), nullable=False),
        sa.Column("revealed_by", sa.String(length=100), nullable=False),
        sa.Column("revealed_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["grievance_id"], ["grievance.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_grievancecontactreveal_grievance_id"), "grievancecontactreveal", ["grievance_id"], unique=False
    )
    with op.batch_alter_table("grievance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unanswered_finding_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key("fk_grievance_unanswered_finding_id", "finding", ["unanswered_finding_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("grievance", schema=None) as batch_op:
        batch_op.drop_constraint("fk_grievance_unanswered_finding_id", type_="foreignkey")
        batch_op.drop_column("unanswered_finding_id")
    op.drop_index(op.f("ix_grievancecontactreveal_grievance_id"), table_name="grievancecontactreveal")
    op.drop_table("grievancecontactreveal")
