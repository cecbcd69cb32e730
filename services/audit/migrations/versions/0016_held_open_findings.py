"""The open findings of a batch's problems, each found by its own look-up in the index of open findings, whatever the
table's statistics say: `held_open_findings(locks, kinds, subjects, codes)` takes the problems' advisory locks, as
`open_findings_held` (0015) does, then reads each problem (the n-th kind, subject and code) with an equality on every
column of `uq_finding_open_subject_code`.

0015 bounded one index scan with `= ANY` on each column. With statistics of a small table (a new district's first
day, a restored database not yet analyzed) the planner saw no difference between a descent per combination of
values and one descent on the first column with the rest as a filter, chose the latter, and so read every open
finding of every household in each call: 9.5 ms a call at 20,000 open findings against 0.06 ms once analyzed, and
PostgreSQL's CPU a finding grew with the table through a benchmark run until autovacuum analyzed it. A look-up per
problem on the unique index is the one plan for it; it also needs no array of joined keys to keep only the problems
asked for.

The previous release calls `open_findings_held`, which this migration leaves in place; a later one drops it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

HELD_OPEN_FINDINGS = """
CREATE FUNCTION held_open_findings(locks bigint[], kinds text[], subjects text[], codes text[])
RETURNS SETOF finding LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM count(pg_advisory_xact_lock(lock)) FROM (SELECT unnest(locks) AS lock ORDER BY 1) AS held;
    RETURN QUERY SELECT found.* FROM unnest(kinds, subjects, codes) AS problem (kind, subject, code)
        CROSS JOIN LATERAL (
            SELECT * FROM finding
            WHERE subject_kind = problem.kind AND subject_id = problem.subject AND code = problem.code
                AND status = 'open'
            FOR UPDATE
        ) AS found;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(HELD_OPEN_FINDINGS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION held_open_findings(bigint[], text[], text[], text[])")
