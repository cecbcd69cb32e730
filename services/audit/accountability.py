"""Accountability (问责): the discipline commission's decisions on referrals, against named people, and the
named notice (实名制通报) produced from them. Names are personal data: kept here, never in events or logs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.documents import markdown_cell as cell
from services.audit.events import emit
from services.audit.models import AccountabilityAction, DisciplineReferral, Finding
from shared.auth import Principal
from shared.contracts.audit import AccountabilityActionRecorded, AccountabilityKind, SubjectKind
from shared.errors import InvalidInput, NotFound
from shared.timeutil import district_today

KIND_LABELS = {
    AccountabilityKind.TALK: "约谈",
    AccountabilityKind.CRITICISM_NOTICE: "通报批评",
    AccountabilityKind.ADMONISHMENT: "诫勉",
    AccountabilityKind.SANCTION: "处分",
}


@dataclass(frozen=True)
class Decision:
    """The commission's decision about one person."""

    kind: AccountabilityKind
    person_name: str
    person_unit: str
    person_position: str | None
    decided_on: date
    notes: str | None = None


def check_decision_date(decided_on: date, *, referred_on: date, today: date) -> None:
    """A decision is dated between the referral it answers and today (district calendar)."""
    if decided_on > today:
        raise InvalidInput("A decision cannot be dated in the future.")
    if decided_on < referred_on:
        raise InvalidInput("A decision cannot be dated before the referral it answers.")


async def record_action(
    session: AsyncSession, referral_id: UUID, decision: Decision, *, actor: Principal, now: datetime
) -> AccountabilityAction:
    """Record the commission's decision on a referral against a named person."""
    referral = await session.get(DisciplineReferral, referral_id)
    if referral is None:
        raise NotFound("No referral has this id.")
    referred_on = district_today(referral.referred_at)
    check_decision_date(decision.decided_on, referred_on=referred_on, today=district_today(now))
    finding = await session.get(Finding, referral.finding_id)
    if finding is None:
        raise NotFound("No referral has this id.")
    action = AccountabilityAction(
        referral_id=referral.id,
        finding_id=referral.finding_id,
        kind=decision.kind,
        person_name=decision.person_name,
        person_position=decision.person_position,
        person_unit=decision.person_unit,
        decided_on=decision.decided_on,
        notes=decision.notes,
        recorded_by=actor.subject,
        recorded_at=now,
    )
    session.add(action)
    emit(
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
    session: AsyncSession, *, start: date, end: date
) -> list[tuple[AccountabilityAction, Finding]]:
    """Actions decided from `start` to `end` (inclusive), with the finding each answers, oldest first."""
    if end < start:
        raise InvalidInput("The period ends before it starts.")
    stmt = (
        select(AccountabilityAction, Finding)
        .join(Finding, col(Finding.id) == col(AccountabilityAction.finding_id))
        .where(col(AccountabilityAction.decided_on) >= start, col(AccountabilityAction.decided_on) <= end)
        .order_by(col(AccountabilityAction.decided_on), col(AccountabilityAction.recorded_at))
    )
    return [(action, finding) for action, finding in (await session.execute(stmt)).tuples().all()]


def named_notice_markdown(rows: list[tuple[AccountabilityAction, Finding]], *, start: date, end: date) -> str:
    """The named notice (实名制通报) as a readable document: who, which unit, what decision, for what problem."""
    lines = [
        f"# 实名制通报 Named notice {start.isoformat()} – {end.isoformat()}",
        "",
        f"{len(rows)} accountability decision(s).",
        "",
        "| # | Decided | Name | Unit | Position | Decision | Problem | Area |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for number, (action, finding) in enumerate(rows, start=1):
        kind = AccountabilityKind(action.kind)
        lines.append(
            f"| {number} | {action.decided_on.isoformat()} | {cell(action.person_name)} | {cell(action.person_unit)}"
            f" | {cell(action.person_position)} | {KIND_LABELS[kind]} ({kind}) | {cell(finding.description)}"
            f" | {finding.area_code} |"
        )
    return "\n".join(lines) + "\n"
