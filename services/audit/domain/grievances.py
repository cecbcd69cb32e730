"""Grievances (群众诉求): intake from the 12317 hotline, letters and visits (信访) and online reports, the reading of
them within the reader's area, the opening of a complainant's contact (with who, when and why), triage into a finding
or a recorded reason, and the reply to the complainant.

A grievance is not published as an event: its words are the public's, and no other service acts on it. Each change
is still an entry of the tamper-evident log (`audit:grievance_<change>/<id>`, hashing the change's facts, never the
contact), and a finding it opens is recorded and published like any other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.domain import ledger
from services.audit.domain.filters import Days
from services.audit.domain.findings import record_finding
from services.audit.models import Grievance, GrievanceContactReveal
from services.audit.rules import grievances as rules
from services.audit.rules.contact_vault import Contact, ContactVault
from services.audit.rules.findings import DeadlinePolicy, EvidenceRef, ProblemFacts
from services.audit.rules.periods import district_day
from shared.api.pagination import Key
from shared.auth import Principal
from shared.contracts.audit import Severity, SubjectKind
from shared.contracts.households import ProblemCategory
from shared.db import keyset
from shared.errors import Conflict, NotFound

SOURCE = "grievances"  # findings opened from grievances, as `poverty_findings_opened_total` counts them


@dataclass(frozen=True)
class Intake:
    """A grievance as taken: channel, day, place, what and whom it is about, and how to reach the complainant."""

    channel: rules.GrievanceChannel
    received_on: date
    area_code: str
    summary: str
    anonymous: bool
    contact: Contact | None = None
    about_kind: SubjectKind | None = None
    about_id: str | None = None
    about_person: str | None = None


@dataclass(frozen=True)
class Triage:
    """The decision on a grievance and the officer's note (what was found, or why nothing was); a finding also
    names its category and code, and may be judged graver than the rules say."""

    decision: rules.TriageDecision
    note: str
    category: ProblemCategory | None = None
    code: str | None = None
    severity: Severity | None = None


@dataclass(frozen=True)
class GrievanceFilter:
    status: rules.GrievanceStatus | None = None
    channel: rules.GrievanceChannel | None = None
    area_code: str | None = None
    overdue: bool | None = None
    received: Days = field(default_factory=Days)


def _log(session: AsyncSession, change: str, entry_id: UUID, facts: dict[str, Any]) -> None:
    """An entry of the tamper-evident log for a grievance's change (the facts hashed, never a contact)."""
    payload = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    ledger.append(
        session, source=f"audit:grievance_{change}/{entry_id}", event_type=f"audit.grievance_{change}", payload=payload
    )


def receive_grievance(
    session: AsyncSession,
    intake: Intake,
    *,
    vault: ContactVault,
    response_days: int,
    actor: Principal,
    today: date,
    now: datetime,
) -> Grievance:
    """Take a grievance in the actor's area: its contact sealed, its reply due `response_days` after receipt."""
    actor.ensure_reach(intake.area_code)
    rules.check_intake(
        received_on=intake.received_on, anonymous=intake.anonymous, has_contact=intake.contact is not None, today=today
    )
    grievance = Grievance(
        channel=intake.channel,
        received_on=intake.received_on,
        area_code=intake.area_code,
        about_kind=intake.about_kind,
        about_id=intake.about_id,
        about_person=intake.about_person,
        summary=intake.summary,
        anonymous=intake.anonymous,
        status=rules.GrievanceStatus.RECEIVED,
        response_due_on=rules.response_due_on(intake.received_on, response_days),
        recorded_by=actor.subject,
        recorded_at=now,
    )
    if intake.contact is not None:
        sealed = vault.seal(intake.contact, grievance_id=grievance.id)
        grievance.contact_kid, grievance.contact_ciphertext = sealed.kid, sealed.ciphertext
        grievance.contact_masked = sealed.masked
    session.add(grievance)
    _log(session, "received", grievance.id, {"id": grievance.id, "channel": grievance.channel, "by": actor.subject})
    return grievance


async def get_grievance(
    session: AsyncSession, grievance_id: UUID, actor: Principal, *, lock: bool = False
) -> Grievance:
    """A grievance within the actor's area (locked for a change when `lock`); NotFound, or Forbidden outside it."""
    grievance = await session.get(Grievance, grievance_id, with_for_update=lock)
    if grievance is None:
        raise NotFound("No grievance has this id.")
    actor.ensure_reach(grievance.area_code)
    return grievance


async def list_grievances(
    session: AsyncSession, actor: Principal, flt: GrievanceFilter, *, today: date, after: Key | None, limit: int
) -> list[Grievance]:
    """Grievances within the actor's area, latest received first: (received_on, id) descending."""
    stmt = select(Grievance)
    if actor.is_area_scoped:
        stmt = stmt.where(col(Grievance.area_code).startswith(actor.area or "\0"))
    if flt.area_code is not None:
        actor.ensure_reach(flt.area_code)
        stmt = stmt.where(col(Grievance.area_code).startswith(flt.area_code))
    if flt.status is not None:
        stmt = stmt.where(col(Grievance.status) == flt.status)
    if flt.channel is not None:
        stmt = stmt.where(col(Grievance.channel) == flt.channel)
    if flt.overdue is not None:
        # `rules.is_unanswered` as a condition: not replied, and today is past the last day of the term.
        late = (col(Grievance.status) != rules.GrievanceStatus.REPLIED) & (col(Grievance.response_due_on) < today)
        stmt = stmt.where(late if flt.overdue else ~late)
    stmt = stmt.where(*flt.received.of_days(col(Grievance.received_on)))
    stmt = keyset(stmt, [col(Grievance.received_on), col(Grievance.id)], after, limit=limit, descending=True)
    return list((await session.scalars(stmt)).all())


