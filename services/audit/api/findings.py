"""Findings (问题): listing within the caller's area, an inspector's manual entry, a subject's history."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.api.deps import FindingFacets, Inspector, Policy, Reader, Span
from services.audit.domain import findings, history, overviews
from services.audit.models import FindingStatus
from services.audit.rules.findings import ProblemFacts
from services.audit.schemas.common import UnitName
from services.audit.schemas.findings import FindingCreate, FindingHistoryRead, FindingRead, UuidSubject
from shared.api.clock import Now
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, PageRequest, Paging, datetime_key, uuid_key
from shared.auth import Principal
from shared.contracts.audit import SubjectKind
from shared.http import Reading, Transaction
from shared.schemas import QueryText

router = APIRouter(tags=["findings"])
# The rule of a finding's `responsible_unit` and a unit subject's `subject_id`: every unit recorded is reachable.
UnitPath = Annotated[UnitName, Path(description="the unit's name, as its findings give it (URL-encoded)")]
_RECORDED: dict[int | str, dict[str, Any]] = {
    200: {
        "model": FindingRead,
        "description": "The same open problem again: the open finding, one occurrence more (nothing new opened); or "
        f"a retry with the same `Idempotency-Key`. {REPLAY_RESPONSE[200]['description']}",
    }
}


@router.get("/findings")
async def list_findings(
    session: Reading,
    actor: Reader,
    paging: Paging,
    facets: FindingFacets,
    opened: Span,
    subject_id: QueryText | None = None,
    status: FindingStatus | None = None,
) -> Page[FindingRead]:
    """List findings (问题) within the caller's area, newest first

    Optionally of one subject (`subject_id` as findings carry it) or status, in an area (`area_code`, a prefix:
    outside a township office's own area, 403), of a category or severity, of the person answering for them
    (`responsible_person_id`), recorded by a campaign, opened from `from` to `to` (district calendar); a bad value
    is a 422. Pages run in (`opened_at`, `id`) descending order, which never changes: a finding opened while paging
    sorts before the first page and appears on none of the later ones.
    """
    flt = overviews.FindingFilter(subject_id=subject_id, status=status, facets=facets, opened=opened)
    rows = await overviews.list_findings(
        session, actor, flt, after=paging.after(datetime_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda f: [f.opened_at.isoformat(), str(f.id)])
    return Page(items=[FindingRead.model_validate(f) for f in items], next_cursor=next_cursor)


@router.get("/findings/{finding_id}")
async def get_finding(finding_id: UUID, session: Reading, actor: Reader) -> FindingRead:
    """Read one finding (问题): its subject, severity, status, occurrences and evidence references"""
    return FindingRead.model_validate(await findings.get_finding(session, finding_id, actor))


@router.post("/findings", status_code=status.HTTP_201_CREATED, responses=_RECORDED)
async def record_finding(
    body: FindingCreate,
    session: Transaction,
    actor: Inspector,
    now: Now,
    policy: Policy,
    response: Response,
    idem: Idempotency,
) -> FindingRead:
    """Record an inspector's finding (问题) with evidence, opening its rectification task (整改任务)

    The severity is the rules' (a D-grade house is severe), raised to the inspector's `severity` when that is
    graver, never lowered. A new finding (201) opens a task for the owning township office with the deadline of
    its severity and publishes `FindingRecorded` and `RectificationOpened`; a severe one is referred to the
    discipline commission at once (`DisciplineReferralMade`). The same problem (`subject_kind`, `subject_id`,
    `code`) while a finding of it is open is a repeat (200): one occurrence more, `FindingRecurred`, and a task
    reported done is reopened. A named campaign must be running today and cover the problem (else 404 or 409).
    The finding names the responsible person or unit given, else the area's officer (who is notified); its deadline
    runs from `found_on` (not in the future, else 422), and one found more than the district's days before today
    also opens a finding of late reporting (`late_reporting`).
    """
    actor.ensure_reach(body.area_code)
    if (earlier := await idem.replay(body, FindingRead)) is not None:
        return earlier
    finding = await findings.record_manual_finding(session, _facts(body, actor), policy=policy, now=now)
    if finding.occurrences > 1:
        response.status_code = status.HTTP_200_OK
    return idem.remember(FindingRead.model_validate(finding))


def _facts(body: FindingCreate, actor: Principal) -> ProblemFacts:
    return ProblemFacts(
        subject_kind=body.subject_kind,
        subject_id=body.subject_id,
        area_code=body.area_code,
        category=body.category,
        code=body.code,
        description=body.description,
        source_ref=f"manual:{actor.subject}"[:64],
        stated_severity=body.severity,
        responsible_unit=body.responsible_unit,
        responsible_person=body.responsible_person,
        found_on=body.found_on,
        campaign_id=body.campaign_id,
        recorded_by=actor.subject,
        evidence=tuple(e.ref() for e in body.evidence),
    )


# Before the route of subjects named by id: a path under `/subjects/unit/` is a unit's, whatever follows.
@router.get("/subjects/unit/{unit}/history")
async def unit_history(unit: UnitPath, session: Reading, actor: Reader, paging: Paging) -> Page[FindingHistoryRead]:
    """A unit's full problem history (问题台账): findings, tasks, checks, referrals, decisions

    As for a household's history: every finding on the unit (`subject_kind` `unit`, `subject_id` its name) within
    the caller's area, oldest first, each with its rectification task, submissions, follow-up checks (回头看),
    deadline changes, referrals and accountability decisions (without the names of the people held accountable).
    The name follows the rule of a finding's `responsible_unit` (at most 64 characters, no `/`), URL-encoded.
    """
    return await _history_page(session, actor, paging, kind=SubjectKind.UNIT, subject_id=unit)


@router.get("/subjects/{subject_kind}/{subject_id}/history")
async def subject_history(
    subject_kind: UuidSubject, subject_id: UUID, session: Reading, actor: Reader, paging: Paging
) -> Page[FindingHistoryRead]:
    """A household's, project's or payment's full problem history (问题台账): findings, tasks, checks, referrals

    Every finding on the subject within the caller's area, oldest first in (`opened_at`, `id`) order, each with its
    rectification task, submissions, follow-up checks (回头看), deadline changes, referrals and accountability
    decisions (without the names of the people held accountable). A subject whose findings all lie outside the
    caller's area is a 403; one with no findings an empty page.
    """
    return await _history_page(session, actor, paging, kind=subject_kind, subject_id=str(subject_id))


async def _history_page(
    session: AsyncSession, actor: Principal, paging: PageRequest, *, kind: SubjectKind, subject_id: str
) -> Page[FindingHistoryRead]:
    after = paging.after(datetime_key, uuid_key)
    found = await history.subject_history(
        session, actor, subject_kind=kind, subject_id=subject_id, after=after, limit=paging.limit + 1
    )
    items, next_cursor = paging.page(found, lambda h: [h.finding.opened_at.isoformat(), str(h.finding.id)])
    return Page(items=[FindingHistoryRead.model_validate(item) for item in items], next_cursor=next_cursor)
