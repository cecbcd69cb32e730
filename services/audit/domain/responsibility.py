"""Responsible people (责任人): the area's officers (乡镇扶贫干部) the district office sets, who answers for a
finding when it opens, and a finding handed to another person (责任人变更), each change recorded and notified."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import Select, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from services.audit.domain.notifications import notify
from services.audit.events import publish
from services.audit.models import AreaOfficer, Finding, FindingStatus, RectificationTask, ResponsibilityChange
from services.audit.rules.findings import ProblemFacts
from services.audit.rules.notifications import NotificationKind
from services.audit.rules.referrals import ensure_may_reassign
from services.audit.rules.responsibility import (
    Responsibility,
    areas_holding,
    late_reporter,
    officer_for,
    responsibility,
)
from shared.api.pagination import Key
from shared.auth import Principal
from shared.contracts.accountability import ResponsiblePerson, ResponsibleRole
from shared.contracts.audit import FindingReassigned, SubjectKind
from shared.db import keyset, one_of_parameter
from shared.errors import NotFound, RuleViolation

_OFFICERS = "audit_area_officers"


def _as_person(officer: AreaOfficer) -> ResponsiblePerson:
    return ResponsiblePerson(
        person_id=officer.person_id, name=officer.name, unit=officer.unit, role=ResponsibleRole.TOWNSHIP_OFFICER
    )


def _known(session: AsyncSession) -> dict[str, ResponsiblePerson | None]:
    """The area officers this transaction has looked up, by area code (None: the area has none)."""
    known: dict[str, ResponsiblePerson | None] = session.info.setdefault(_OFFICERS, {})
    return known


async def load_area_officers(session: AsyncSession, area_codes: Iterable[str]) -> None:
    """Look up the officers of every area holding these (a consumer's batch of problems) in one query."""
    known = _known(session)
    wanted = sorted({code for area in area_codes for code in areas_holding(area)} - known.keys())
    if not wanted:
        return
    stmt = _officers_of(session.get_bind().dialect.name)
    found = {
        officer.area_code: _as_person(officer) for officer in (await session.scalars(stmt, {"areas": wanted})).all()
    }
    known.update({code: found.get(code) for code in wanted})


@functools.cache
def _officers_of(dialect: str) -> Select[tuple[AreaOfficer]]:
    return select(AreaOfficer).where(one_of_parameter(dialect, col(AreaOfficer.area_code), "areas"))


async def area_officer(session: AsyncSession, area_code: str) -> ResponsiblePerson | None:
    """The officer of the most specific area holding `area_code`, if any is set."""
    await load_area_officers(session, [area_code])
    officers = {code: person for code, person in _known(session).items() if person is not None}
    return officer_for(officers, area_code)


async def responsible_for(session: AsyncSession, facts: ProblemFacts) -> Responsibility:
    """Who answers for a problem: the person its source names, else the inspector's, else the area's officer
    (looked up only then), else the township office."""
    officer = None
    if facts.responsible is None and facts.responsible_person is None and facts.responsible_unit is None:
        officer = await area_officer(session, facts.area_code)
    return responsibility(
        area_code=facts.area_code,
        named=facts.responsible,
        person=facts.responsible_person,
        unit=facts.responsible_unit,
        officer=officer,
    )


async def reporter_of(session: AsyncSession, facts: ProblemFacts, who: Responsibility) -> Responsibility:
    """Who reported a problem late: its person when they found it themselves, else the area's officer (looked up
    only then), else the township office (`rules.responsibility.late_reporter`)."""
    finder = facts.found_by or facts.recorded_by
    officer = None if finder is not None and finder == who.person_id else await area_officer(session, facts.area_code)
    return late_reporter(who, finder=finder, officer=officer, area_code=facts.area_code)


async def set_area_officer(
    session: AsyncSession, area_code: str, person: ResponsiblePerson, *, actor: Principal, now: datetime
) -> AreaOfficer:
    """Set (or replace) the officer who answers for the area's problems when no one nearer is known. Findings
    already open keep their person: hand them over one by one (`reassign`)."""
    values = {
        "area_code": area_code,
        "person_id": person.person_id,
        "name": person.name,
        "unit": person.unit,
        "set_by": actor.subject,
        "set_at": now,
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(AreaOfficer).values(values)
    # One statement: two offices setting the same area at once end with the later one, neither fails.
    await session.execute(stmt.on_conflict_do_update(index_elements=[col(AreaOfficer.area_code)], set_=values))
    officer = await session.get(AreaOfficer, area_code, populate_existing=True)
    assert officer is not None  # just written
    _known(session)[area_code] = _as_person(officer)
    return officer


async def list_area_officers(
    session: AsyncSession, actor: Principal, *, after: Key | None, limit: int
) -> list[AreaOfficer]:
    """The officers of the areas within the actor's reach, by area code after the cursor's key."""
    stmt = select(AreaOfficer)
    if actor.is_area_scoped:
        stmt = stmt.where(col(AreaOfficer.area_code).startswith(actor.area or ""))
    return list((await session.scalars(keyset(stmt, [col(AreaOfficer.area_code)], after, limit=limit))).all())


async def reassign(
    session: AsyncSession,
    finding_id: UUID,
    person: ResponsiblePerson,
    *,
    reason: str,
    actor: Principal,
    now: datetime,
) -> ResponsibilityChange:
    """Hand an open finding to another responsible person: the change recorded with who decided and why, the
    finding updated, `FindingReassigned` published and the new person notified. RuleViolation for a closed finding
    or the person who already answers for it."""
    finding = await _finding(session, finding_id, actor, for_update=True)
    if finding.status != FindingStatus.OPEN:
        raise RuleViolation("The finding is closed: its responsible person no longer changes.")
    ensure_may_reassign(actor.acting_roles, referred=finding.referred_at is not None, category=finding.category)
    if finding.responsible_person_id == person.person_id:
        raise RuleViolation("This person already answers for the finding.")
    change = ResponsibilityChange(
        finding_id=finding.id,
        from_person_id=finding.responsible_person_id,
        from_person=finding.responsible_person,
        to_person_id=person.person_id,
        to_person=person.name,
        to_unit=person.unit,
        to_role=person.role.value,
        reason=reason,
        changed_by=actor.subject,
        changed_at=now,
    )
    session.add(change)
    finding.responsible_person_id, finding.responsible_person = person.person_id, person.name
    finding.responsible_unit, finding.responsible_role = person.unit, person.role.value
    publish(
        session,
        FindingReassigned(
            finding_id=finding.id,
            subject_kind=SubjectKind(finding.subject_kind),
            subject_id=finding.subject_id,
            change_id=change.id,
            responsible=person,
            changed_by=actor.subject,
        ),
    )
    task_id = await session.scalar(
        select(col(RectificationTask.id)).where(col(RectificationTask.finding_id) == finding.id)
    )
    await notify_assigned(session, finding, task_id=task_id, now=now)
    return change


async def notify_assigned(session: AsyncSession, finding: Finding, *, task_id: UUID | None, now: datetime) -> None:
    """Tell the finding's person it is theirs (no citizen's name: the problem's code, subject kind and area)."""
    found = finding.found_on.isoformat() if finding.found_on else "an unrecorded day"
    await notify(
        session,
        finding,
        NotificationKind.ASSIGNED,
        title=f"Finding assigned to you: {finding.code}",
        body=(
            f"A {finding.severity} {finding.category} finding ({finding.code}) on a {finding.subject_kind} in area "
            f"{finding.area_code}, found on {found}, is yours to answer for."
        ),
        now=now,
        task_id=task_id,
    )


async def _finding(session: AsyncSession, finding_id: UUID, actor: Principal, *, for_update: bool = False) -> Finding:
    """A finding within the actor's area (locked for a change); NotFound, or Forbidden outside it."""
    finding = await session.get(Finding, finding_id, with_for_update=for_update, populate_existing=for_update)
    if finding is None:
        raise NotFound("No finding has this id.")
    actor.ensure_reach(finding.area_code)
    return finding


async def changes_of(
    session: AsyncSession, finding_id: UUID, actor: Principal, *, after: Key | None, limit: int
) -> list[ResponsibilityChange]:
    """The finding's changes of responsible person, oldest first: (changed_at, id) after the cursor's key."""
    await _finding(session, finding_id, actor)
    stmt = select(ResponsibilityChange).where(col(ResponsibilityChange.finding_id) == finding_id)
    columns = [col(ResponsibilityChange.changed_at), col(ResponsibilityChange.id)]
    return list((await session.scalars(keyset(stmt, columns, after, limit=limit))).all())


async def responsibility_of(session: AsyncSession, finding_ids: Sequence[UUID]) -> dict[UUID, Responsibility]:
    """Who answers for each of these findings now, in one query (a page of referrals)."""
    if not finding_ids:
        return {}
    stmt = select(
        col(Finding.id),
        col(Finding.responsible_person_id),
        col(Finding.responsible_person),
        col(Finding.responsible_unit),
        col(Finding.responsible_role),
        col(Finding.area_code),
    ).where(col(Finding.id).in_(sorted(set(finding_ids))))
    found = {}
    for finding_id, person_id, person, unit, role, area in (await session.execute(stmt)).tuples().all():
        who = responsibility(area_code=area, person=person, unit=unit)
        found[finding_id] = Responsibility(
            person_id=person_id, person=who.person, unit=who.unit, role=ResponsibleRole(role) if role else None
        )
    return found


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_officers(session: Session) -> None:
    session.info.pop(_OFFICERS, None)
