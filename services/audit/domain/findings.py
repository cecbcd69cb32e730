"""Findings (问题): a problem from any source becomes a finding, which opens a rectification task and may be
referred; the same open problem on the same subject is not opened twice (a repeat adds an occurrence)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, String, bindparam, event, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from services.audit.domain import campaigns, responsibility
from services.audit.domain.rectification import follow_recurrence, open_rectification
from services.audit.domain.referrals import refer_to_discipline_commission
from services.audit.events import publish
from services.audit.models import Finding, FindingStatus
from services.audit.rules.findings import (
    DeadlinePolicy,
    ProblemFacts,
    classify,
    ensure_room_for_evidence,
    is_graver,
    owner_for,
)
from services.audit.rules.periods import district_day
from services.audit.rules.referrals import referral_reason_at_opening
from services.audit.rules.responsibility import Responsibility, days_late, deadline, late_reporting
from shared.auth import Principal
from shared.contracts.audit import FindingRecorded, FindingRecurred, Severity
from shared.db import rows_of_function
from shared.entities import new_entity
from shared.errors import InvalidInput, NotFound
from shared.metrics import FINDINGS_OPENED, count_on_commit

MANUAL = "manual"  # the source of an inspector's finding


async def get_finding(session: AsyncSession, finding_id: UUID, actor: Principal) -> Finding:
    """A finding within the actor's area; NotFound, or Forbidden outside it."""
    finding = await session.get(Finding, finding_id)
    if finding is None:
        raise NotFound("No finding has this id.")
    actor.ensure_reach(finding.area_code)
    return finding


async def record_finding(
    session: AsyncSession, facts: ProblemFacts, *, policy: DeadlinePolicy, now: datetime, source: str = MANUAL
) -> Finding:
    """Record a problem: a repeat adds an occurrence; a new one opens a task and, if severe, a referral. `source`
    says where it came from (`manual`, or the service whose event reported it), counted in
    `poverty_findings_opened_total` once the finding's transaction commits.

    A new finding names who answers for it (`responsibility.responsible_for`), who is notified; keeps the day the
    problem was found (`found_on`, else today) and runs its deadline from that day (`rules.responsibility`)."""
    existing = await _open_finding(session, facts)
    if existing is not None:
        return await _recur(session, existing, facts, policy=policy, now=now)
    severity = classify(facts)
    reason = referral_reason_at_opening(severity)
    who = await responsibility.responsible_for(session, facts)
    found_on = min(facts.found_on or district_day(now), district_day(now))  # not found after audit heard of it
    finding = _new_finding(facts, severity, who, found_on=found_on, now=now, referred=reason is not None)
    session.add(finding)
    _known(session)[_key(finding)] = finding
    count_on_commit(session, FINDINGS_OPENED.labels(source))
    publish(
        session,
        FindingRecorded(
            finding_id=finding.id,
            subject_kind=facts.subject_kind,
            subject_id=facts.subject_id,
            area_code=facts.area_code,
            category=facts.category,
            code=facts.code,
            severity=severity,
            description=facts.description,
            responsible=who.named,
            found_on=found_on,
        ),
    )
    # The township office works the task (its officers start and submit it); the person answers for it.
    due = deadline(policy, severity, found_on=found_on, reported_at=now)
    task = open_rectification(session, finding, owner=owner_for(facts), deadline=due)
    await responsibility.notify_assigned(session, finding, task_id=task.id, now=now)
    if reason:
        await refer_to_discipline_commission(session, finding, reason=reason, now=now)
    # Reported long after it was found: the delay is a finding too (迟报/瞒报), against whoever reported it late.
    reported_on = min(facts.reported_on or district_day(now), district_day(now))  # never after audit heard of it
    if days_late(policy, found_on=found_on, reported_on=reported_on) is None:
        return finding
    reporter = await responsibility.reporter_of(session, facts, who)
    late = late_reporting(
        facts, reporter, finding_id=finding.id, found_on=found_on, reported_on=reported_on, policy=policy
    )
    if late is not None:
        await record_finding(session, late, policy=policy, now=now, source=source)
    return finding


def _new_finding(
    facts: ProblemFacts, severity: Severity, who: Responsibility, *, found_on: date, now: datetime, referred: bool
) -> Finding:
    """The finding row; one referred at opening carries its referral date from the start (no second write)."""
    return new_entity(
        Finding,
        subject_kind=facts.subject_kind,
        subject_id=facts.subject_id,
        area_code=facts.area_code,
        category=facts.category,
        code=facts.code,
        severity=severity,
        description=facts.description,
        source_ref=facts.source_ref,
        opened_at=now,
        last_seen_at=now,
        campaign_id=facts.campaign_id,
        responsible_unit=who.unit,
        responsible_person=who.person,
        responsible_person_id=who.person_id,
        responsible_role=who.role.value if who.role else None,
        found_on=found_on,
        recorded_by=facts.recorded_by,
        evidence=[e.as_json() for e in facts.evidence],
        referred_at=now if referred else None,
    )


async def record_manual_finding(
    session: AsyncSession, facts: ProblemFacts, *, policy: DeadlinePolicy, now: datetime
) -> Finding:
    """An inspector's finding, with evidence references, found on a day not after today (InvalidInput); its
    campaign, if named, must cover it."""
    if facts.found_on is not None and facts.found_on > district_day(now):
        raise InvalidInput("found_on cannot be in the future.")
    if facts.campaign_id is not None:
        await campaigns.ensure_covers(
            session, facts.campaign_id, area_code=facts.area_code, subject_id=facts.subject_id, now=now
        )
    return await record_finding(session, facts, policy=policy, now=now)


