"""What subsidies keeps of the household register (建档立卡户: area and members), from `households.events`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.subsidies.models import AddedMember, EligibleHousehold
from shared.errors import NotFound


async def note_household(
    session: AsyncSession, *, household_id: UUID, area_code: str, member_count: int, now: datetime
) -> None:
    """Keep a registered household's area and members."""
    if await session.get(EligibleHousehold, household_id) is not None:
        return  # a registration re-sent: the moves and members since are this household's facts, not the first ones
    session.add(
        EligibleHousehold(household_id=household_id, area_code=area_code, member_count=member_count, updated_at=now)
    )


async def move_household(session: AsyncSession, *, household_id: UUID, area_code: str, now: datetime) -> None:
    """The household moved to another village (HouseholdUpdated carries its area whatever changed)."""
    household = await known_household(session, household_id)
    if household.area_code != area_code:
        household.area_code, household.updated_at = area_code, now


async def add_member(session: AsyncSession, *, household_id: UUID, member_id: UUID, now: datetime) -> None:
    """Count a member who joined a registered household, once however often the event is re-sent."""
    household = await known_household(session, household_id)
    if await session.get(AddedMember, member_id) is not None:
        return
    session.add(AddedMember(member_id=member_id, household_id=household_id))
    household.member_count, household.updated_at = household.member_count + 1, now


async def known_household(session: AsyncSession, household_id: UUID) -> EligibleHousehold:
    """The registered household, or NotFound: its events must follow its registration (retried, then dead-lettered)."""
    household = await session.get(EligibleHousehold, household_id)
    if household is None:
        raise NotFound("A household event arrived for a household whose registration was never received.")
    return household
