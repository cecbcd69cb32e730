"""Campaigns, the rectification lifecycle, accountability actions and the tamper-evident log.

The log's table refuses UPDATE, DELETE (and on PostgreSQL TRUNCATE) through triggers: entries are only
ever appended. Someone able to drop or disable a trigger can still tamper; the hash chain shows it.

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

EMPTY_LIST = sa.text("'[]'")
PG_REFUSE = """
CREATE FUNCTION ledger_entry_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entry is append-only: % refused', TG_OP;
END
$$
"""
PG_TRIGGERS = (
    "CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry"
    " FOR EACH ROW EXECUTE FUNCTION ledger_entry_refuse_change()",
    "CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry"
    " FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_refuse_change()",
)
SQLITE_TRIGGERS = (
    "CREATE TRIGGER ledger_entry_no_update BEFORE UPDATE ON ledger_entry"
    " BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only: UPDATE refused'); END",
    "CREATE TRIGGER ledger_entry_no_delete BEFORE DELETE ON ledger_entry"
    " BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only: DELETE refused'); END",
)


def upgrade() -> None:
    op.create_table(
        "inspectioncampaign",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("scope_level", sa.String(20), nullable=False),
        sa.Column("scope_code", sa.String(64), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("teams", sa.JSON(), nullable=False, server_default=EMPTY_LIST),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    _extend_findings()
    _extend_tasks()
    _lifecycle_tables()
    with op.batch_alter_table("disciplinereferral") as batch:  # SQLite adds a foreign key by copy-and-move
        batch.add_column(sa.Column("task_id", sa.Uuid()))
        batch.create_foreign_key("fk_disciplinereferral_task_id", "rectificationtask", ["task_id"], ["id"])
    op.create_index("ix_disciplinereferral_referred_at", "disciplinereferral", ["referred_at"])
    _accountability_table()
    _ledger_table()


def _extend_findings() -> None:
    with op.batch_alter_table("finding") as batch:  # SQLite adds a foreign key by copy-and-move
        batch.add_column(sa.Column("campaign_id", sa.Uuid()))
        batch.create_foreign_key("fk_finding_campaign_id", "inspectioncampaign", ["campaign_id"], ["id"])
    op.add_column("finding", sa.Column("responsible_unit", sa.String(100)))
    op.add_column("finding", sa.Column("responsible_person", sa.String(50)))
    op.add_column("finding", sa.Column("recorded_by", sa.String(100)))
    op.add_column("finding", sa.Column("evidence", sa.JSON(), nullable=False, server_default=EMPTY_LIST))
    op.add_column("finding", sa.Column("referred_at", UTCDateTime()))
    op.add_column("finding", sa.Column("closed_at", UTCDateTime()))
    op.execute(
        "UPDATE finding SET referred_at = (SELECT min(r.referred_at) FROM disciplinereferral r"
        " WHERE r.finding_id = finding.id)"
    )
    op.create_index("ix_finding_handover", "finding", ["severity", "referred_at"])


def _extend_tasks() -> None:
    for who, when in (
        ("started_by", "started_at"),
        ("submitted_by", "submitted_at"),
        ("verified_by", "verified_at"),
        ("closed_by", "closed_at"),
    ):
        op.add_column("rectificationtask", sa.Column(who, sa.String(100)))
        op.add_column("rectificationtask", sa.Column(when, UTCDateTime()))
    op.add_column("rectificationtask", sa.Column("reminded_at", UTCDateTime()))
    op.add_column("rectificationtask", sa.Column("overdue_at", UTCDateTime()))
    op.add_column(
        "rectificationtask", sa.Column("reopen_count", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )


def _lifecycle_tables() -> None:
    op.create_table(
        "rectificationsubmission",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("task_id", sa.Uuid(), sa.ForeignKey("rectificationtask.id"), nullable=False, index=True),
        sa.Column("submitted_by", sa.String(100), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("summary", sa.String(1000), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False, server_default=EMPTY_LIST),
    )
    op.create_table(
        "followupcheck",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("task_id", sa.Uuid(), sa.ForeignKey("rectificationtask.id"), nullable=False, index=True),
        sa.Column("submission_id", sa.Uuid(), sa.ForeignKey("rectificationsubmission.id"), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), sa.ForeignKey("inspectioncampaign.id")),
        sa.Column("checked_by", sa.String(100), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.String(1000), nullable=False),
    )
    op.create_table(
        "deadlinechange",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("task_id", sa.Uuid(), sa.ForeignKey("rectificationtask.id"), nullable=False, index=True),
        sa.Column("previous_deadline", UTCDateTime(), nullable=False),
        sa.Column("deadline", UTCDateTime(), nullable=False),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
    )


def _accountability_table() -> None:
    op.create_table(
        "accountabilityaction",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("referral_id", sa.Uuid(), sa.ForeignKey("disciplinereferral.id"), nullable=False, index=True),
        sa.Column("finding_id", sa.Uuid(), sa.ForeignKey("finding.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("person_name", sa.String(50), nullable=False),
        sa.Column("person_position", sa.String(100)),
        sa.Column("person_unit", sa.String(100), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False, index=True),
        sa.Column("notes", sa.String(1000)),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )


def _ledger_table() -> None:
    op.create_table(
        "ledger_entry",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_REFUSE)
        for trigger in PG_TRIGGERS:
            op.execute(trigger)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    op.drop_table("ledger_entry")  # drops its triggers with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION ledger_entry_refuse_change()")
    for table in ("accountabilityaction", "deadlinechange", "followupcheck", "rectificationsubmission"):
        op.drop_table(table)
    op.drop_index("ix_disciplinereferral_referred_at", "disciplinereferral")
    with op.batch_alter_table("disciplinereferral") as batch:
        batch.drop_column("task_id")
    with op.batch_alter_table("rectificationtask") as batch:
        for column in (
            "reopen_count",
            "overdue_at",
            "reminded_at",
            "closed_at",
            "closed_by",
            "verified_at",
            "verified_by",
            "submitted_at",
            "submitted_by",
            "started_at",
            "started_by",
        ):
            batch.drop_column(column)
    op.drop_index("ix_finding_handover", "finding")
    with op.batch_alter_table("finding") as batch:
        for column in (
            "closed_at",
            "referred_at",
            "evidence",
            "recorded_by",
            "responsible_person",
            "responsible_unit",
            "campaign_id",
        ):
            batch.drop_column(column)
    op.drop_table("inspectioncampaign")
