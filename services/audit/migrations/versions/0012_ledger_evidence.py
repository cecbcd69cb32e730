"""The log as evidence: the state each change leaves (`facts`, hashed with its entry), an inventory of the rows that
exist now (so the replay accounts for every row), the heads anchored outside the database (`ledger_anchor`,
append-only, and only ever the anchor of an entry of the log, above every earlier one, dated by the database), and,
on PostgreSQL, the service's own role limited to inserting into both and reading them.

Run as the schema's owner (`AUDIT_MIGRATION_DATABASE_URL`) with the service's role another one, the service's role
(the `ledger_writer` env.py names) gets the rows of every other table but the migrations' own and only INSERT and
SELECT on the log's two: it neither owns them nor belongs to their owner, so it can no more disable a trigger than
update an entry. Run with one role for both (SQLite, or no migration URL), there is nothing to separate: the triggers
stand, the chain shows what gets past them, and verification says the log is not protected.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import sqlalchemy as sa
from alembic import context, op

from services.audit.domain.ledger import LEDGER_LOCK_KEY
from services.audit.rules.ledger import PendingEntry, chain, sha256_hex
from services.audit.rules.ledger_state import INVENTORY, finding_fields, referral_fields, task_fields, to_text
from shared.migrations import MigrationRefused
from shared.timeutil import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

APPEND_ONLY = ("ledger_entry", "ledger_anchor")
PG_REFUSE = """
CREATE FUNCTION ledger_anchor_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_anchor is append-only: % refused', TG_OP;
END
$$
"""
# Only the anchor of an entry the log holds, above every anchor before it, dated by the database's clock: the
# service's role can neither plant an anchor the log never reached nor date one ahead to hold the next one back.
PG_ANCHOR_CHECK = """
CREATE FUNCTION ledger_anchor_check_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.ledger_entry e WHERE e.seq = NEW.seq AND e.entry_hash = NEW.entry_hash
                   AND e.recorded_at = NEW.recorded_at) THEN
        RAISE EXCEPTION 'ledger_anchor: entry % with that hash is not in the log', NEW.seq;
    END IF;
    IF EXISTS (SELECT 1 FROM public.ledger_anchor a WHERE a.seq >= NEW.seq) THEN
        RAISE EXCEPTION 'ledger_anchor: an anchor at or after entry % exists', NEW.seq;
    END IF;
    NEW.anchored_at := now();
    RETURN NEW;
