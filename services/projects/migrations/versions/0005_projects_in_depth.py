"""Projects in depth: funding lines and spending, the project's life (status history, milestones, acceptance,
insurance and maintenance contracts), assets and their income per asset, distribution plans with their shares and
set-asides, workshops with their workers and wages, public-welfare posts with holders, care pairings and payrolls,
problems found by acceptance and scheduled checks (with a severity), and the household roll plans are decided from.

Projects registered before this revision had no status and took income at once: they are marked `operating`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from shared.timeutil import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CHECKS = sa.text("origin = 'check'")


def upgrade() -> None:
    _create_fund_tables()
    _create_life_tables()
    _create_asset_tables()
    _create_work_tables()
    _create_roll_tables()
    _extend_existing_tables()


def _create_fund_tables() -> None:
    op.create_table(
        "fundallocation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("document_no", sa.String(length=100), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_fundallocation_source"), "fundallocation", ["source"], unique=False)
    op.create_index(op.f("ix_fundallocation_year"), "fundallocation", ["year"], unique=False)
    op.create_table(
        "projectfunding",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("allocation_id", sa.Uuid(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "allocation_id", name="uq_projectfunding_project_allocation"),
    )
    op.create_index(op.f("ix_projectfunding_allocation_id"), "projectfunding", ["allocation_id"], unique=False)
    op.create_index(op.f("ix_projectfunding_project_id"), "projectfunding", ["project_id"], unique=False)
    op.create_table(
        "projectspending",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("funding_id", sa.Uuid(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("voucher_no", sa.String(length=100), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_projectspending_funding_id"), "projectspending", ["funding_id"], unique=False)
    op.create_index(op.f("ix_projectspending_project_id"), "projectspending", ["project_id"], unique=False)


def _create_life_tables() -> None:
    op.create_table(
        "projectstatuschange",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=30), nullable=False),
        sa.Column("to_status", sa.String(length=30), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_projectstatuschange_project_id"), "projectstatuschange", ["project_id"], unique=False)
    op.create_table(
        "projectmilestone",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("progress_pct", sa.Integer(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_projectmilestone_project_id"), "projectmilestone", ["project_id"], unique=False)
    op.create_table(
        "projectacceptance",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=False),
        sa.Column("officer_id", sa.String(length=100), nullable=False),
        sa.Column("officer_name", sa.String(length=100), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_projectacceptance_project_id"), "projectacceptance", ["project_id"], unique=False)
    op.create_table(
        "projectcontract",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("cost_fen", sa.BigInteger(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_projectcontract_expires_on"), "projectcontract", ["expires_on"], unique=False)
    op.create_index(op.f("ix_projectcontract_project_id"), "projectcontract", ["project_id"], unique=False)


def _create_asset_tables() -> None:
    op.create_table(
        "projectasset",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("value_fen", sa.BigInteger(), nullable=False),
        sa.Column("owner_kind", sa.String(length=30), nullable=False),
        sa.Column("owner_area_code", sa.String(length=12), nullable=False),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("agreed_return_bp", sa.Integer(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("registered_by", sa.String(length=100), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_projectasset_owner_area_code"), "projectasset", ["owner_area_code"], unique=False)
    op.create_index(op.f("ix_projectasset_project_id"), "projectasset", ["project_id"], unique=False)
    op.create_table(
        "distributionplan",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("income_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("owner_area_code", sa.String(length=12), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("set_aside_fen", sa.BigInteger(), nullable=False),
        sa.Column("shared_fen", sa.BigInteger(), nullable=False),
        sa.Column("household_count", sa.Integer(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("prepared_by", sa.String(length=100), nullable=False),
        sa.Column("prepared_at", UTCDateTime(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=100), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("review_note", sa.String(length=1000), nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        sa.Column("accounted_by", sa.String(length=100), nullable=True),
        sa.Column("accounted_at", UTCDateTime(), nullable=True),
        sa.Column("voucher_no", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_distributionplan_income_id"), "distributionplan", ["income_id"], unique=False)
    op.create_index(op.f("ix_distributionplan_owner_area_code"), "distributionplan", ["owner_area_code"], unique=False)
    op.create_index(op.f("ix_distributionplan_project_id"), "distributionplan", ["project_id"], unique=False)
    op.create_index(op.f("ix_distributionplan_status"), "distributionplan", ["status"], unique=False)
    op.create_index(
        "uq_distributionplan_live_income",
        "distributionplan",
        ["income_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'rejected'"),
        sqlite_where=sa.text("status <> 'rejected'"),
    )
    op.create_table(
        "plansetaside",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("share_bp", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "purpose", name="uq_plansetaside_plan_purpose"),
    )
    op.create_index(op.f("ix_plansetaside_plan_id"), "plansetaside", ["plan_id"], unique=False)
    op.create_table(
        "planshare",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("area_code", sa.String(length=12), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "household_id", name="uq_planshare_plan_household"),
    )
    op.create_index(op.f("ix_planshare_household_id"), "planshare", ["household_id"], unique=False)
    op.create_index(op.f("ix_planshare_plan_id"), "planshare", ["plan_id"], unique=False)


def _create_work_tables() -> None:
    op.create_table(
        "workshop",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("area_code", sa.String(length=12), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("registered_by", sa.String(length=100), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_workshop_area_code"), "workshop", ["area_code"], unique=False)
    op.create_index(op.f("ix_workshop_parent_id"), "workshop", ["parent_id"], unique=False)
    op.create_index(op.f("ix_workshop_project_id"), "workshop", ["project_id"], unique=False)
    op.create_table(
        "workshopemployment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workshop_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("monthly_wage_fen", sa.BigInteger(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_workshopemployment_household_id"), "workshopemployment", ["household_id"], unique=False)
    op.create_index(op.f("ix_workshopemployment_member_id"), "workshopemployment", ["member_id"], unique=False)
    op.create_index(op.f("ix_workshopemployment_workshop_id"), "workshopemployment", ["workshop_id"], unique=False)
    op.create_table(
        "workshopwage",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("employment_id", sa.Uuid(), nullable=False),
        sa.Column("workshop_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("employment_id", "period", name="uq_workshopwage_employment_period"),
    )
    op.create_index(op.f("ix_workshopwage_employment_id"), "workshopwage", ["employment_id"], unique=False)
    op.create_index(op.f("ix_workshopwage_household_id"), "workshopwage", ["household_id"], unique=False)
    op.create_index(op.f("ix_workshopwage_workshop_id"), "workshopwage", ["workshop_id"], unique=False)
    op.create_table(
        "publicwelfarepost",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("duty", sa.String(length=30), nullable=False),
        sa.Column("area_code", sa.String(length=12), nullable=False),
        sa.Column("monthly_allowance_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_publicwelfarepost_area_code"), "publicwelfarepost", ["area_code"], unique=False)
    op.create_table(
        "postholding",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_postholding_household_id"), "postholding", ["household_id"], unique=False)
    op.create_index(op.f("ix_postholding_member_id"), "postholding", ["member_id"], unique=False)
    op.create_index(op.f("ix_postholding_post_id"), "postholding", ["post_id"], unique=False)
    op.create_table(
        "carepairing",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("holding_id", sa.Uuid(), nullable=False),
        sa.Column("cared_household_id", sa.Uuid(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_carepairing_cared_household_id"), "carepairing", ["cared_household_id"], unique=False)
    op.create_index(op.f("ix_carepairing_holding_id"), "carepairing", ["holding_id"], unique=False)
    op.create_table(
        "payroll",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("prepared_by", sa.String(length=100), nullable=False),
        sa.Column("prepared_at", UTCDateTime(), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period"),
    )
    op.create_table(
        "payrollline",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payroll_id", sa.Uuid(), nullable=False),
        sa.Column("holding_id", sa.Uuid(), nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payroll_id", "member_id", name="uq_payrollline_payroll_member"),
    )
    op.create_index(op.f("ix_payrollline_household_id"), "payrollline", ["household_id"], unique=False)
    op.create_index(op.f("ix_payrollline_payroll_id"), "payrollline", ["payroll_id"], unique=False)


def _create_roll_tables() -> None:
    op.create_table(
        "rollhousehold",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("area_code", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("household_id"),
    )
    op.create_index(op.f("ix_rollhousehold_area_code"), "rollhousehold", ["area_code"], unique=False)
    op.create_table(
        "rollmember",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("disability_grade", sa.Integer(), nullable=True),
        sa.Column("died_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("member_id"),
    )
    op.create_index(op.f("ix_rollmember_household_id"), "rollmember", ["household_id"], unique=False)


def _extend_existing_tables() -> None:
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(30), nullable=False, server_default="operating"))
        batch_op.add_column(sa.Column("manager_id", sa.String(100), nullable=True))
        batch_op.add_column(sa.Column("manager_name", sa.String(100), nullable=True))
        batch_op.add_column(sa.Column("acceptance_due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("status_changed_at", UTCDateTime(), nullable=True))
        batch_op.create_index("ix_project_status", ["status"], unique=False)
    with op.batch_alter_table("projectincome", schema=None) as batch_op:
        batch_op.add_column(sa.Column("asset_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("received_on", sa.Date(), nullable=True))
        batch_op.drop_constraint("uq_projectincome_project_period", type_="unique")
        batch_op.create_index("ix_projectincome_asset_id", ["asset_id"], unique=False)
        batch_op.create_unique_constraint("uq_projectincome_asset_period", ["asset_id", "period"])
    with op.batch_alter_table("projectproblem", schema=None) as batch_op:
        batch_op.add_column(sa.Column("severity", sa.String(20), nullable=True))
        batch_op.add_column(sa.Column("origin", sa.String(20), nullable=False, server_default="inspection"))
        batch_op.add_column(sa.Column("subject_ref", sa.String(64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("found_on", sa.Date(), nullable=True))
        batch_op.alter_column("inspection_id", existing_type=sa.Uuid(), nullable=True)
    op.create_index(
        "uq_projectproblem_check_subject",
        "projectproblem",
        ["project_id", "code", "subject_ref"],
        unique=True,
        postgresql_where=CHECKS,
        sqlite_where=CHECKS,
    )


def downgrade() -> None:
    op.drop_index("uq_projectproblem_check_subject", table_name="projectproblem")
    with op.batch_alter_table("projectproblem", schema=None) as batch_op:
        batch_op.alter_column("inspection_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("found_on")
        batch_op.drop_column("subject_ref")
        batch_op.drop_column("origin")
        batch_op.drop_column("severity")
    with op.batch_alter_table("projectincome", schema=None) as batch_op:
        batch_op.drop_constraint("uq_projectincome_asset_period", type_="unique")
        batch_op.drop_index("ix_projectincome_asset_id")
        batch_op.create_unique_constraint("uq_projectincome_project_period", ["project_id", "period"])
        batch_op.drop_column("received_on")
        batch_op.drop_column("asset_id")
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_index("ix_project_status")
        for column in ("status_changed_at", "acceptance_due_on", "manager_name", "manager_id", "status"):
            batch_op.drop_column(column)
    op.drop_table("workshopwage")
    op.drop_table("workshopemployment")
    op.drop_table("workshop")
    op.drop_table("rollmember")
    op.drop_table("rollhousehold")
    op.drop_table("publicwelfarepost")
    op.drop_table("projectstatuschange")
    op.drop_table("projectspending")
    op.drop_table("projectmilestone")
    op.drop_table("projectfunding")
    op.drop_table("projectcontract")
    op.drop_table("projectasset")
    op.drop_table("projectacceptance")
    op.drop_table("postholding")
    op.drop_table("planshare")
    op.drop_table("plansetaside")
    op.drop_table("payrollline")
    op.drop_table("payroll")
    op.drop_table("fundallocation")
    op.drop_table("distributionplan")
    op.drop_table("carepairing")
