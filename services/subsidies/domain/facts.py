"""The facts eligibility rules read (`rules/eligibility.py`), for every holder of a programme, as of a period's first
day: loaded in chunks, one query for a chunk's households and one for their members, so a cycle of 100,000
holders stays in flat memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Row, Uuid, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from services.subsidies.models import HouseholdFacts, MemberFacts, Programme
from services.subsidies.rules.eligibility import HolderFacts
from services.subsidies.rules.periods import period_span
from services.subsidies.rules.vocabulary import Frequency, ProgrammeUnit
from shared.db import keyset, one_of

CHUNK = 5_000

_HOUSEHOLD = (
    col(HouseholdFacts.household_id),
    col(HouseholdFacts.area_code),
    col(HouseholdFacts.member_count),
    col(HouseholdFacts.status),
    col(HouseholdFacts.status_since),
    col(HouseholdFacts.previous_status),
    col(HouseholdFacts.allowance),
    col(HouseholdFacts.allowance_since),
    col(HouseholdFacts.previous_allowance),
    col(HouseholdFacts.housing_grade),
    col(HouseholdFacts.monitoring_open),
    col(HouseholdFacts.risk_kinds),
)
_MEMBER = (
    col(MemberFacts.member_id),
    col(MemberFacts.household_id),
    col(MemberFacts.relationship_to_head),
    col(MemberFacts.birth_date),
    col(MemberFacts.disability_grade),
    col(MemberFacts.enrolment),
    col(MemberFacts.school_stage),
    col(MemberFacts.medical_insured),
    col(MemberFacts.premium_subsidised),
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
    async for households in _household_chunks(connection, household_ids, area_code):
        members = await _members_of(connection, households, by_range=household_ids is None)
        yield [holder for h in households for holder in _holders(h, members[h.household_id], first, per_member)]


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
    connection: AsyncConnection, households: Sequence[Row[Any]], *, by_range: bool
) -> dict[UUID, list[Row[Any]]]:
    """The members of a chunk of households, by household, in member id order (one query). A chunk of consecutive
    households is read by its range of ids (no list of 5,000 parameters); members of households in the range but
    outside the chunk (another area's) are left out."""
    ids = [h.household_id for h in households]
    household = col(MemberFacts.household_id)
    within = household.between(ids[0], ids[-1]) if by_range else one_of(connection.dialect, household, ids, Uuid())
    stmt = select(*_MEMBER).where(within).order_by(household, col(MemberFacts.member_id))
    found: dict[UUID, list[Row[Any]]] = {household_id: [] for household_id in ids}
    for row in (await connection.execute(stmt)).all():
        if (kept := found.get(row.household_id)) is not None:
            kept.append(row)
    return found


def _holders(household: Row[Any], members: list[Row[Any]], first: date, per_member: bool) -> list[HolderFacts]:
    values = household_values(household, members, first)
    if not per_member:
        return [HolderFacts(household.household_id, None, household.area_code, values)]
    return [
        HolderFacts(household.household_id, m.member_id, household.area_code, values | member_values(m, first))
        for m in members
    ]


def household_values(household: Any, members: Sequence[Any], first: date) -> dict[str, object]:
    """A household's facts on `first`: a status or 低保 status changed after that day counts as it was before."""
    return {
        "household.status": _as_of(household.status, household.status_since, household.previous_status, first),
        "household.allowance": _as_of(
            household.allowance, household.allowance_since, household.previous_allowance, first
        ),
        "household.housing_grade": household.housing_grade,
        "household.monitoring_open": household.monitoring_open,
        "household.risk_kinds": list(household.risk_kinds or []),
        "household.member_count": household.member_count + sum(_died_since(m.died_on, first) for m in members),
    }


def _as_of(value: str, since: date | None, previous: str | None, first: date) -> str:
    return previous if since is not None and since > first and previous is not None else value


def _died_since(died_on: date | None, first: date) -> bool:
    """Counted as living on `first` though no longer counted now: died on or after that day."""
    return died_on is not None and died_on >= first


def member_values(member: Any, first: date) -> dict[str, object]:
    """A member's facts on `first`."""
    return {
        "member.age": _age(member.birth_date, first),
        "member.relationship": member.relationship_to_head,
        "member.alive": member.died_on is None or member.died_on >= first,
        "member.disability_grade": member.disability_grade,
        "member.enrolment": member.enrolment,
        "member.school_stage": member.school_stage,
        "member.medical_insured": member.medical_insured,
        "member.premium_subsidised": member.premium_subsidised,
    }


def _age(birth_date: date | None, on: date) -> int | None:
    """Whole years of age on `on` (None: the birth date is not known)."""
    if birth_date is None:
        return None
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


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
