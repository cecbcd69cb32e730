"""Moving a household through the status lifecycle (脱贫状态), judged by `rules.lifecycle`.

`transition` is the only code that writes `Household.status`; every transition is an event.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import conflicts, history
from services.households.domain.assessment import assess
from services.households.events import publish
from services.households.models import Household, HouseholdChange, MonitoringEpisode
from services.households.rules.lifecycle import (
    REASON_OFFICER,
    STATUS_CHANGED,
    check_effective_on,
    check_transition,
    effective_date,
)
from shared.contracts.households import HouseholdStatus, HouseholdStatusChanged


async def last_status_change(session: AsyncSession, household: Household) -> date | None:
    """The day the household's most recent status change took effect (None if it never changed)."""
    stmt = (
        select(col(HouseholdChange.changes))
        .where(col(HouseholdChange.household_id) == household.id, col(HouseholdChange.action) == STATUS_CHANGED)
        .order_by(col(HouseholdChange.id).desc())
        .limit(1)
    )
    changes = (await session.scalars(stmt)).first()
    return date.fromisoformat(json.loads(changes)["effective_on"]) if changes else None


async def has_open_episode(session: AsyncSession, household: Household) -> bool:
    stmt = select(col(MonitoringEpisode.id)).where(
        col(MonitoringEpisode.household_id) == household.id, col(MonitoringEpisode.status) == "open"
    )
    return (await session.scalars(stmt)).first() is not None


async def transition(
    session: AsyncSession,
    household: Household,
    target: HouseholdStatus,
    *,
    reason: str,
    actor: str,
    on: date,
    now: datetime,
    today: date,
    note: str = "",
) -> None:
    """Move the household to `target`, effective `on`, if the rules allow it.

    The guards are judged on today's facts and this year's income whatever `on` says: a backdated exit must not
    be judged on the income of a year the household has since fallen back from.
    """
    on = effective_date(on, today=today, last_change=await last_status_change(session, household))
    assessment = await assess(session, household, year=today.year, on=today)
    current = HouseholdStatus(household.status)
    check_transition(current, target, gaps=assessment.gaps, open_episode=await has_open_episode(session, household))
    household.status = target
    session.add(household)
    if current == HouseholdStatus.EXITED_NO_POLICIES:  # back on benefits: a power holder's kin is a beneficiary again
        await session.flush()  # the check reads the new status
        await conflicts.check_household(session, household.id, now=now, today=today)
    history.note(
        session,
        household.id,
        actor=actor,
        action=STATUS_CHANGED,
        changes={"status": [current, target], "reason": reason, "note": note, "effective_on": on},
        now=now,
    )
    publish(
        session,
        HouseholdStatusChanged(
            household_id=household.id,
            area_code=household.area_code,
            from_status=current,
            to_status=target,
            reason=reason,
            effective_on=on,
            changed_by=actor,
        ),
    )


async def officer_decision(
    session: AsyncSession,
    household: Household,
    target: HouseholdStatus,
    *,
    actor: str,
    on: date,
    now: datetime,
    today: date,
    note: str,
) -> None:
    """An officer's status change (脱贫 / 返贫), dated within the current year and after the last change."""
    check_effective_on(on, today=today, last_change=await last_status_change(session, household))
    await transition(
        session, household, target, reason=REASON_OFFICER, actor=actor, on=on, now=now, today=today, note=note
    )
