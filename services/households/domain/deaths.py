"""A member's death (死亡注销), as the police's household register or civil affairs' funeral records report it.

The member is kept, for the history and for what was paid while they lived, and marked dead from the day: they no
longer count in the household's per-capita income, its exit assessment or its gaps, and subsidies ends what was
paid for them (`MemberDied`). Payments already counted for them for periods after the death are found (数据比对).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.households.domain import comparisons, history
from services.households.events import publish
from services.households.models import Household, Member
from services.households.rules.dates import ensure_happened
from shared.contracts.households import MemberDied
from shared.errors import Conflict, InvalidInput

BEFORE_BIRTH = "A member cannot die before being born."


async def record_death(
    session: AsyncSession,
    household: Household,
    member: Member,
    *,
    died_on: date,
    source: str,
    actor: str,
    now: datetime,
    today: date,
) -> Member:
    """Record the member's death on `died_on` (not after `today`, not before their birth), reported by `source`;
    the caller holds the household locked. A second death record is a Conflict (409), changing nothing."""
    ensure_happened(today, {"died_on": died_on})
    if died_on < member.birth_date:
        errors = [{"field": "body.died_on", "message": "before the member's birth", "code": "before_birth"}]
        raise InvalidInput(BEFORE_BIRTH, errors=errors)
    if member.died_on is not None:
        raise Conflict("The member's death is already recorded.")
    member.died_on, member.death_source = died_on, source
    session.add(member)
    changes = {"member_id": member.id, "died_on": died_on, "source": source}
    history.note(session, household.id, actor=actor, action="member.died", changes=changes, now=now)
    publish(session, MemberDied(household_id=household.id, member_id=member.id, died_on=died_on))
    await comparisons.after_death(session, household, member, died_on=died_on, today=today, now=now)
    return member
