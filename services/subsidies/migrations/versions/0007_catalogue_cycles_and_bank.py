"""The programme catalogue as versioned data, cycles with entitlement lists and public notice, payees, bank
batches and results, corrections, and leakage checks; the household and member facts eligibility rules read
(the old `eligiblehousehold` and `addedmember` tables, renamed and widened, keeping what the dropped
`entitlement` spans knew).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.timeutil

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _new_tables()
    _facts_from_old_tables()
    with op.batch_alter_table("coveragecheck", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cycle_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_coveragecheck_cycle_id"), ["cycle_id"], unique=False)
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("member_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("holder_key", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False, server_default="-")
        )
        batch_op.add_column(sa.Column("version_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("entitlement_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("batch_line_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("payee_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default="paid")
        )
        batch_op.drop_constraint("uq_payment_household_policy_period", type_="unique")
        batch_op.create_unique_constraint(
            "uq_payment_holder_policy_period", ["household_id", "holder_key", "policy_code", "period"]
        )
        batch_op.create_unique_constraint("uq_payment_entitlement", ["entitlement_id"])
        batch_op.create_unique_constraint("uq_payment_batch_line", ["batch_line_id"])
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.alter_column("holder_key", server_default=None)
        batch_op.alter_column("status", server_default=None)


def _facts_from_old_tables() -> None:
    """Households and members keep their rows; what the open entitlement spans said becomes facts: 低保 / 特困供养
    status, an open monitoring episode, enrolment. A disability grade is not known from the spans: the nursing
    subsidy means grade 1-2 (kept as 2), the living subsidy alone grade 3-4 (kept as 4)."""
    op.rename_table("eligiblehousehold", "householdfacts")
    with op.batch_alter_table("householdfacts", schema=None) as batch_op:
        batch_op.drop_index("ix_eligiblehousehold_area_code")
        batch_op.create_index(batch_op.f("ix_householdfacts_area_code"), ["area_code"], unique=False)
        for name, length, default in (("status", 30, "in_poverty"), ("allowance", 20, "none")):
            batch_op.add_column(
                sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=False, server_default=default)
            )
            batch_op.add_column(sa.Column(f"{name}_since", sa.Date(), nullable=True))
            batch_op.add_column(
                sa.Column(f"previous_{name}", sqlmodel.sql.sqltypes.AutoString(length=length), nullable=True)
            )
        batch_op.add_column(sa.Column("housing_grade", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True))
        batch_op.add_column(sa.Column("monitoring_open", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("risk_kinds", sa.JSON(), nullable=False, server_default="[]"))
    op.rename_table("addedmember", "memberfacts")
    with op.batch_alter_table("memberfacts", schema=None) as batch_op:
        batch_op.drop_index("ix_addedmember_household_id")
        batch_op.create_index(batch_op.f("ix_memberfacts_household_id"), ["household_id"], unique=False)
        batch_op.add_column(
            sa.Column("relationship_to_head", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True)
        )
        batch_op.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("name_masked", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column("id_masked", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True))
        batch_op.add_column(sa.Column("disability_grade", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("enrolment", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column("school_stage", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column("medical_insured", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("premium_subsidised", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("died_on", sa.Date(), nullable=True))
    _carry_open_entitlements()
    with op.batch_alter_table("householdfacts", schema=None) as batch_op:
        for name in ("status", "allowance", "monitoring_open", "risk_kinds"):
            batch_op.alter_column(name, server_default=None)
    op.drop_index("ix_entitlement_household_id", table_name="entitlement")
    op.drop_index("ix_entitlement_policy_code", table_name="entitlement")
    op.drop_index("uq_entitlement_open", table_name="entitlement")
    op.drop_table("entitlement")


def _carry_open_entitlements() -> None:
    open_ = "FROM entitlement e WHERE e.ends_on IS NULL AND e.policy_code = '{}'"
    household = "UPDATE householdfacts SET {} WHERE household_id IN (SELECT e.household_id " + open_ + ")"  # noqa: S608 - constants
    op.execute(household.format("allowance = 'dibao'", "dibao"))
    op.execute(household.format("allowance = 'extreme_poverty'", "extreme_poverty_support"))
    op.execute(household.format("monitoring_open = true", "temporary_assistance"))
    op.execute(
        "INSERT INTO memberfacts (member_id, household_id) SELECT DISTINCT e.member_id, e.household_id "
        "FROM entitlement e WHERE e.ends_on IS NULL AND e.member_id IS NOT NULL "
        "AND e.member_id NOT IN (SELECT member_id FROM memberfacts)"
    )
    member = "UPDATE memberfacts SET {} WHERE member_id IN (SELECT e.member_id " + open_ + ")"  # noqa: S608 - constants
    op.execute(member.format("disability_grade = 4", "disability_living_subsidy"))
    op.execute(member.format("disability_grade = 2", "disability_nursing_subsidy"))
    op.execute(member.format("enrolment = 'enrolled'", "education_aid"))


def downgrade() -> None:
    raise NotImplementedError("0007 keeps facts the old tables cannot hold; restore a backup to go back")


def _new_tables() -> None:
    op.create_table(
        "leakagecheck",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("policy_code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("checked_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("checked_at", shared.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payment_count", sa.Integer(), nullable=False),
        sa.Column("leak_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "bankfileexport",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("encoding", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("checksum", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("exported_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("exported_at", shared.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bankfileexport", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bankfileexport_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "bankresultimport",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("checksum", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("encoding", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("paid_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("returned_count", sa.Integer(), nullable=False),
        sa.Column("imported_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("imported_at", shared.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("batch_id", "checksum", name="uq_bankresultimport_batch_checksum"),
    )
    with op.batch_alter_table("bankresultimport", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bankresultimport_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "batchline",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("entitlement_id", sa.Uuid(), nullable=False),
        sa.Column("payee_id", sa.Uuid(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("bank_reason", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("bank_reference", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("batch_id", "line_no", name="uq_batchline_batch_line_no"),
    )
    with op.batch_alter_table("batchline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batchline_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_batchline_entitlement_id"), ["entitlement_id"], unique=False)
        batch_op.create_index(
            "uq_batchline_entitlement_live",
            ["entitlement_id"],
            unique=True,
            postgresql_where=sa.text("status IN ('pending', 'paid')"),
            sqlite_where=sa.text("status IN ('pending', 'paid')"),
        )

    op.create_table(
        "cycle",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("programme_code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("entitled_count", sa.Integer(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("notice_starts_on", sa.Date(), nullable=True),
        sa.Column("notice_ends_on", sa.Date(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", shared.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("computed_at", shared.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("submitted_at", shared.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("approved_at", shared.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", shared.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("programme_code", "period", name="uq_cycle_programme_period"),
    )
    with op.batch_alter_table("cycle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cycle_programme_code"), ["programme_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cycle_status"), ["status"], unique=False)

    op.create_table(
        "cycleentitlement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("holder_key", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("area_code", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("withdrawn_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "household_id", "holder_key", name="uq_cycleentitlement_holder"),
    )
    with op.batch_alter_table("cycleentitlement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cycleentitlement_area_code"), ["area_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cycleentitlement_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cycleentitlement_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cycleentitlement_status"), ["status"], unique=False)

    op.create_table(
        "disbursementbatch",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("checksum", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("built_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("built_at", shared.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "sequence", name="uq_disbursementbatch_cycle_sequence"),
    )
    with op.batch_alter_table("disbursementbatch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disbursementbatch_cycle_id"), ["cycle_id"], unique=False)

    op.create_table(
        "leak",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("check_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("area_code", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("policy_code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "payment_id", name="uq_leak_kind_payment"),
    )
    with op.batch_alter_table("leak", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leak_check_id"), ["check_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_leak_household_id"), ["household_id"], unique=False)

    op.create_table(
        "objection",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("entitlement_id", sa.Uuid(), nullable=True),
        sa.Column("grounds", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("recorded_at", shared.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("decision_note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("decided_at", shared.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("objection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_objection_cycle_id"), ["cycle_id"], unique=False)

    op.create_table(
        "payee",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("holder_key", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("bank_code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("account_kid", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("account_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("account_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_masked", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("holder_name_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("holder_name_masked", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("holder_member_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("recorded_at", shared.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", shared.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("payee", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payee_account_hash"), ["account_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_payee_household_id"), ["household_id"], unique=False)

    op.create_table(
        "paymentcorrection",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("recorded_at", shared.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("paymentcorrection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paymentcorrection_payment_id"), ["payment_id"], unique=True)

    op.create_table(
        "programme",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("frequency", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("funding_source", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", shared.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "programmefund",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("programme_code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("recorded_at", shared.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("programmefund", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_programmefund_programme_code"), ["programme_code"], unique=False)

    op.create_table(
        "programmeversion",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("programme_code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("per_member", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", shared.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("programme_code", "version", name="uq_programmeversion_code_version"),
    )
    with op.batch_alter_table("programmeversion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_programmeversion_programme_code"), ["programme_code"], unique=False)
