"""A referral keeps the severity its finding had when it was made: a past week's package stays as handed over.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("disciplinereferral", sa.Column("severity", sa.String(20), nullable=True))
    # Referrals made before: the finding's severity now is the best record there is.
    op.execute(
        "UPDATE disciplinereferral SET severity = "
        "(SELECT finding.severity FROM finding WHERE finding.id = disciplinereferral.finding_id)"
    )
    with op.batch_alter_table("disciplinereferral") as batch:
        batch.alter_column("severity", existing_type=sa.String(20), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("disciplinereferral") as batch:
        batch.drop_column("severity")
