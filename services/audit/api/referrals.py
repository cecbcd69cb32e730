"""Referrals to the discipline commission (线索移交), the weekly handover package, accountability (问责)
and the named notice (实名制通报)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from services.audit.api.deps import Commission, CommissionReader, DistrictOffice, From, Limit
from services.audit.domain import accountability, handover, referrals
from services.audit.rules.accountability import named_notice_markdown
from services.audit.rules.handover import to_csv, to_json, to_markdown
from services.audit.rules.periods import IsoWeek
from services.audit.rules.referrals import ReferralReason
from services.audit.schemas.referrals import (
    AccountabilityCreate,
    AccountabilityRead,
    DisciplineReferralRead,
    HandoverRead,
)
from shared.api.clock import Now
from shared.http import Transaction
from shared.schemas import IsoDate

router = APIRouter(tags=["referrals"])
PackageFormat = Annotated[Literal["json", "csv", "md"], Query(alias="format")]
NoticeFormat = Annotated[Literal["json", "md"], Query(alias="format")]
CSV = "text/csv; charset=utf-8"
MARKDOWN = "text/markdown; charset=utf-8"
_TEXT: dict[str, Any] = {"schema": {"type": "string"}}
PACKAGE_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": _TEXT, "text/markdown": _TEXT}, "description": "The package"}
}
NOTICE_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/markdown": _TEXT}, "description": "The notice: JSON, or Markdown with `format=md`"}
}


@router.get("/referrals")
async def list_referrals(
    session: Transaction,
    _: CommissionReader,
    finding_id: UUID | None = None,
    reason: ReferralReason | None = None,
    limit: Limit = 100,
) -> list[DisciplineReferralRead]:
    """Leads handed to the discipline commission (线索移交), newest first."""
    found = await referrals.list_referrals(session, finding_id=finding_id, reason=reason, limit=limit)
    return [DisciplineReferralRead.model_validate(r) for r in found]


@router.post("/referrals/weekly-handover")
async def hand_over_now(session: Transaction, _: DistrictOffice, now: Now) -> HandoverRead:
    """Hand over every serious finding not yet referred, now (the scheduled check does it each Monday)."""
    made = await referrals.hand_over_serious_findings(session, recorded_before=now, now=now, limit=10_000)
    return HandoverRead(referred=len(made), referrals=[DisciplineReferralRead.model_validate(r) for r in made])


@router.get("/handover-packages/{week}", response_model=None, responses=PACKAGE_FORMATS)
async def weekly_package(
    week: str, session: Transaction, _: CommissionReader, now: Now, fmt: PackageFormat = "json"
) -> dict[str, object] | Response:
    """The week's package of serious and severe leads (2020-W20, Asia/Shanghai): JSON, CSV or Markdown."""
    package = await handover.weekly_package(session, IsoWeek.parse(week), now=now)
    if fmt == "csv":
        return Response(to_csv(package), media_type=CSV)
    if fmt == "md":
        return Response(to_markdown(package), media_type=MARKDOWN)
    return to_json(package)


@router.post("/referrals/{referral_id}/accountability-actions", status_code=status.HTTP_201_CREATED)
async def record_action(
    referral_id: UUID, body: AccountabilityCreate, session: Transaction, actor: Commission, now: Now
) -> AccountabilityRead:
    """The discipline commission's decision on a referral, against a named person (问责)."""
    decision = accountability.Decision(
        kind=body.kind,
        person_name=body.person_name,
        person_unit=body.person_unit,
        person_position=body.person_position,
        decided_on=body.decided_on,
        notes=body.notes,
    )
    action = await accountability.record_action(session, referral_id, decision, actor=actor, now=now)
    return AccountabilityRead.model_validate(action)


@router.get("/accountability-actions")
async def list_actions(session: Transaction, _: CommissionReader, start: From, to: IsoDate) -> list[AccountabilityRead]:
    """Accountability decisions dated in the period (inclusive)."""
    rows = await accountability.actions_between(session, start=start, end=to)
    return [AccountabilityRead.model_validate(action) for action, _ in rows]


@router.get("/named-notices", response_model=list[AccountabilityRead], responses=NOTICE_FORMATS)
async def named_notice(
    session: Transaction, _: CommissionReader, start: From, to: IsoDate, fmt: NoticeFormat = "json"
) -> list[AccountabilityRead] | Response:
    """The named notice (实名制通报) of the period's decisions: JSON, or a Markdown document."""
    rows = await accountability.actions_between(session, start=start, end=to)
    if fmt == "md":
        return Response(named_notice_markdown(rows, start=start, end=to), media_type=MARKDOWN)
    return [AccountabilityRead.model_validate(action) for action, _ in rows]
