"""A household's problems (问题): published for audit (问题 -> 整改) from visits, department data and monitoring,
and audit's findings about them that are still open, as audit's events report them."""

from __future__ import annotations

from datetime import datetime
from typing import Unpack
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.events import publish
from services.households.models import Household, HouseholdOpenFinding
from services.households.rules.problems import Problem, problem_event
from shared.db import keyset


def report_problem(session: AsyncSession, household: Household, **problem: Unpack[Problem]) -> None:
    """Publish one problem; audit turns it into a finding with a rectification task."""
    publish(session, problem_event(household.id, household.area_code, **problem))


async def open_findings(
    session: AsyncSession, household: Household, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[HouseholdOpenFinding]:
    """Up to `limit` of audit's findings about the household whose rectification is still open, in (last change,
    finding id) order after the cursor key."""
    order = (col(HouseholdOpenFinding.updated_at), col(HouseholdOpenFinding.finding_id))
    stmt = select(HouseholdOpenFinding).where(
        col(HouseholdOpenFinding.household_id) == household.id, col(HouseholdOpenFinding.closed).is_(False)
    )
    return list((await session.scalars(keyset(stmt, order, after, limit=limit))).all())
