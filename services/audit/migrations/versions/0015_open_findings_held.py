"""The subjects' locks and their open findings in one round trip: `open_findings_held(locks, kinds, subjects, codes,
problems)` takes the transaction-level advisory locks of the problems a batch records, in ascending order, then reads
the open findings of exactly those problems, locked. The kinds, subjects and codes bound the index scan; `problems`
(each kind, subject and code joined by the unit separator, U+001F) keeps only the problems asked for. A join with the
arrays would say the same, but a plan cached while `finding` was small scans the whole table once it has grown.

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
CREATE FUNCTION open_findings_held(locks bigint[], kinds text[], subjects text[], codes text[], problems text[])
RETURNS SETOF finding LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM count(pg_advisory_xact_lock(lock)) FROM (SELECT unnest(locks) AS lock ORDER BY 1) AS held;
    RETURN QUERY SELECT * FROM finding
        WHERE subject_kind = ANY(kinds) AND subject_id = ANY(subjects) AND code = ANY(codes) AND status = 'open'
            AND subject_kind || chr(31) || subject_id || chr(31) || code = ANY(problems)
        FOR UPDATE;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(OPEN_FINDINGS_HELD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION open_findings_held(bigint[], text[], text[], text[], text[])")