END
$$
"""
PG_FUNCTIONS = ("ledger_anchor_refuse_change", "ledger_anchor_check_insert")
PG_TRIGGERS = (
    "CREATE TRIGGER ledger_anchor_of_the_log BEFORE INSERT ON ledger_anchor"
    " FOR EACH ROW EXECUTE FUNCTION ledger_anchor_check_insert()",
    "CREATE TRIGGER ledger_anchor_append_only BEFORE UPDATE OR DELETE ON ledger_anchor"
    " FOR EACH ROW EXECUTE FUNCTION ledger_anchor_refuse_change()",
    "CREATE TRIGGER ledger_anchor_no_truncate BEFORE TRUNCATE ON ledger_anchor"
    " FOR EACH STATEMENT EXECUTE FUNCTION ledger_anchor_refuse_change()",
)
SQLITE_TRIGGERS = (
    "CREATE TRIGGER ledger_anchor_of_the_log BEFORE INSERT ON ledger_anchor"
    " WHEN NOT EXISTS (SELECT 1 FROM ledger_entry e WHERE e.seq = NEW.seq AND e.entry_hash = NEW.entry_hash)"
    " OR EXISTS (SELECT 1 FROM ledger_anchor a WHERE a.seq >= NEW.seq)"
    " BEGIN SELECT RAISE(ABORT, 'ledger_anchor: only an entry of the log, after every earlier anchor'); END",
    "CREATE TRIGGER ledger_anchor_no_update BEFORE UPDATE ON ledger_anchor"
    " BEGIN SELECT RAISE(ABORT, 'ledger_anchor is append-only: UPDATE refused'); END",
    "CREATE TRIGGER ledger_anchor_no_delete BEFORE DELETE ON ledger_anchor"
    " BEGIN SELECT RAISE(ABORT, 'ledger_anchor is append-only: DELETE refused'); END",
)


def upgrade() -> None:
    op.add_column("ledger_entry", sa.Column("facts", sa.Text()))
    _log_inventory()
    op.create_table(
        "ledger_anchor",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("anchored_at", UTCDateTime(), nullable=False),
        sa.Column("anchor_id", sa.Uuid(), nullable=False),
    )
    op.create_index("ix_ledger_anchor_anchored_at", "ledger_anchor", ["anchored_at"])
    if op.get_bind().dialect.name != "postgresql":
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
        return
    op.execute(PG_REFUSE)
    op.execute(PG_ANCHOR_CHECK)
    for trigger in PG_TRIGGERS:
        op.execute(trigger)
    writer: str | None = context.config.attributes.get("ledger_writer")
    if writer:
        _limit_writer(writer)


ENTRIES = sa.table(
    "ledger_entry",
    *(sa.column(name, sa.String()) for name in ("source", "event_type", "payload_hash", "prev_hash", "entry_hash")),
    sa.column("seq", sa.BigInteger()),
    sa.column("recorded_at", UTCDateTime()),
    sa.column("facts", sa.Text()),
)
INVENTORIED_PER_ENTRY = 1000


def _log_inventory() -> None:
    """Log every finding, task and referral as it stands, a thousand to an entry: where the replay of the facts
    starts, so that every row is one the log accounts for."""
    bind = op.get_bind()
    rows = list(_rows(bind))
    if not rows:
        return
    if bind.dialect.name == "postgresql":  # the running service may be appending: chain after its last entry
        bind.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_KEY})
    parts = (rows[start : start + INVENTORIED_PER_ENTRY] for start in range(0, len(rows), INVENTORIED_PER_ENTRY))
    texts = [to_text(dict(part)) or "" for part in parts]
    pending = [
        PendingEntry(f"audit:ledger_inventory/{uuid4()}", INVENTORY, sha256_hex(text.encode()), text) for text in texts
    ]
    last = bind.execute(
        sa.select(ENTRIES.c.seq, ENTRIES.c.entry_hash, ENTRIES.c.recorded_at).order_by(ENTRIES.c.seq.desc()).limit(1)
    ).first()
    bind.execute(ENTRIES.insert(), chain(pending, after=last, now=datetime.now(UTC)))


def _rows(bind: sa.Connection) -> Iterator[tuple[str, dict[str, str]]]:
    """The findings, tasks and referrals, each as the facts state it."""
    findings = sa.table("finding", _uuid("id"), _text("status"), _text("severity"))
    for id_, status, severity in bind.execute(sa.select(*findings.c)):
        yield f"finding/{id_}", finding_fields(status, severity)
    tasks = sa.table(
        "rectificationtask", _uuid("id"), _text("status"), _uuid("finding_id"), sa.column("deadline", UTCDateTime())
    )
    for id_, status, finding_id, deadline in bind.execute(sa.select(*tasks.c)):
        yield f"task/{id_}", task_fields(status, finding_id, deadline)
    referrals = sa.table("disciplinereferral", _uuid("id"), _uuid("finding_id"), _text("reason"), _text("severity"))
    for id_, finding_id, reason, severity in bind.execute(sa.select(*referrals.c)):
        yield f"referral/{id_}", referral_fields(finding_id, reason, severity)


def _uuid(name: str) -> sa.ColumnClause[UUID]:
    return sa.column(name, sa.Uuid())


def _text(name: str) -> sa.ColumnClause[str]:
    return sa.column(name, sa.String())


def _limit_writer(writer: str) -> None:
    """The service's role: every other table's rows, the log's two tables insert and read only, the migrations'
    version table read only (rewound, it would make the owner's next migration fail)."""
    bind = op.get_bind()
    if not bind.scalar(sa.text("SELECT count(*) FROM pg_roles WHERE rolname = :writer"), {"writer": writer}):
        raise MigrationRefused(
            f"the service's database role {writer!r} (the user of AUDIT_DATABASE_URL) does not exist: create it "
            "(LOGIN, no other rights) and migrate again"
        )
    if bind.scalar(sa.text("SELECT pg_has_role(:writer, current_user, 'MEMBER')"), {"writer": writer}):
        raise MigrationRefused(
            "the service's database role is a member of the schema's owner: it could disable the log's triggers. "
            "Give the service a role of its own (AUDIT_DATABASE_URL) and migrate as the owner"
        )
    role, database = _quoted(bind, writer)
    for statement in (
        f"GRANT CONNECT ON DATABASE {database} TO {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role}",
        f"REVOKE ALL ON {', '.join(APPEND_ONLY)} FROM {role}",
        f"GRANT SELECT, INSERT ON {', '.join(APPEND_ONLY)} TO {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
    ):
        op.execute(statement)


def _quoted(bind: sa.Connection, writer: str) -> tuple[str, str]:
    """The role's and the current database's names, quoted for a statement."""
    quote = bind.dialect.identifier_preparer.quote
    return quote(writer), quote(bind.scalar(sa.text("SELECT current_database()")))


def downgrade() -> None:
    op.drop_table("ledger_anchor")  # drops its triggers with it
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        for function in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION {function}()")
    writer: str | None = context.config.attributes.get("ledger_writer")
    if postgresql and writer:
        _unlimit_writer(writer)
    op.execute("ALTER TABLE ledger_entry DROP COLUMN facts")


def _unlimit_writer(writer: str) -> None:
    """Take back what `_limit_writer` gave: before this migration the service's role had nothing."""
    role, database = _quoted(op.get_bind(), writer)
    for statement in (
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {role}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"REVOKE USAGE ON SCHEMA public FROM {role}",
        f"REVOKE CONNECT ON DATABASE {database} FROM {role}",
    ):
        op.execute(statement)
