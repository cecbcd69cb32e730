"""The household roll (建档立卡户名册) as projects knows it, kept from `households.events`: where each registered
household is, its status, its members' birth dates, disabilities and deaths. Distribution plans and public-welfare
posts are decided from it; it holds no name and no ID number.

Every change is idempotent: an event sent again leaves the roll as it was.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.domain import posts, workshops
from services.projects.models import RollHousehold, RollMember
from shared.errors import NotFound


async def note_household(
    session: AsyncSession, *, household_id: UUID, area_code: str, member_count: int, now: datetime
) -> None:
    """A household was registered; a registration sent again changes nothing that happened since."""
    if await session.get(RollHousehold, household_id) is None:
        session.add(
            RollHousehold(household_id=household_id, area_code=area_code, member_count=member_count, updated_at=now)
        )


async def move_household(session: AsyncSession, *, household_id: UUID, area_code: str, now: datetime) -> None:
    """HouseholdUpdated carries the household's area whatever changed."""
    household = await rolled_household(session, household_id)
    if household.area_code != area_code:
        household.area_code, household.updated_at = area_code, now


async def change_status(session: AsyncSession, *, household_id: UUID, status: str, now: datetime) -> None:
    household = await rolled_household(session, household_id)
    household.status, household.updated_at = status, now


async def add_member(
    session: AsyncSession, *, household_id: UUID, member_id: UUID, birth_date: date, now: datetime
) -> None:
    """A member announced with the registration or added since. The registration counted its members and announces
    each after it, so the living members are at least those registered and at least those announced and alive."""
    household = await rolled_household(session, household_id)
    member = await session.get(RollMember, member_id)
    if member is not None:
        member.birth_date = birth_date
        return
    session.add(RollMember(member_id=member_id, household_id=household_id, birth_date=birth_date))
    await session.flush()
    living = await session.scalar(
        select(func.count()).where(col(RollMember.household_id) == household_id, col(RollMember.died_on).is_(None))
    )
    if (living or 0) > household.member_count:
        household.member_count, household.updated_at = int(living or 0), now


async def record_disability(session: AsyncSession, *, household_id: UUID, member_id: UUID, grade: int) -> None:
    member = await _member(session, household_id, member_id)
    member.disability_grade = grade


async def member_died(
    session: AsyncSession, *, household_id: UUID, member_id: UUID, died_on: date, now: datetime
) -> None:
    """A member died: a living member fewer, and the public-welfare post they held and the workshops that employed
    them end on the day of death, in the same transaction."""
    household = await rolled_household(session, household_id)
    member = await _member(session, household_id, member_id)
    if member.died_on is None:
        household.member_count, household.updated_at = max(household.member_count - 1, 0), now
    member.died_on = died_on
    await posts.end_at_death(session, member_id=member_id, died_on=died_on)
    await workshops.end_at_death(session, member_id=member_id, died_on=died_on)


async def rolled_household(session: AsyncSession, household_id: UUID) -> RollHousehold:
    """The household; NotFound while its registration has not arrived (the event is retried until it has)."""
    household = await session.get(RollHousehold, household_id)
    if household is None:
        raise NotFound("No registered household has this id yet.")
    return household


async def _member(session: AsyncSession, household_id: UUID, member_id: UUID) -> RollMember:
    """A member, kept on first mention: a disability or death may be the first thing heard of a member."""
    await rolled_household(session, household_id)
    member = await session.get(RollMember, member_id)
    if member is None:
        member = RollMember(member_id=member_id, household_id=household_id)
        session.add(member)
    return member
