"""Registry in depth: member facts and sealed ID numbers, lifecycle status, guarantees, income, helper cadres,
relapse-risk monitoring, department batches, change history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from shared.timeutil import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_FEN = sa.BigInteger()
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _household_columns() -> None:
    op.add_column("household", sa.Column("status", sa.String(30), nullable=False, server_default="in_poverty"))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot ALTER in a constraint, but ADD COLUMN ... REFERENCES keeps the table (and its rows).
        op.execute("ALTER TABLE household ADD COLUMN helper_cadre_id CHAR(32) REFERENCES helpercadre (id)")
    else:
        op.add_column(
            "household", sa.Column("helper_cadre_id", sa.Uuid(), sa.ForeignKey("helpercadre.id"), nullable=True)
        )
    op.add_column("household", sa.Column("minimum_allowance", sa.String(20), nullable=False, server_default="none"))
    op.add_column("household", sa.Column("housing_grade", sa.String(1)))
    op.add_column("household", sa.Column("housing_appraised_on", sa.Date()))
    op.add_column("household", sa.Column("water_safe", sa.Boolean()))
    op.add_column("household", sa.Column("water_checked_on", sa.Date()))
    op.create_index("ix_household_status", "household", ["status"])
    op.create_index("ix_household_helper_cadre_id", "household", ["helper_cadre_id"])


def _member_columns() -> None:
    for name, type_ in (
        ("id_kid", sa.String(32)),
        ("id_ciphertext", sa.LargeBinary()),
        ("id_hash", sa.String(64)),
        ("id_masked", sa.String(18)),
        ("disability_type", sa.String(20)),
        ("disability_grade", sa.Integer()),
        ("disability_certified_on", sa.Date()),
        ("chronic_disease", sa.String(100)),
        ("chronic_disease_approved_on", sa.Date()),
        ("school_stage", sa.String(20)),
        ("school_name", sa.String(100)),
        ("enrolment", sa.String(20)),
        ("labour_capacity", sa.String(20)),
    ):
        op.add_column("member", sa.Column(name, type_))
    for name in ("medical_insured", "premium_subsidised", "family_doctor_contract"):
        op.add_column("member", sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_member_id_hash", "member", ["id_hash"], unique=True)


def _reference_tables() -> None:
    op.create_table(
        "helpercadre",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("subject", sa.String(100), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("unit", sa.String(200), nullable=False),
        sa.Column("area_code", sa.String(12), nullable=False, index=True),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "povertyline",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("line_fen", _FEN, nullable=False),
        sa.Column("monitoring_margin_fen", _FEN, nullable=False),
        sa.Column("set_by", sa.String(100), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
    )


def _fact_tables() -> None:
    op.create_table(
        "idcardreveal",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("member_id", sa.Uuid(), sa.ForeignKey("member.id"), nullable=False, index=True),
        sa.Column("household_id", sa.Uuid(), sa.ForeignKey("household.id"), nullable=False, index=True),
        sa.Column("revealed_by", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("revealed_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "housingappraisal",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), sa.ForeignKey("household.id"), nullable=False, index=True),
        sa.Column("grade", sa.String(1), nullable=False),
        sa.Column("appraised_on", sa.Date(), nullable=False),
        sa.Column("appraiser", sa.String(100), nullable=False),
        sa.Column("renovation_due", sa.Date()),
        sa.Column("renovated_on", sa.Date()),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "watercheck",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), sa.ForeignKey("household.id"), nullable=False, index=True),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("problems", sa.String(200), nullable=False),
        sa.Column("safe", sa.Boolean(), nullable=False),
        sa.Column("checked_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "incomerecord",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), sa.ForeignKey("household.id"), nullable=False, index=True),
        sa.Column("year", sa.Integer(), nullable=False, index=True),
        sa.Column("source", sa.String(30), nullable=False),
        sa.Column("amount_fen", _FEN, nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "medicalexpense",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), sa.ForeignKey("household.id"), nullable=False, index=True),
        sa.Column("member_id", sa.Uuid(), sa.ForeignKey("member.id"), nullable=False, index=True),
        sa.Column("amount_fen", _FEN, nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )


def _monitoring_tables() -> None:
    op.create_table(
        "monitoringepisode",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), sa.ForeignKey("household.id"), nullable=False, index=True),
        sa.Column("status", sa.String(10), nullable=False, index=True),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("status_before", sa.String(30), nullable=False),
        sa.Column("closed_on", sa.Date()),
        sa.Column("decision", sa.String(30)),
        sa.Column("evidence", sa.String(2000)),
        sa.Column("closed_by", sa.String(100)),
    )
    op.create_table(
        "riskflag",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), sa.ForeignKey("household.id"), nullable=False, index=True),
        sa.Column("episode_id", sa.Uuid(), sa.ForeignKey("monitoringepisode.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("amount_fen", _FEN),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("raised_by", sa.String(100), nullable=False),
    )
    op.create_table(
        "monitoringmeasure",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("episode_id", sa.Uuid(), sa.ForeignKey("monitoringepisode.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
    )


def _bookkeeping_tables() -> None:
    op.create_table(
        "departmentbatch",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.Column("submitted_by", sa.String(100), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("applied_count", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.UniqueConstraint("kind", "idempotency_key", name="uq_departmentbatch_kind_key"),
    )
    op.create_table(
        "householdchange",
        sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
        sa.Column("household_id", sa.Uuid(), sa.ForeignKey("household.id"), nullable=False, index=True),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
    )


def upgrade() -> None:
    _reference_tables()
    _household_columns()
    _member_columns()
    _fact_tables()
    _monitoring_tables()
    _bookkeeping_tables()


def downgrade() -> None:
    for table in (
        "householdchange",
        "departmentbatch",
        "monitoringmeasure",
        "riskflag",
        "monitoringepisode",
        "medicalexpense",
        "incomerecord",
        "watercheck",
        "housingappraisal",
        "idcardreveal",
    ):
        op.drop_table(table)
    with op.batch_alter_table("member") as batch:
        batch.drop_index("ix_member_id_hash")
        for name in (
            "family_doctor_contract",
            "premium_subsidised",
            "medical_insured",
            "labour_capacity",
            "enrolment",
            "school_name",
            "school_stage",
            "chronic_disease_approved_on",
            "chronic_disease",
            "disability_certified_on",
            "disability_grade",
            "disability_type",
            "id_masked",
            "id_hash",
            "id_ciphertext",
            "id_kid",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("household") as batch:
        batch.drop_index("ix_household_helper_cadre_id")
        batch.drop_index("ix_household_status")
        for name in (
            "water_checked_on",
            "water_safe",
            "housing_appraised_on",
            "housing_grade",
            "minimum_allowance",
            "helper_cadre_id",
            "status",
        ):
            batch.drop_column(name)
    op.drop_table("povertyline")
    op.drop_table("helpercadre")
