"""The open findings of a batch's problems, each found by a look-up of its own in an index, whatever the table's
statistics say and however much it grew since a connection cached the function's plan: `held_open_findings(locks,
kinds, subjects, codes)` takes the problems' advisory locks, as `open_findings_held` (0015) does, then reads each
problem (the n-th kind, subject and code) with an equality on every column of the index of open findings.

0015 bounded one index scan with `= ANY` on each column. With statistics of a small table (a new district's first
day, a restored database not yet analyzed) the planner saw no difference between a descent per combination of
values and one descent on the first column with the rest as a filter, chose the latter, and so read every open
finding of every household in each call: 9.5 ms a call at 20,000 open findings against 0.06 ms once analyzed, and
PostgreSQL's CPU a finding grew with the table through a benchmark run until autovacuum analyzed it.

A look-up per problem is not enough on its own: PL/pgSQL keeps a generic plan for a connection after a few calls,
and one made while the table held a few dozen rows scans it, once per problem, until the next ANALYZE. The function
therefore runs with sequential scans off: its reads are look-ups of single rows, for which a scan is never right.
On a table never analyzed the planner may take `ix_finding_subject`, which also holds the problem's closed
findings: a subject's own history, not the table.

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
RETURNS SETOF finding LANGUAGE plpgsql VOLATILE SET enable_seqscan = off AS $$
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
