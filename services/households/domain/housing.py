"""Housing safety (住房安全有保障): appraisals graded A-D; a C/D house is a problem with a renovation deadline,
and its renovation (危房改造) is accepted by a new appraisal that re-grades it.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import history
from services.households.domain.problems import report_problem
from services.households.events import publish
from services.households.models import Household, HousingAppraisal
from services.households.rules.dates import ensure_happened
from services.households.rules.housing import AppraisalFacts, renovation_deadline
from services.households.rules.vocabulary import UNSAFE_GRADES, AppraisalSource
from shared.contracts.households import HousingAppraised, HousingRenovated, ProblemCategory
from shared.db import keyset
from shared.errors import InvalidInput, NotFound, RuleViolation


async def _same_appraisal(
    session: AsyncSession, household: Household, facts: AppraisalFacts
) -> HousingAppraisal | None:
    same = select(HousingAppraisal).where(
        col(HousingAppraisal.household_id) == household.id,
        col(HousingAppraisal.appraised_on) == facts.appraised_on,
        col(HousingAppraisal.grade) == facts.grade,
    )
    return (await session.scalars(same)).first()


def _regrade(session: AsyncSession, household: Household, appraisal: HousingAppraisal) -> bool:
    """The household's housing grade is its latest appraisal's; whether this one is (an older one is history)."""
    if household.housing_appraised_on is None or appraisal.appraised_on >= household.housing_appraised_on:
        household.housing_grade, household.housing_appraised_on = appraisal.grade, appraisal.appraised_on
        session.add(household)
        return True
    return False


async def _announce(
    session: AsyncSession,
    household: Household,
    appraisal: HousingAppraisal,
    actor: str,
    visit_id: UUID | None,
    *,
    current: bool,
    now: datetime,
) -> None:
    due = appraisal.renovation_due
    changes = {"grade": appraisal.grade, "appraised_on": appraisal.appraised_on, "renovation_due": due}
    history.note(session, household.id, actor=actor, action="housing.appraised", changes=changes, now=now)
    publish(
        session,
        HousingAppraised(
            household_id=household.id,
            appraisal_id=appraisal.id,
            area_code=household.area_code,
            grade=appraisal.grade,
            appraised_on=appraisal.appraised_on,
            renovation_due=due,
        ),
    )
    if appraisal.grade in UNSAFE_GRADES and current:  # an unsafe grade a newer appraisal replaced is history
        await report_problem(
            session,
            household,
            category=ProblemCategory.HOUSING,
            code="housing_unsafe",
            description=f"Housing appraised grade {appraisal.grade} (unsafe); renovation due {due}.",
            found_on=appraisal.appraised_on,
            found_by=actor,
            problem_id=appraisal.id,
            visit_id=visit_id,
            housing_grade=appraisal.grade,
        )


async def record_appraisal(
    session: AsyncSession,
    household: Household,
    facts: AppraisalFacts,
    *,
    source: AppraisalSource,
    actor: str,
    default_days: int,
    now: datetime,
    today: date,
    visit_id: UUID | None = None,
) -> HousingAppraisal:
    """Record an appraisal at `now` (the same one again is a no-op); a C/D grade is published as a housing problem
    (found at `visit_id` when a visitor graded the house)."""
    ensure_happened(today, {"appraised_on": facts.appraised_on})
    due = renovation_deadline(facts.grade, facts.appraised_on, facts.renovation_due, default_days)
    existing = await _same_appraisal(session, household, facts)
    if existing is not None:
        return existing
    appraisal = HousingAppraisal(
        household_id=household.id,
        grade=facts.grade,
        appraised_on=facts.appraised_on,
        appraiser=facts.appraiser,
        renovation_due=due,
        source=source,
        recorded_at=now,
    )
    session.add(appraisal)
    current = _regrade(session, household, appraisal)
    await _announce(session, household, appraisal, actor, visit_id, current=current, now=now)
    return appraisal


async def _renovatable(
    session: AsyncSession, household: Household, appraisal_id: UUID, completed_on: date
) -> HousingAppraisal:
    appraisal = await session.get(HousingAppraisal, appraisal_id)
    if appraisal is None or appraisal.household_id != household.id:
        raise NotFound("The household has no housing appraisal with this id.")
    if appraisal.grade not in UNSAFE_GRADES:
        raise RuleViolation("Only a C or D house is renovated.")
    if appraisal.renovated_on is not None:
        raise RuleViolation("This house was already renovated.")
    if completed_on < appraisal.appraised_on:
        raise InvalidInput("The renovation cannot be completed before the appraisal.")
    return appraisal


async def record_renovation(
    session: AsyncSession,
    household: Household,
    appraisal_id: UUID,
    *,
    completed_on: date,
    new_grade: str,
    appraiser: str,
    actor: str,
    now: datetime,
    today: date,
) -> HousingAppraisal:
    """Accept the renovation of a C/D house at `now`: it is marked renovated and a new A/B appraisal re-grades it."""
    ensure_happened(today, {"completed_on": completed_on})
    appraisal = await _renovatable(session, household, appraisal_id, completed_on)
    appraisal.renovated_on = completed_on
    regraded = HousingAppraisal(
        household_id=household.id,
        grade=new_grade,
        appraised_on=completed_on,
        appraiser=appraiser,
        source=AppraisalSource.RENOVATION,
        recorded_at=now,
    )
    session.add_all([appraisal, regraded])
    _regrade(session, household, regraded)
    changes = {"appraisal_id": appraisal.id, "completed_on": completed_on, "grade": [appraisal.grade, new_grade]}
    history.note(session, household.id, actor=actor, action="housing.renovated", changes=changes, now=now)
    publish(
        session,
        HousingRenovated(
            household_id=household.id,
            appraisal_id=appraisal.id,
            new_appraisal_id=regraded.id,
            new_grade=new_grade,
            completed_on=completed_on,
        ),
    )
    return regraded


async def appraisals_of(
    session: AsyncSession, household: Household, *, after: tuple[date, datetime, UUID] | None, limit: int
) -> list[HousingAppraisal]:
    """Up to `limit` of the household's appraisals, oldest first (appraised_on, recorded_at, id), after the key."""
    order = (col(HousingAppraisal.appraised_on), col(HousingAppraisal.recorded_at), col(HousingAppraisal.id))
    stmt = select(HousingAppraisal).where(col(HousingAppraisal.household_id) == household.id)
    return list((await session.scalars(keyset(stmt, order, after, limit=limit))).all())
