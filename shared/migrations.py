"""Per-service Alembic migrations: the env.py body, programmatic upgrade and the at-head check."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine
from shared.messaging.outbox import TXID_TYPE
from shared.timeutil import UTCDateTime

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


class MigrationRefused(RuntimeError):
    """A migration that will not run on this configuration: what the operator must change, in one sentence."""


def alembic_config(service: str, url: str | None = None) -> Config:
    """The Alembic configuration of `service` (its own `migrations/` folder and version table)."""
    cfg = Config(str(SERVICES_DIR / service / "alembic.ini"))
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def run_env(url_from_settings: str) -> None:
    """Body of every service's env.py: migrate the given connection, or the configured database URL."""
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or url_from_settings
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_migrate_url(url))


async def _migrate_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate)
    finally:
        await engine.dispose()


# Any constant: each service migrates its own database.
MIGRATION_LOCK = 0x706F7665727479  # "poverty"
# How long a migration waits for a table lock before it fails (and its Job retries): waiting longer would queue every
# live request for that table behind it.
MIGRATION_LOCK_TIMEOUT = "5s"


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # One migrator at a time (a Job pod replaced while the old one still runs): the second waits, then
            # finds the database at head. The lock timeout is set after, so this wait is not cut short.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            connection.execute(sa.text(f"SET LOCAL lock_timeout = '{MIGRATION_LOCK_TIMEOUT}'"))
        context.run_migrations()


async def upgrade_to_head(engine: AsyncEngine, service: str) -> None:
    """Apply `service`'s migrations on `engine` (what `alembic upgrade head` does)."""
    cfg = alembic_config(service)

    def upgrade(connection: Connection) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        await conn.run_sync(upgrade)


@dataclass(frozen=True)
class SchemaRevision:
    """Where a service's database stands against the migrations of the running release."""

    current: frozenset[str]  # the database's revisions (none: never migrated)
    heads: frozenset[str]  # this release's newest migrations
    known: bool  # every current revision is one of this release's migrations

    @property
    def at_head(self) -> bool:
        return self.current == self.heads

    @property
    def behind(self) -> bool:
        """Migrations of this release are still to run on the database. A revision this release does not know is a
        later release's (the Deployment rolled back, the schema not): migrations stay compatible with the previous
        release (expand, then contract), so that is not behind."""
        return self.known and not self.at_head


async def schema_revision(engine: AsyncEngine, service: str) -> SchemaRevision:
    """The database's revision against `service`'s migrations in this release."""
    script = _scripts(service)
    async with engine.connect() as conn:
        current = await conn.run_sync(lambda c: frozenset(MigrationContext.configure(c).get_current_heads()))
    return SchemaRevision(current, frozenset(script.get_heads()), all(_known(script, rev) for rev in current))


@functools.cache
def _scripts(service: str) -> ScriptDirectory:
    """`service`'s migrations, read from disk once: a pod's start-up and every readiness probe until the schema is
    current ask for them, from the event loop, and they do not change while the process runs."""
    return ScriptDirectory.from_config(alembic_config(service))


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


async def is_at_head(engine: AsyncEngine, service: str) -> bool:
    """Whether the database's revision is the newest migration of `service`."""
    return (await schema_revision(engine, service)).at_head


def create_messaging_tables() -> None:
    """Create the outbox and inbox tables; every service's first migration calls this."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("traceparent", sa.String(55)),
        sa.Column("published_at", UTCDateTime()),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "id"])
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=False),
    )


def add_outbox_transaction_id() -> None:
    """Every new outbox row records the transaction that wrote it (PostgreSQL: `pg_current_xact_id()`), for the
    relay to tell rows committed while it read (`shared.messaging.backlog`). The column is added without a default
    and given one after: existing rows stay NULL (committed long ago) and the table is not rewritten."""
    op.add_column("outbox", sa.Column("txid", TXID_TYPE))
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("outbox", "txid", server_default=sa.text("pg_current_xact_id()"))


def create_idempotency_table() -> None:
    """Create the table of creates made with an `Idempotency-Key` (`shared.api.idempotency`)."""
    op.create_table(
        "idempotent_request",
        sa.Column("caller", sa.String(100), primary_key=True),
        sa.Column("operation", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response_body", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_idempotent_request_created_at", "idempotent_request", ["created_at"])


def create_quarantine_table() -> None:
    """Create the table of records the Kafka client could not unpack (`shared.messaging.quarantine_records`)."""
    op.create_table(
        "quarantined_record",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("raw", sa.LargeBinary()),
        sa.Column("error_type", sa.String(200), nullable=False),
        sa.Column("error_where", sa.String(500), nullable=False),
        sa.Column("quarantined_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime()),
        sa.Column("resolution", sa.String(20)),
        sa.Column("reason", sa.String(500)),
        sa.UniqueConstraint("consumer", "topic", "partition", "offset", name="uq_quarantined_record_position"),
    )
    op.create_index("ix_quarantined_record_open", "quarantined_record", ["resolved_at"])


INBOX_AGE_INDEX = "ix_inbox_processed_at"


def create_inbox_age_index() -> None:
    """Index the inbox by age, for retention (`shared.messaging.retention`) to find expired rows."""
    op.create_index(INBOX_AGE_INDEX, "inbox", ["processed_at"])


def drop_inbox_age_index() -> None:
    op.drop_index(INBOX_AGE_INDEX, table_name="inbox")
