"""Findings (问题): listing within the caller's area, an inspector's manual entry, a subject's history."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from services.audit.api.deps import Inspector, Limit, Policy, Reader
from services.audit.domain import findings, history, overviews
from services.audit.models import FindingStatus
from services.audit.rules.findings import ProblemFacts
from services.audit.schemas.findings import FindingCreate, FindingHistoryRead, FindingRead, canonical_subject_id
from shared.api.clock import Now
from shared.contracts.audit import Severity, SubjectKind
from shared.errors import InvalidInput
from shared.http import Transaction
from shared.schemas import QueryText

router = APIRouter(tags=["findings"])


@router.get("/findings")
async def list_findings(
    session: Transaction,
    actor: Reader,
    subject_id: QueryText | None = None,
    severity: Severity | None = None,
    status: FindingStatus | None = None,
    limit: Limit = 100,
) -> list[FindingRead]:
    """Findings, newest first, within the caller's area."""
    flt = overviews.FindingFilter(subject_id=subject_id, severity=severity, status=status)
    return [FindingRead.model_validate(f) for f in await overviews.list_findings(session, actor, flt, limit=limit)]


@router.get("/findings/{finding_id}")
async def get_finding(finding_id: UUID, session: Transaction, actor: Reader) -> FindingRead:
    return FindingRead.model_validate(await findings.get_finding(session, finding_id, actor))


@router.post(
    "/findings",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": FindingRead, "description": "A repeat: the open finding gained an occurrence"}},
)
async def record_finding(
    body: FindingCreate, session: Transaction, actor: Inspector, now: Now, policy: Policy, response: Response
) -> FindingRead:
    """An inspector's finding with evidence; a repeat of an open problem adds an occurrence (200)."""
    actor.ensure_reach(body.area_code)
    facts = ProblemFacts(
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
        campaign_id=body.campaign_id,
        recorded_by=actor.subject,
        evidence=tuple(e.ref() for e in body.evidence),
    )
    finding = await findings.record_manual_finding(session, facts, policy=policy, now=now)
    if finding.occurrences > 1:
        response.status_code = status.HTTP_200_OK
    return FindingRead.model_validate(finding)


@router.get("/subjects/{subject_kind}/{subject_id}/history")
async def subject_history(
    subject_kind: SubjectKind, subject_id: QueryText, session: Transaction, actor: Reader
) -> list[FindingHistoryRead]:
    """A household's or project's full problem history: findings, tasks, checks, referrals, decisions."""
    try:
        subject_id = canonical_subject_id(subject_kind, subject_id)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    found = await history.subject_history(session, actor, subject_kind=subject_kind, subject_id=subject_id)
    return [FindingHistoryRead.model_validate(item) for item in found]
