"""The subjects' locks and their open findings in one round trip: `open_findings_held(locks, kinds, subjects, codes)`
takes the transaction-level advisory locks of the problems a batch records, in ascending order, then reads the open
findings of exactly those problems (the i-th kind, subject and code make one), locked.

The consumer used to send the locks and the read as two statements in every transaction. In one plain statement the
findings would be read with the snapshot the statement took before it waited for a lock, missing a finding that the
transaction it waited for had just opened (and this one would open it again, against the unique index of open
findings); in a volatile PL/pgSQL function each statement takes a snapshot of its own (READ COMMITTED), so the read
comes after the locks are granted. SQLite has no such function, and needs none: its writer takes the database's write
lock.

The function returns `finding`'s row type: a later migration that drops or retypes a column of `finding` must
recreate it (`CREATE OR REPLACE FUNCTION`), or connections that prepared a call before fail on it until they are
replaced. The same holds for `ledger_head_locked` (0014) and `ledger_entry`.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

OPEN_FINDINGS_HELD = """
CREATE FUNCTION open_findings_held(locks bigint[], kinds text[], subjects text[], codes text[])
RETURNS SETOF finding LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM count(pg_advisory_xact_lock(lock)) FROM (SELECT unnest(locks) AS lock ORDER BY 1) AS held;
    RETURN QUERY SELECT finding.* FROM finding
        JOIN unnest(kinds, subjects, codes) AS wanted(kind, subject, code)
            ON finding.subject_kind = wanted.kind AND finding.subject_id = wanted.subject AND finding.code = wanted.code
        WHERE finding.status = 'open'
        FOR UPDATE OF finding;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(OPEN_FINDINGS_HELD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION open_findings_held(bigint[], text[], text[], text[])")
