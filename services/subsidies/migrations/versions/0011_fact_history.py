"""The facts' dated history (`factchange`): eligibility is judged on each fact's latest change on or before a
period's first day. Backfilled from the facts kept so far: a status or 低保 status from the day it took effect (the
one before it from ever before), a death from the day after it, every other fact known from ever before (no day of
its own was kept), and an open monitoring episode as one episode whose next closing closes it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.timeutil

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The names of `rules/fact_history.py` as they were written, whatever the module becomes.
EVER = date(1900, 1, 1)
EARLIER_EPISODE = "earlier"
CHUNK = 5_000

households = sa.table(
    "householdfacts",
    sa.column("household_id", sa.Uuid),
    sa.column("status", sa.String),
    sa.column("status_since", sa.Date),
    sa.column("previous_status", sa.String),
    sa.column("allowance", sa.String),
    sa.column("allowance_since", sa.Date),
    sa.column("previous_allowance", sa.String),
    sa.column("housing_grade", sa.String),
    sa.column("monitoring_open", sa.Boolean),
    sa.column("risk_kinds", sa.JSON),
)
members = sa.table(
    "memberfacts",
    sa.column("member_id", sa.Uuid),
    sa.column("household_id", sa.Uuid),
    sa.column("disability_grade", sa.Integer),
    sa.column("enrolment", sa.String),
    sa.column("school_stage", sa.String),
    sa.column("medical_insured", sa.Boolean),
    sa.column("premium_subsidised", sa.Boolean),
    sa.column("died_on", sa.Date),
)
changes = sa.table(
    "factchange",
    sa.column("household_id", sa.Uuid),
    sa.column("holder_key", sa.String),
    sa.column("fact", sa.String),
    sa.column("since", sa.Date),
    sa.column("member_id", sa.Uuid),
    sa.column("value", sa.JSON),
    sa.column("recorded_at", shared.timeutil.UTCDateTime()),
)


def upgrade() -> None:
    op.create_table(
        "factchange",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("holder_key", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("fact", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("recorded_at", shared.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("household_id", "holder_key", "fact", "since"),
    )
    connection, now = op.get_bind(), datetime.now(UTC)
    for table, key, history in (
        (households, households.c.household_id, _household),
        (members, members.c.member_id, _member),
    ):
        for rows in _chunks(connection, table, key):
            backfill = [{**change, "recorded_at": now} for row in rows for change in history(row)]
            if backfill:
                connection.execute(changes.insert(), backfill)


def downgrade() -> None:
    op.drop_table("factchange")


def _chunks(connection: Any, table: Any, key: Any) -> Iterator[list[Any]]:
    after = None
    while True:
        stmt = sa.select(table).order_by(key).limit(CHUNK)
        rows = connection.execute(stmt if after is None else stmt.where(key > after)).all()
        if not rows:
            return
        yield rows
        after = getattr(rows[-1], key.name)


def _change(household_id: Any, fact: str, value: object, since: date, member_id: Any = None) -> dict[str, Any]:
    holder = "-" if member_id is None else str(member_id)
    return {
        "household_id": household_id,
        "holder_key": holder,
        "fact": fact,
        "since": since,
        "member_id": member_id,
        "value": value,
    }


def _dated(
    household_id: Any, fact: str, value: str, since: date | None, previous: str | None, default: str
) -> list[dict[str, Any]]:
    """A status kept with the day it took effect, and the one before it from ever before; one kept with no day:
    from ever before (the registered default, held by a household with no change, is left out)."""
    if since is None:
        return [] if value == default else [_change(household_id, fact, value, EVER)]
    before = [] if previous is None else [_change(household_id, fact, previous, EVER)]
    return [*before, _change(household_id, fact, value, since)]


def _household(row: Any) -> list[dict[str, Any]]:
    h = row.household_id
    found = _dated(h, "household.status", row.status, row.status_since, row.previous_status, "in_poverty")
    found += _dated(h, "household.allowance", row.allowance, row.allowance_since, row.previous_allowance, "none")
    if row.housing_grade is not None:
        found.append(_change(h, "household.housing_grade", row.housing_grade, EVER))
    if row.monitoring_open:
        found.append(_change(h, f"household.monitoring_episode:{EARLIER_EPISODE}", True, EVER))
        found += [_change(h, f"household.risk_flag:{EARLIER_EPISODE}:{k}", True, EVER) for k in row.risk_kinds or []]
    return found


def _member(row: Any) -> list[dict[str, Any]]:
    h, m = row.household_id, row.member_id
    known = {
        "member.disability_grade": row.disability_grade,
        "member.enrolment": row.enrolment,
        "member.school_stage": row.school_stage,
        "member.medical_insured": row.medical_insured,
        "member.premium_subsidised": row.premium_subsidised,
    }
    found = [_change(h, fact, value, EVER, m) for fact, value in known.items() if value is not None]
    if row.died_on is not None:
        found.append(_change(h, "member.alive", False, row.died_on + timedelta(days=1), m))
    return found