async def reveal_contact(
    session: AsyncSession, grievance_id: UUID, *, reason: str, vault: ContactVault, actor: Principal, now: datetime
) -> tuple[Contact, GrievanceContactReveal]:
    """Open a grievance's contact for the actor, recording who, when and why (a row and an entry of the log)."""
    grievance = await get_grievance(session, grievance_id, actor)
    if grievance.contact_kid is None or grievance.contact_ciphertext is None:
        raise Conflict("This report is anonymous: it has no contact.")
    try:
        contact = vault.open(grievance.contact_kid, grievance.contact_ciphertext, grievance_id=grievance.id)
    except ValueError as exc:  # the key was retired, or the row was tampered with: nothing to show, nothing logged
        raise Conflict("This contact cannot be opened with the configured keys.") from exc
    reveal = GrievanceContactReveal(
        grievance_id=grievance.id, revealed_by=actor.subject, revealed_at=now, reason=reason
    )
    session.add(reveal)
    _log(session, "contact_revealed", reveal.id, reveal_facts(reveal))
    return contact, reveal


def reveal_facts(reveal: GrievanceContactReveal) -> dict[str, Any]:
    """What the log's entry of a reveal hashes: the reveal's row, so the row can be checked against the log."""
    return {
        "id": str(reveal.id),
        "grievance_id": str(reveal.grievance_id),
        "revealed_by": reveal.revealed_by,
        "revealed_at": reveal.revealed_at.isoformat(),
        "reason": reveal.reason,
    }


async def list_reveals(
    session: AsyncSession, grievance_id: UUID, actor: Principal, *, after: Key | None, limit: int
) -> list[GrievanceContactReveal]:
    """Who opened a grievance's contact, oldest first: (revealed_at, id)."""
    await get_grievance(session, grievance_id, actor)
    stmt = select(GrievanceContactReveal).where(col(GrievanceContactReveal.grievance_id) == grievance_id)
    columns = [col(GrievanceContactReveal.revealed_at), col(GrievanceContactReveal.id)]
    return list((await session.scalars(keyset(stmt, columns, after, limit=limit))).all())


async def triage(
    session: AsyncSession,
    grievance_id: UUID,
    decision: Triage,
    *,
    policy: DeadlinePolicy,
    vault: ContactVault,
    actor: Principal,
    now: datetime,
) -> Grievance:
    """Triage a received grievance once: open a finding on what it is about (its area as a unit when it names no
    subject), found the day it is triaged (the complaint is confirmed then; `received_on` stays the grievance's), or
    record why none."""
    grievance = await get_grievance(session, grievance_id, actor, lock=True)
    rules.check_triage(grievance.status, decision.decision, category=decision.category, code=decision.code)
    if (contact := _contact(grievance, vault)) is not None:
        rules.check_note(decision.note, name=contact.name, phone=contact.phone)
    if decision.decision is rules.TriageDecision.FINDING:
        finding = await record_finding(
            session, _facts(grievance, decision, actor, now=now), policy=policy, now=now, source=SOURCE
        )
        grievance.finding_id = finding.id
    grievance.status = rules.GrievanceStatus.TRIAGED
    grievance.triaged_by, grievance.triaged_at, grievance.triage_note = actor.subject, now, decision.note
    facts = {"id": grievance.id, "decision": decision.decision, "finding_id": grievance.finding_id, "by": actor.subject}
    _log(session, "triaged", grievance.id, facts)
    return grievance


def _contact(grievance: Grievance, vault: ContactVault) -> Contact | None:
    """The complainant's contact, to keep it out of the note (never returned); None for an anonymous report."""
    if grievance.contact_kid is None or grievance.contact_ciphertext is None:
        return None
    try:
        return vault.open(grievance.contact_kid, grievance.contact_ciphertext, grievance_id=grievance.id)
    except ValueError as exc:
        raise Conflict("This contact cannot be opened with the configured keys.") from exc


def _facts(grievance: Grievance, decision: Triage, actor: Principal, *, now: datetime) -> ProblemFacts:
    assert decision.category is not None and decision.code is not None  # rules.check_triage
    return ProblemFacts(
        subject_kind=SubjectKind(grievance.about_kind or SubjectKind.UNIT),
        subject_id=grievance.about_id or grievance.area_code,
        area_code=grievance.area_code,
        category=decision.category,
        code=decision.code,
        description=rules.finding_description(decision.note),
        source_ref=str(grievance.id),
        stated_severity=decision.severity,
        # A complaint is a problem found only once triage confirms it: its term runs from then, not from the call
        # (a grievance received days ago is not overdue at triage), and triage is no late reporting.
        found_on=district_day(now),
        reported_on=district_day(now),
        recorded_by=actor.subject,
        evidence=(
            EvidenceRef(kind="document", reference=f"{rules.EVIDENCE_PREFIX}{grievance.id}", note=grievance.channel),
        ),
    )


async def reply(
    session: AsyncSession,
    grievance_id: UUID,
    *,
    replied_on: date,
    text: str,
    actor: Principal,
    today: date,
) -> Grievance:
    """Record the reply to the complainant, once, after triage."""
    grievance = await get_grievance(session, grievance_id, actor, lock=True)
    rules.check_reply(grievance.status, replied_on=replied_on, received_on=grievance.received_on, today=today)
    grievance.status = rules.GrievanceStatus.REPLIED
    grievance.replied_on, grievance.reply, grievance.replied_by = replied_on, text, actor.subject
    _log(session, "replied", grievance.id, {"id": grievance.id, "replied_on": replied_on, "by": actor.subject})
    return grievance
