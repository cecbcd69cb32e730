"""A household's problems (问题): published for audit (问题 -> 整改) from visits, department data and monitoring,
and audit's findings about them that are still open, as audit's events report them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Unpack
from uuid import UUID

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from services.households.events import publish
from services.households.models import HelperCadre, Household, HouseholdOpenFinding
from services.households.rules.problems import Problem, helper_cadre, problem_event
from shared.contracts.accountability import ResponsiblePerson
from shared.db import keyset

_CADRES = "households_helper_cadres"


async def report_problem(session: AsyncSession, household: Household, **problem: Unpack[Problem]) -> None:
    """Publish one problem; audit turns it into a finding with a rectification task. Its responsible person is the
    one given, else the household's helper cadre (none when unassigned)."""
    if "responsible" not in problem:
        problem["responsible"] = await responsible_for(session, household)
    publish(session, problem_event(household.id, household.area_code, **problem))


async def responsible_for(session: AsyncSession, household: Household) -> ResponsiblePerson | None:
    """The household's helper cadre (帮扶责任人) as its problems' responsible person; None when unassigned."""
    if household.helper_cadre_id is None:
        return None
    await load_cadres(session, [household.helper_cadre_id])
    return _known(session)[household.helper_cadre_id]


async def load_cadres(session: AsyncSession, cadre_ids: Iterable[UUID]) -> None:
    """Look up these helper cadres in one query, kept for the transaction: a department batch or a check over
    many households reads each cadre once, not once per problem."""
    known = _known(session)
    wanted = sorted(set(cadre_ids) - known.keys())
    if not wanted:
        return
    stmt = select(HelperCadre).where(col(HelperCadre.id).in_(wanted))
    found = {c.id: helper_cadre(c.subject, c.name, c.unit) for c in (await session.scalars(stmt)).all()}
    known.update({cadre_id: found.get(cadre_id) for cadre_id in wanted})


def _known(session: AsyncSession) -> dict[UUID, ResponsiblePerson | None]:
    known: dict[UUID, ResponsiblePerson | None] = session.info.setdefault(_CADRES, {})
    return known


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_cadres(session: Session) -> None:
    session.info.pop(_CADRES, None)


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
