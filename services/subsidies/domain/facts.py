"""The facts eligibility rules read (`rules/eligibility.py`), for every holder of a programme, as of a period's first
day: each fact's latest change on or before that day in its dated history (`FactChange`, `rules/fact_history.py`).
Loaded in chunks of households: one query for a chunk's households, one for their members and one for their facts'
latest changes, so a cycle of 100,000 holders stays in flat memory."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import date
from functools import lru_cache
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Row, String, Uuid, cast, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from services.subsidies.models import FactChange, HouseholdFacts, MemberFacts, Programme
from services.subsidies.rules import fact_history as history
from services.subsidies.rules.eligibility import HolderFacts
from services.subsidies.rules.periods import period_span
from services.subsidies.rules.vocabulary import Frequency, ProgrammeUnit
from shared.db import keyset, one_of

CHUNK = 5_000
NO_FACTS: dict[str, object] = {}  # a holder with no change on or before the day
NO_HOLDERS: dict[str, dict[str, object]] = {}  # a household none of whose holders has one
# A household's facts come packed in one text, each fact "holder key US fact US value" and RS between facts (the
# ASCII unit and record separators, which no key, fact name or JSON text holds raw): one row per household rather
# than one per fact, which the driver would take seconds longer to read for a district.
UNIT, RECORD = "\x1f", "\x1e"

_HOUSEHOLD = (
    col(HouseholdFacts.household_id),
    col(HouseholdFacts.area_code),
    col(HouseholdFacts.member_count),
)
_MEMBER = (
    col(MemberFacts.member_id),
    col(MemberFacts.household_id),
    col(MemberFacts.relationship_to_head),
    col(MemberFacts.birth_date),
    col(MemberFacts.died_on),
)


async def holder_facts(
    session: AsyncSession,
    programme: Programme,
    period: str,
    *,
    household_ids: Collection[UUID] | None = None,
    area_code: str | None = None,
) -> AsyncIterator[list[HolderFacts]]:
    """Chunks of every holder of the programme's unit (each household, or each member of one, living or not) with
    their facts as of the period's first day, by household id (then member id).

    `household_ids` limits the holders to those households; `area_code` to a township or village (a prefix);
    neither: the whole district.
    """
    first = period_span(period, Frequency(programme.frequency))[0]
    per_member = ProgrammeUnit(programme.unit) is ProgrammeUnit.MEMBER
    await session.flush()  # the queries below run on the session's connection, past its autoflush
    connection = await session.connection()
    by_range = household_ids is None
    async for households in _household_chunks(connection, household_ids, area_code):
        members = await _members_of(connection, households, by_range=by_range, dead_only=not per_member)
        latest = await _latest_changes(connection, households, first, by_range=by_range, per_member=per_member)
        yield [
            holder
            for h in households
            for holder in _holders(h, members[h.household_id], latest, first, per_member=per_member)
        ]


async def _household_chunks(
    connection: AsyncConnection, household_ids: Collection[UUID] | None, area_code: str | None
) -> AsyncIterator[Sequence[Row[Any]]]:
    # Core rows straight from the connection: no ORM entity loading for a whole district's households.
    base = select(*_HOUSEHOLD)
    if area_code is not None:
        base = base.where(col(HouseholdFacts.area_code).startswith(area_code))
    if household_ids is not None:
        ordered = sorted(set(household_ids))
        for start in range(0, len(ordered), CHUNK):
            wanted = one_of(
                connection.dialect, col(HouseholdFacts.household_id), ordered[start : start + CHUNK], Uuid()
            )
            stmt = base.where(wanted).order_by(col(HouseholdFacts.household_id))
            if rows := (await connection.execute(stmt)).all():
                yield rows
        return
    after: tuple[UUID] | None = None
    while rows := (
        await connection.execute(keyset(base, (col(HouseholdFacts.household_id),), after, limit=CHUNK))
    ).all():
        yield rows
        after = (rows[-1].household_id,)


async def _members_of(
    connection: AsyncConnection, households: Sequence[Row[Any]], *, by_range: bool, dead_only: bool
) -> dict[UUID, list[Row[Any]]]:
    """The members of a chunk of households, by household, in member id order (one query); `dead_only`: those dead
    now only (a household programme counts the living members then: those counted now and those dead since). Members
    of households in the chunk's range of ids but outside the chunk (another area's) are left out."""
    household = col(MemberFacts.household_id)
    stmt = select(*_MEMBER).where(_within(connection, household, households, by_range=by_range))
    if dead_only:
        stmt = stmt.where(col(MemberFacts.died_on).is_not(None))
    found: dict[UUID, list[Row[Any]]] = {h.household_id: [] for h in households}
    for row in (await connection.execute(stmt.order_by(household, col(MemberFacts.member_id)))).all():
        if (kept := found.get(row.household_id)) is not None:
            kept.append(row)
    return found


async def _latest_changes(
    connection: AsyncConnection, households: Sequence[Row[Any]], first: date, *, by_range: bool, per_member: bool
) -> dict[UUID, dict[str, dict[str, object]]]:
    """Each holder's facts on `first`, by household and holder key, for a chunk of households in one query: the
    database picks each fact's latest change on or before that day (a window over the holder's changes of it), so a
    long history is no more to read than a short one. A household programme reads its members' deaths only."""
    fc = FactChange
    wanted = [_within(connection, col(fc.household_id), households, by_range=by_range), col(fc.since) <= first]
    if not per_member:
        wanted.append(or_(col(fc.holder_key) == history.HOUSEHOLD_KEY, col(fc.fact) == history.ALIVE))
    newest = func.row_number().over(
        partition_by=(col(fc.household_id), col(fc.holder_key), col(fc.fact)), order_by=col(fc.since).desc()
    )
    entry = col(fc.holder_key) + literal(UNIT) + col(fc.fact) + literal(UNIT) + cast(col(fc.value), String)
    ranked = select(col(fc.household_id), entry.label("entry"), newest.label("newest")).where(*wanted).subquery()
    packed = (
        select(ranked.c.household_id, func.aggregate_strings(ranked.c.entry, RECORD))
        .where(ranked.c.newest == 1)
        .group_by(ranked.c.household_id)
    )
    latest: dict[UUID, dict[str, dict[str, object]]] = {}
    for household, entries in (await connection.execute(packed)).all():
        holders: dict[str, dict[str, object]] = defaultdict(dict)
        for entry_text in entries.split(RECORD):
            key, fact, value = entry_text.split(UNIT, 2)
            holders[key][fact] = _decoded(value)
        latest[household] = holders
    return latest


