"""Accountability (问责): the discipline commission's decisions on referrals, against named people, and the
decisions of a period, from which the named notice (实名制通报) is made. Names are personal data: kept here,
never in events or logs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.domain.filters import Facets
from services.audit.events import publish
from services.audit.models import AccountabilityAction, DisciplineReferral, Finding
from services.audit.rules.accountability import check_decision_date, ensure_decision_left
from services.audit.rules.periods import district_day
from services.audit.rules.responsibility import person_held_to_account
from shared.api.pagination import Key
from shared.auth import Principal
from shared.contracts.audit import AccountabilityActionRecorded, AccountabilityKind, SubjectKind
from shared.db import keyset
from shared.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class Decision:
    """The commission's decision about one person."""

    kind: AccountabilityKind
    person_name: str | None  # None: the finding's responsible person
    person_unit: str | None  # None: the finding's responsible unit
    person_position: str | None
    decided_on: date
    notes: str | None = None


async def record_action(
    session: AsyncSession, referral_id: UUID, decision: Decision, *, actor: Principal, now: datetime
) -> AccountabilityAction:
    """Record the commission's decision on a referral against a named person: the one given, else the finding's
    responsible person and unit (InvalidInput when the finding names no one either)."""
    referral = await session.get(DisciplineReferral, referral_id)
    if referral is None:
        raise NotFound("No referral has this id.")
    check_decision_date(decision.decided_on, referred_on=district_day(referral.referred_at), today=district_day(now))
    # Locked: two decisions recorded at once count each other (`DECISIONS_PER_FINDING`).
    finding = await session.get(Finding, referral.finding_id, with_for_update=True)
    if finding is None:
        raise NotFound("No referral has this id.")
    decided = await session.scalar(
        select(func.count()).where(col(AccountabilityAction.finding_id) == referral.finding_id)
    )
    ensure_decision_left(int(decided or 0))
    name, unit = person_held_to_account(
        decision.person_name,
        decision.person_unit,
        finding_person=finding.responsible_person,
        finding_unit=finding.responsible_unit,
    )
    action = AccountabilityAction(
        referral_id=referral.id,
        finding_id=referral.finding_id,
        kind=decision.kind,
        person_name=name,
        person_position=decision.person_position,
        person_unit=unit,
        decided_on=decision.decided_on,
        notes=decision.notes,
        recorded_by=actor.subject,
        recorded_at=now,
    )
    session.add(action)
    publish(
        session,
        AccountabilityActionRecorded(
            finding_id=finding.id,
            subject_kind=SubjectKind(finding.subject_kind),
            subject_id=finding.subject_id,
            action_id=action.id,
            referral_id=referral.id,
            kind=decision.kind,
            decided_on=decision.decided_on,
        ),
    )
    return action


async def actions_between(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    kind: AccountabilityKind | None = None,
    facets: Facets | None = None,
    after: Key | None = None,
    limit: int | None = None,
) -> list[tuple[AccountabilityAction, Finding]]:
    """Actions decided from `start` to `end` (inclusive), of one kind and on findings with the facets if asked,
    with the finding each answers, oldest first: (decided_on, recorded_at, id), after the cursor's key; all of them
    without a limit (the named notice)."""
    if end < start:
        raise InvalidInput("The period ends before it starts.")
    stmt = (
        select(AccountabilityAction, Finding)
        .join(Finding, col(Finding.id) == col(AccountabilityAction.finding_id))
        .where(col(AccountabilityAction.decided_on) >= start, col(AccountabilityAction.decided_on) <= end)
        .where(*(facets or Facets()).clauses())
    )
    if kind is not None:
        stmt = stmt.where(col(AccountabilityAction.kind) == kind)
    columns = [
        col(AccountabilityAction.decided_on),
        col(AccountabilityAction.recorded_at),
        col(AccountabilityAction.id),
    ]
    rows = await session.execute(keyset(stmt, columns, after, limit=limit))
    return [(action, finding) for action, finding in rows.tuples().all()]
