"""The log's write lock and its head in one round trip: `ledger_head_locked(key)` takes the lock, then reads the head.

A writer used to send the lock and the head's read as two statements, both while the lock serializes every writer of
the log. In one statement the head would be read with the snapshot the statement took before it waited for the lock,
missing the entries of the writer it waited for; in a volatile PL/pgSQL function each statement takes a snapshot of
its own (READ COMMITTED), so the head is read after the lock is granted. SQLite has no such function, and needs none:
its writer takes the database's write lock.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

HEAD_LOCKED = """
CREATE FUNCTION ledger_head_locked(lock_key bigint) RETURNS SETOF ledger_entry LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN QUERY SELECT * FROM ledger_entry ORDER BY seq DESC LIMIT 1;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(HEAD_LOCKED)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION ledger_head_locked(bigint)")
