"""An entitlement keeps when it began and ended, so a coverage check judges each month by the entitlements of that
month, not by today's: a household entitled since June is not owed January, and one withdrawn in July was owed June.

Rows kept before carry the day they were recorded as their start: the earliest the service knew of them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = sa.text("ends_on IS NULL")


def upgrade() -> None:
    op.add_column("entitlement", sa.Column("starts_on", sa.Date(), nullable=True))
    op.add_column("entitlement", sa.Column("ends_on", sa.Date(), nullable=True))
    recorded_on = "substr(recorded_at, 1, 10)" if op.get_bind().dialect.name == "sqlite" else "recorded_at::date"
    op.execute(f"UPDATE entitlement SET starts_on = {recorded_on}")  # noqa: S608 - no input, a column expression
    with op.batch_alter_table("entitlement") as batch:
        batch.alter_column("starts_on", existing_type=sa.Date(), nullable=False)
        batch.drop_constraint("uq_entitlement_household_member_policy", type_="unique")
    # One open entitlement per member and policy; ended ones are history.
    op.create_index(
        "uq_entitlement_open",
        "entitlement",
        ["household_id", "member_id", "policy_code"],
        unique=True,
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.execute("DELETE FROM entitlement WHERE ends_on IS NOT NULL")
    op.drop_index("uq_entitlement_open", table_name="entitlement")
    with op.batch_alter_table("entitlement") as batch:
        batch.drop_column("ends_on")
        batch.drop_column("starts_on")
        batch.create_unique_constraint(
            "uq_entitlement_household_member_policy", ["household_id", "member_id", "policy_code"]
        )