def _subject_locks(keys: list[OpenFindingKey]) -> list[int]:
    """The advisory locks that hold these subjects' problems until the transaction ends (PostgreSQL; SQLite has one
    writer at a time), in the one order every transaction takes them.

    Whoever records a problem, an inspector or the consumer, holds it first: a second recording of the same
    problem waits, then finds the first's finding and adds an occurrence, instead of failing on the unique index
    of open findings. The locks are taken in one order (sorted, in one statement), so that two transactions
    holding some each never wait for each other.
    """
    return sorted({_lock_id(key) for key in keys})


def _lock_id(key: OpenFindingKey) -> int:
    digest = hashlib.sha256("\x1f".join(key).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _recur(
    session: AsyncSession, finding: Finding, facts: ProblemFacts, *, policy: DeadlinePolicy, now: datetime
) -> Finding:
    if facts.evidence:
        ensure_room_for_evidence(len(finding.evidence), len(facts.evidence))
    finding.occurrences += 1
    finding.last_seen_at = now
    if facts.evidence:
        finding.evidence = [*finding.evidence, *(e.as_json() for e in facts.evidence)]
    graver = classify(facts)
    escalated = is_graver(graver, Severity(finding.severity))
    if escalated:
        finding.severity = graver
    publish(
        session,
        FindingRecurred(
            finding_id=finding.id,
            subject_kind=facts.subject_kind,
            subject_id=facts.subject_id,
            occurrences=finding.occurrences,
            severity=graver if escalated else None,
        ),
    )
    # Found worse than it was (a C-grade house now D): referred at once, as a new severe finding would be.
    reason = referral_reason_at_opening(graver) if escalated else None
    if reason:
        await refer_to_discipline_commission(session, finding, reason=reason, now=now)
    await follow_recurrence(session, finding, escalated=escalated, policy=policy, now=now)
    return finding


OpenFindingKey = tuple[str, str, str]  # subject kind, subject id, problem code
_OPEN = "audit_open_findings"


def _key(finding: Finding | ProblemFacts) -> OpenFindingKey:
    return (finding.subject_kind, finding.subject_id, finding.code)


def _known(session: AsyncSession) -> dict[OpenFindingKey, Finding | None]:
    """The open findings this transaction has looked up or opened (None: none was open)."""
    known: dict[OpenFindingKey, Finding | None] = session.info.setdefault(_OPEN, {})
    return known


def _is_open_match(finding: Finding | None, key: OpenFindingKey) -> bool:
    return finding is not None and _key(finding) == key and finding.status == FindingStatus.OPEN


async def load_open_findings(session: AsyncSession, keys: list[OpenFindingKey]) -> None:
    """Look up the open findings of many problems in one query (a consumer's batch of problems)."""
    known = _known(session)
    wanted = list({key for key in keys if key not in known})
    if not wanted:
        return
    # Exactly the problems wanted: a subject's other open findings may be known already, with changes not yet written
    # that a look-up of them (refreshed from the database) would throw away.
    if session.get_bind().dialect.name == "postgresql":
        kinds, subjects, codes = (list(column) for column in zip(*wanted, strict=True))
        stmt = _HELD_OPEN_FINDINGS
        parameters: dict[str, list[Any]] = {
            "locks": _subject_locks(wanted),
            "kinds": kinds,
            "subjects": subjects,
            "codes": codes,
        }
    else:
        stmt, parameters = _OPEN_FINDINGS, {"keys": wanted}
    with session.no_autoflush:
        found = {_key(finding): finding for finding in (await session.scalars(stmt, parameters)).all()}
    known.update({key: found.get(key) for key in wanted})


# Array parameters, not a list of key tuples: one prepared statement whatever the batch's size. PostgreSQL: the
# problems' locks, then each problem's open finding read once the locks are granted, in one round trip (migration
# 0016). The findings are locked and refreshed: a concurrent repeat waits instead of writing back a stale count of
# occurrences or evidence, and a finding closed meanwhile is no longer open when the lock is granted (the repeat then
# opens a new one).
_HELD_OPEN_FINDINGS = (
    select(Finding)
    .from_statement(
        rows_of_function(Finding, "held_open_findings(:locks, :kinds, :subjects, :codes)").bindparams(
            bindparam("locks", type_=ARRAY(BigInteger)),
            bindparam("kinds", type_=ARRAY(String)),
            bindparam("subjects", type_=ARRAY(String)),
            bindparam("codes", type_=ARRAY(String)),
        )
    )
    .execution_options(populate_existing=True)
)
# SQLite runs one writer at a time: no lock to take.
_OPEN_FINDINGS = (
    select(Finding)
    .where(
        tuple_(col(Finding.subject_kind), col(Finding.subject_id), col(Finding.code)).in_(
            bindparam("keys", expanding=True)
        ),
        col(Finding.status) == FindingStatus.OPEN,
    )
    .execution_options(populate_existing=True)
)


async def _open_finding(session: AsyncSession, facts: ProblemFacts) -> Finding | None:
    """The open finding on the same subject and problem, counting one opened earlier in this transaction.

    The look-up does not flush, and what it found (or opened) is kept for the transaction: a consumer
    applying many events in one transaction then writes all their rows together at commit, instead of a
    few statements per event. A concurrent recording of the same problem waits for this transaction to end.
    """
    key = _key(facts)
    known = _known(session)
    if key not in known:
        await load_open_findings(session, [key])
    found = known[key]
    return found if _is_open_match(found, key) else None


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_known(session: Session) -> None:
    session.info.pop(_OPEN, None)
