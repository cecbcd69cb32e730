"""What subsidies keeps of the household register (建档立卡户): the household and member facts eligibility rules
read, from `households.events`.

Every fact is set, never added to, so an event re-sent (under a new event id) changes nothing; a change dated
before the one already kept is older news and is ignored. A household's events follow its registration: one
that arrives first is NotFound (retried, then dead-lettered).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies.models import HouseholdFacts, MemberFacts
from shared.errors import NotFound


async def note_household(
    session: AsyncSession, *, household_id: UUID, area_code: str, member_count: int, now: datetime
) -> None:
    """Keep a registered household's area and members."""
    if await session.get(HouseholdFacts, household_id) is not None:
        return  # a registration re-sent: the moves and members since are this household's facts, not the first ones
    session.add(
        HouseholdFacts(household_id=household_id, area_code=area_code, member_count=member_count, updated_at=now)
    )


async def move_household(session: AsyncSession, *, household_id: UUID, area_code: str, now: datetime) -> None:
    """The household moved to another village (HouseholdUpdated carries its area whatever changed)."""
    household = await known_household(session, household_id)
    if household.area_code != area_code:
        household.area_code, household.updated_at = area_code, now


async def change_status(
    session: AsyncSession, *, household_id: UUID, previous: str, status: str, since: date, now: datetime
) -> None:
    """脱贫状态 changed from `previous` to `status` on `since`: a period that began before then is judged by
    `previous`. A change of the same day that does not follow from the status kept is a re-sent, superseded one."""
    household = await known_household(session, household_id)
    if status == household.status or _older(since, household.status_since, follows=previous == household.status):
        return
    household.previous_status, household.status, household.status_since = previous, status, since
    household.updated_at = now


async def change_allowance(
    session: AsyncSession, *, household_id: UUID, allowance: str, since: date, now: datetime
) -> None:
    """低保 / 特困供养 status changed on `since`: a period that began before then is judged by the one before."""
    household = await known_household(session, household_id)
    if allowance == household.allowance or _older(since, household.allowance_since, follows=True):
        return
    household.previous_allowance, household.allowance = household.allowance, allowance
    household.allowance_since, household.updated_at = since, now


def _older(since: date, kept: date | None, *, follows: bool) -> bool:
    """A change dated before the one kept, or of the same day but not following from what is kept: older news."""
    return kept is not None and (since < kept or (since == kept and not follows))


async def grade_housing(session: AsyncSession, *, household_id: UUID, grade: str, now: datetime) -> None:
    """The latest housing-safety appraisal's grade (住房安全鉴定: A-D; a renovated house is graded again)."""
    household = await known_household(session, household_id)
    if household.housing_grade != grade:
        household.housing_grade, household.updated_at = grade, now


async def open_monitoring(
    session: AsyncSession, *, household_id: UUID, risk_kind: str | None = None, now: datetime
) -> None:
    """A relapse-risk monitoring episode is open (防返贫监测); a flag adds its kind to the episode's."""
    household = await known_household(session, household_id)
    kinds = list(household.risk_kinds or [])
    if risk_kind is not None and risk_kind not in kinds:
        kinds = sorted([*kinds, risk_kind])
    if not household.monitoring_open or kinds != household.risk_kinds:
        household.monitoring_open, household.risk_kinds, household.updated_at = True, kinds, now


async def close_monitoring(session: AsyncSession, *, household_id: UUID, now: datetime) -> None:
    """The monitoring episode closed (risk eliminated, or relapsed): its flags go with it."""
    household = await known_household(session, household_id)
    if household.monitoring_open or household.risk_kinds:
        household.monitoring_open, household.risk_kinds, household.updated_at = False, [], now


async def add_member(
    session: AsyncSession,
    *,
    household_id: UUID,
    member_id: UUID,
    facts: dict[str, Any],
    now: datetime,
) -> None:
    """A member announced with the household's registration or added since: kept with their birth date,
    relationship and masked name and ID number (for the public notice, 公示).

    The registration counted its members and announces each of them after it: the household's living members are
    then at least those registered and at least those announced and not dead, so each member is counted once
    however often the event is re-sent.
    """
    household = await known_household(session, household_id)
    member = await session.get(MemberFacts, member_id)
    if member is None:
        member = MemberFacts(member_id=member_id, household_id=household_id)
        session.add(member)
        await session.flush([member])
        living = await session.scalar(
            select(func.count()).where(
                col(MemberFacts.household_id) == household_id, col(MemberFacts.died_on).is_(None)
            )
        )
        if (living or 0) > household.member_count:
            household.member_count, household.updated_at = int(living or 0), now
    for name, value in facts.items():
        setattr(member, name, value)


async def note_member(session: AsyncSession, *, household_id: UUID, member_id: UUID, facts: dict[str, Any]) -> None:
    """A member's facts changed (disability, schooling, medical cover): set them, on a member registered with the
    household (not yet kept) as on one added since."""
    await known_household(session, household_id)
    member = await session.get(MemberFacts, member_id)
    if member is None:
        member = MemberFacts(member_id=member_id, household_id=household_id)
        session.add(member)
    for name, value in facts.items():
        setattr(member, name, value)


async def member_died(
    session: AsyncSession, *, household_id: UUID, member_id: UUID, died_on: date, now: datetime
) -> None:
    """A member died (死亡注销): no longer counted among the household's living members; periods that began before
    the death still count them."""
    household = await known_household(session, household_id)
    member = await session.get(MemberFacts, member_id)
    if member is None:
        member = MemberFacts(member_id=member_id, household_id=household_id)
        session.add(member)
    if member.died_on is None:
        household.member_count, household.updated_at = max(household.member_count - 1, 0), now
    member.died_on = died_on


async def known_member_names(session: AsyncSession, household_id: UUID) -> dict[UUID, str | None]:
    """The household's members known to subsidies, with their names masked as a public notice shows them."""
    rows = await session.execute(
        select(col(MemberFacts.member_id), col(MemberFacts.name_masked)).where(
            col(MemberFacts.household_id) == household_id
        )
    )
    return {member_id: name for member_id, name in rows.all()}


async def known_household(session: AsyncSession, household_id: UUID) -> HouseholdFacts:
    """The registered household, or NotFound: its events must follow its registration (retried, then dead-lettered)."""
    household = await session.get(HouseholdFacts, household_id)
    if household is None:
        raise NotFound("A household event arrived for a household whose registration was never received.")
    return household
