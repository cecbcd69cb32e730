"""A payment is unique per entitlement, and per holder, policy and period, only while it is paid: an entitlement
whose payment the bank returned is paid again by a new payment of its own (the returned one stays reversed).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PAID = sa.text("status = 'paid'")


def upgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_constraint("uq_payment_holder_policy_period", type_="unique")
        batch_op.drop_constraint("uq_payment_entitlement", type_="unique")
    op.create_index(
        "uq_payment_paid_holder_policy_period",
        "payment",
        ["household_id", "holder_key", "policy_code", "period"],
        unique=True,
        postgresql_where=PAID,
        sqlite_where=PAID,
    )
    op.create_index(
        "uq_payment_paid_entitlement",
        "payment",
        ["entitlement_id"],
        unique=True,
        postgresql_where=PAID,
        sqlite_where=PAID,
    )


def downgrade() -> None:
    """Fails, as it should, once an entitlement or a holder's period has a reversed payment and a paid one."""
    op.drop_index("uq_payment_paid_entitlement", table_name="payment")
    op.drop_index("uq_payment_paid_holder_policy_period", table_name="payment")
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_payment_holder_policy_period", ["household_id", "holder_key", "policy_code", "period"]
        )
        batch_op.create_unique_constraint("uq_payment_entitlement", ["entitlement_id"])
