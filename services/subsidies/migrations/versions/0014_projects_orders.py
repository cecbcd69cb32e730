"""Subsidies pays what projects decided: an approved distribution plan (收益分配方案) or payroll of public-welfare posts
(公益岗位工资表) becomes a cycle approved already (`origin` projects), one per plan (`order_ref` the plan's id) and one
payroll a month; payments carry their cycle's `order_ref`, so a household may be paid its shares of two plans of one
month. The two programmes enter the catalogue as decided by projects (`decided_by`), each with one version (amount
0, no rule: the amounts and holders are the plan's or the payroll's). Project income is no longer shared out here:
the project areas, income receipts and allocations go.

Existing cycles, payments and programmes are the catalogue's (`origin`/`decided_by` 'catalogue', `order_ref` '').

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

from datetime import UTC, date, datetime
from uuid import NAMESPACE_URL, uuid5

import sqlalchemy as sa
from alembic import op

import shared.timeutil

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

PAID = sa.text("status = 'paid'")
SEEDED_BY = "catalogue-seed"
SEEDED_AT = datetime(2020, 1, 1, tzinfo=UTC)
DECIDED = {
    "project_income_share": ("资产收益分配 (项目收益)", "household", "项目资产收益 (村集体、乡镇所有)"),
    "public_welfare_job_subsidy": ("公益性岗位补贴", "member", "公益性岗位补贴资金"),
}
REASON = "paid as projects approved it: the holders and amounts are the plan's or the payroll's"

programme = sa.table(
    "programme",
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("unit", sa.String),
    sa.column("frequency", sa.String),
    sa.column("funding_source", sa.String),
    sa.column("decided_by", sa.String),
    sa.column("created_by", sa.String),
    sa.column("created_at", shared.timeutil.UTCDateTime()),
)
version = sa.table(
    "programmeversion",
    sa.column("id", sa.Uuid),
    sa.column("programme_code", sa.String),
    sa.column("version", sa.Integer),
    sa.column("effective_from", sa.Date),
    sa.column("amount_fen", sa.BigInteger),
    sa.column("per_member", sa.Boolean),
    sa.column("rule", sa.JSON),
    sa.column("reason", sa.String),
    sa.column("created_by", sa.String),
    sa.column("created_at", shared.timeutil.UTCDateTime()),
)


def upgrade() -> None:
    for table in ("incomeallocation", "incomereceipt", "projectarea"):
        op.drop_table(table)
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_by", sa.String(20), nullable=False, server_default="catalogue"))
    with op.batch_alter_table("cycle", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(20), nullable=False, server_default="catalogue"))
        batch_op.add_column(sa.Column("order_ref", sa.String(36), nullable=False, server_default=""))
        batch_op.drop_constraint("uq_cycle_programme_period", type_="unique")
        batch_op.create_unique_constraint("uq_cycle_programme_period", ["programme_code", "period", "order_ref"])
    op.drop_index("uq_payment_paid_holder_policy_period", table_name="payment")
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_ref", sa.String(36), nullable=False, server_default=""))
    _paid_once(["household_id", "holder_key", "policy_code", "period", "order_ref"])
    _seed_decided_programmes()


def _paid_once(columns: list[str]) -> None:
    op.create_index(
        "uq_payment_paid_holder_policy_period",
        "payment",
        columns,
        unique=True,
        postgresql_where=PAID,
        sqlite_where=PAID,
    )


def _seed_decided_programmes() -> None:
    """The two programmes, unless the district office entered them before (they keep their name and versions), all
    marked decided by projects."""
    present = set(op.get_bind().scalars(sa.select(programme.c.code)).all())
    missing = [code for code in DECIDED if code not in present]
    if missing:
        op.bulk_insert(programme, [_programme(code) for code in missing])
        op.bulk_insert(version, [_version(code) for code in missing])
    op.execute(programme.update().where(programme.c.code.in_(list(DECIDED))).values(decided_by="projects"))


def _programme(code: str) -> dict[str, object]:
    name, unit, source = DECIDED[code]
    return {
        "code": code,
        "name": name,
        "unit": unit,
        "frequency": "monthly",
        "funding_source": source,
        "decided_by": "projects",
        "created_by": SEEDED_BY,
        "created_at": SEEDED_AT,
    }


def _version(code: str) -> dict[str, object]:
    return {
        "id": uuid5(NAMESPACE_URL, f"urn:poverty:subsidies:programme:{code}:version:1"),
        "programme_code": code,
        "version": 1,
        "effective_from": date(2020, 1, 1),
        "amount_fen": 0,
        "per_member": False,
        "rule": [],
        "reason": REASON,
        "created_by": SEEDED_BY,
        "created_at": SEEDED_AT,
    }


def downgrade() -> None:
    """Fails, as it should, once two plans of one programme and month have cycles, or a holder paid by two."""
    op.execute(version.delete().where(version.c.programme_code.in_(list(DECIDED)), version.c.created_by == SEEDED_BY))
    op.execute(
        programme.delete().where(
            programme.c.code.in_(list(DECIDED)), ~sa.exists().where(version.c.programme_code == programme.c.code)
        )
    )
    op.drop_index("uq_payment_paid_holder_policy_period", table_name="payment")
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_column("order_ref")
    _paid_once(["household_id", "holder_key", "policy_code", "period"])
    with op.batch_alter_table("cycle", schema=None) as batch_op:
        batch_op.drop_constraint("uq_cycle_programme_period", type_="unique")
        batch_op.create_unique_constraint("uq_cycle_programme_period", ["programme_code", "period"])
        batch_op.drop_column("order_ref")
        batch_op.drop_column("origin")
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.drop_column("decided_by")
    _income_tables()


def _income_tables() -> None:
    """The project-income tables as 0003 left them (empty)."""
    op.create_table(
        "projectarea",
        sa.Column("project_id", sa.Uuid(), primary_key=True),
        sa.Column("area_code", sa.String(12), nullable=False),
    )
    op.create_table(
        "incomereceipt",
        sa.Column("income_id", sa.Uuid(), primary_key=True),
        sa.Column("project_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("household_count", sa.Integer(), nullable=False),
        sa.Column("received_at", shared.timeutil.UTCDateTime(), nullable=False),
        sa.Column("distributed_at", shared.timeutil.UTCDateTime(), nullable=True),
    )
    op.create_table(
        "incomeallocation",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("income_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("project_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("household_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("allocated_at", shared.timeutil.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("income_id", "household_id", name="uq_incomeallocation_income_household"),
    )
