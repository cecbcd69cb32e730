"""Accountability reaches people: a finding's responsible person (id, name, role) and the day it was found, its changes of hands, the areas' officers, notifications (inbox and webhook delivery), grievances (群众诉求) with the complainant's contact sealed, the households audit knows and the campaigns' visits (全覆盖).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from shared.timeutil import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _create_areaofficer()
    _create_knownhousehold()
    _create_campaignvisit()
    _create_grievance()
    _create_notification()
    _create_responsibilitychange()
    _extend_existing_tables()


def _create_areaofficer() -> None:
    op.create_table(
        "areaofficer",
        sa.Column("area_code", sa.String(length=12), nullable=False),
        sa.Column("person_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("area_code"),
    )


def _create_knownhousehold() -> None:
    op.create_table(
        "knownhousehold",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("area_code", sa.String(length=12), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("household_id"),
    )
    op.create_index(op.f("ix_knownhousehold_area_code"), "knownhousehold", ["area_code"], unique=False)


def _create_campaignvisit() -> None:
    op.create_table(
        "campaignvisit",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("area_code", sa.String(length=12), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["inspectioncampaign.id"],
        ),
        sa.PrimaryKeyConstraint("campaign_id", "household_id"),
    )
    op.create_index(op.f("ix_campaignvisit_area_code"), "campaignvisit", ["area_code"], unique=False)


def _create_grievance() -> None:
    op.create_table(
        "grievance",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("area_code", sa.String(length=12), nullable=False),
        sa.Column("about_kind", sa.String(length=20), nullable=True),
        sa.Column("about_id", sa.String(length=64), nullable=True),
        sa.Column("about_person", sa.String(length=100), nullable=True),
        sa.Column("summary", sa.String(length=2000), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("contact_kid", sa.String(length=32), nullable=True),
        sa.Column("contact_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("contact_masked", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("response_due_on", sa.Date(), nullable=False),
        sa.Column("triaged_by", sa.String(length=100), nullable=True),
        sa.Column("triaged_at", UTCDateTime(), nullable=True),
        sa.Column("triage_note", sa.String(length=1000), nullable=True),
        sa.Column("finding_id", sa.Uuid(), nullable=True),
        sa.Column("replied_on", sa.Date(), nullable=True),
        sa.Column("reply", sa.String(length=2000), nullable=True),
        sa.Column("replied_by", sa.String(length=100), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["finding.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_grievance_area_code"), "grievance", ["area_code"], unique=False)
    op.create_index(op.f("ix_grievance_response_due_on"), "grievance", ["response_due_on"], unique=False)
    op.create_index(op.f("ix_grievance_status"), "grievance", ["status"], unique=False)


def _create_notification() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("finding_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.String(length=1000), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.Column("delivery_status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["finding.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notification_delivery", "notification", ["delivery_status", "next_attempt_at"], unique=False)
    op.create_index("ix_notification_inbox", "notification", ["person_id", "created_at"], unique=False)


def _create_responsibilitychange() -> None:
    op.create_table(
        "responsibilitychange",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("finding_id", sa.Uuid(), nullable=False),
        sa.Column("from_person_id", sa.String(length=100), nullable=True),
        sa.Column("from_person", sa.String(length=50), nullable=True),
        sa.Column("to_person_id", sa.String(length=100), nullable=False),
        sa.Column("to_person", sa.String(length=50), nullable=False),
        sa.Column("to_unit", sa.String(length=100), nullable=False),
        sa.Column("to_role", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["finding.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_responsibilitychange_finding_id"), "responsibilitychange", ["finding_id"], unique=False)


def _extend_existing_tables() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("responsible_person_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("responsible_role", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("found_on", sa.Date(), nullable=True))
        batch_op.create_index("ix_finding_responsible_person_id", ["responsible_person_id"], unique=False)
    with op.batch_alter_table("inspectioncampaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coverage_checked_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inspectioncampaign", schema=None) as batch_op:
        batch_op.drop_column("coverage_checked_at")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index("ix_finding_responsible_person_id")
        for column in ("found_on", "responsible_role", "responsible_person_id"):
            batch_op.drop_column(column)
    op.drop_table("responsibilitychange")
    op.drop_table("notification")
    op.drop_table("grievance")
    op.drop_table("campaignvisit")
    op.drop_table("knownhousehold")
    op.drop_table("areaofficer")