@lru_cache(maxsize=4_096)
def _decoded(text: str) -> object:
    """A value from its JSON text, once per distinct text: a district's facts hold a few dozen values."""
    return json.loads(text)


def _within(
    connection: AsyncConnection, household: Any, households: Sequence[Row[Any]], *, by_range: bool
) -> ColumnElement[bool]:
    """Rows of a chunk of households: a chunk of consecutive households by its range of ids (no list of 5,000
    parameters), one of chosen households by their ids."""
    if by_range:
        return household.between(households[0].household_id, households[-1].household_id)  # type: ignore[no-any-return]
    return one_of(connection.dialect, household, [h.household_id for h in households], Uuid())


def _holders(
    household: Row[Any],
    members: list[Row[Any]],
    latest: dict[UUID, dict[str, dict[str, object]]],
    first: date,
    *,
    per_member: bool,
) -> list[HolderFacts]:
    """The household's holders with their facts on `first`: its living members then are those counted now and those
    dead now but living then."""
    hid, own = household.household_id, latest.get(household.household_id, NO_HOLDERS)
    theirs = {m.member_id: own.get(str(m.member_id), NO_FACTS) for m in members}
    living = household.member_count + sum(m.died_on is not None and history.alive(theirs[m.member_id]) for m in members)
    values = history.household_values(own.get(history.HOUSEHOLD_KEY, NO_FACTS), living)
    if not per_member:
        return [HolderFacts(hid, None, household.area_code, values)]
    return [
        HolderFacts(
            hid,
            m.member_id,
            household.area_code,
            values
            | history.member_values(
                theirs[m.member_id], birth_date=m.birth_date, relationship=m.relationship_to_head, on=first
            ),
        )
        for m in members
    ]


async def living_members(
    session: AsyncSession, household_ids: Collection[UUID], *, on: date | None = None
) -> dict[UUID, int]:
    """Each household's members living on `on` (None: living now), in one query per chunk of households."""
    ordered = sorted(set(household_ids))
    counts: dict[UUID, int] = {}
    for start in range(0, len(ordered), CHUNK):
        wanted = ordered[start : start + CHUNK]
        rows = await session.execute(
            select(col(HouseholdFacts.household_id), col(HouseholdFacts.member_count)).where(
                one_of(session.get_bind().dialect, col(HouseholdFacts.household_id), wanted, Uuid())
            )
        )
        counts.update({row.household_id: row.member_count for row in rows.all()})
        if on is not None:
            counts.update(await _died_since_counts(session, wanted, on, counts))
    return counts


async def _died_since_counts(
    session: AsyncSession, household_ids: list[UUID], on: date, counts: dict[UUID, int]
) -> dict[UUID, int]:
    rows = await session.execute(
        select(col(MemberFacts.household_id), func.count())
        .where(
            one_of(session.get_bind().dialect, col(MemberFacts.household_id), household_ids, Uuid()),
            col(MemberFacts.died_on) >= on,
        )
        .group_by(col(MemberFacts.household_id))
    )
    return {household_id: counts[household_id] + died for household_id, died in rows.all()}
