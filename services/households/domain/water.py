"""Drinking-water safety (安全饮水): checks of the source and its problems (e.g. excess fluoride, 氟超标)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import history
from services.households.domain.problems import report_problem
from services.households.events import publish
from services.households.models import Household, WaterCheck
from services.households.rules.dates import ensure_happened
from services.households.rules.vocabulary import WaterProblem, WaterSource
from services.households.rules.water import problem_codes
from shared.contracts.households import ProblemCategory, WaterChecked
from shared.db import keyset


async def _same_check(session: AsyncSession, household: Household, checked_on: date, joined: str) -> WaterCheck | None:
    same = select(WaterCheck).where(
        col(WaterCheck.household_id) == household.id,
        col(WaterCheck.checked_on) == checked_on,
        col(WaterCheck.problems) == joined,
    )
    return (await session.scalars(same)).first()


async def _announce(
    session: AsyncSession,
    household: Household,
    check: WaterCheck,
    codes: list[str],
    actor: str,
    *,
    current: bool,
    now: datetime,
) -> None:
    changes = {"checked_on": check.checked_on, "source": check.source, "problems": codes, "safe": check.safe}
    history.note(session, household.id, actor=actor, action="water.checked", changes=changes, now=now)
    publish(
        session,
        WaterChecked(
            household_id=household.id, check_id=check.id, safe=check.safe, problems=codes, checked_on=check.checked_on
        ),
    )
    if codes and current:  # a check older than the household's latest is history, not a problem found now
        await report_problem(
            session,
            household,
            category=ProblemCategory.WATER,
            code="unsafe_water",
            description="Drinking water is unsafe: " + ", ".join(codes) + ".",
            found_on=check.checked_on,
            found_by=actor,
            problem_id=check.id,
        )


async def record_water_check(
    session: AsyncSession,
    household: Household,
    *,
    checked_on: date,
    source: WaterSource,
    problems: Sequence[WaterProblem],
    checked_by: str,
    actor: str,
    now: datetime,
    today: date,
) -> WaterCheck:
    """Record a check at `now` (the same one again is a no-op); an unsafe result is published as a water
    problem."""
    ensure_happened(today, {"checked_on": checked_on})
    codes = problem_codes(problems)
    existing = await _same_check(session, household, checked_on, ",".join(codes))
    if existing is not None:
        return existing
    check = WaterCheck(
        household_id=household.id,
        checked_on=checked_on,
        source=source,
        problems=",".join(codes),
        safe=not codes,
        checked_by=checked_by,
        recorded_at=now,
    )
    session.add(check)
    current = household.water_checked_on is None or checked_on >= household.water_checked_on
    if current:
        household.water_safe, household.water_checked_on = check.safe, checked_on
        session.add(household)
    await _announce(session, household, check, codes, actor, current=current, now=now)
    return check


async def checks_of(
    session: AsyncSession, household: Household, *, after: tuple[date, datetime, UUID] | None, limit: int
) -> list[WaterCheck]:
    """Up to `limit` of the household's water checks, oldest first (checked_on, recorded_at, id), after the key."""
    order = (col(WaterCheck.checked_on), col(WaterCheck.recorded_at), col(WaterCheck.id))
    stmt = select(WaterCheck).where(col(WaterCheck.household_id) == household.id)
    return list((await session.scalars(keyset(stmt, order, after, limit=limit))).all())
