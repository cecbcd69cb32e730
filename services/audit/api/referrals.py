"""Referrals to the discipline commission (线索移交), the weekly handover package, accountability (问责)
and the named notice (实名制通报)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.api.deps import Commission, CommissionReader, DistrictOffice, FindingFacets, From, Span, To
from services.audit.domain import accountability, handover, referrals, responsibility
from services.audit.domain.filters import Facets
from services.audit.models import DisciplineReferral
from services.audit.rules.accountability import named_notice_markdown
from services.audit.rules.handover import MAX_PACKAGE_LEADS, to_csv, to_json, to_markdown
from services.audit.rules.periods import IsoWeek
from services.audit.rules.referrals import ReferralReason
from services.audit.rules.responsibility import Responsibility
from services.audit.schemas.referrals import (
    AccountabilityCreate,
    AccountabilityRead,
    DisciplineReferralRead,
    HandoverPackageRead,
    HandoverRead,
    HandoverTotals,
    ReferralRead,
)
from shared.api.clock import Now
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, PageRequest, Paging, date_key, datetime_key, uuid_key
from shared.contracts.audit import AccountabilityKind
from shared.http import Reading, Transaction

router = APIRouter(tags=["referrals"])
PackageFormat = Annotated[Literal["json", "csv", "md"], Query(alias="format")]
NoticeFormat = Annotated[Literal["json", "md"], Query(alias="format")]
# An ISO week of the platform's years (1900-2199); whether the year has a week 53 is the calendar's to say (422).
Week = Annotated[
    str,
    Path(
        pattern=r"^(19[0-9]{2}|2[01][0-9]{2})-W(0[1-9]|[1-4][0-9]|5[0-3])$",
        description="an ISO week, Monday to Sunday in Asia/Shanghai",
        examples=["2020-W20"],
    ),
]
CSV = "text/csv; charset=utf-8"
MARKDOWN = "text/markdown; charset=utf-8"
_TEXT: dict[str, Any] = {"schema": {"type": "string"}}
PACKAGE_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": _TEXT, "text/markdown": _TEXT},
        "description": "The package: a JSON document (`format=json`, the default), CSV or Markdown",
    }
}
NOTICE_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/markdown": _TEXT},
        "description": "The notice: a page of decisions as JSON, or the whole period as Markdown with `format=md`",
    }
}


@router.get("/referrals")
async def list_referrals(
    session: Reading,
    _: CommissionReader,
    paging: Paging,
    facets: FindingFacets,
    referred: Span,
    finding_id: UUID | None = None,
    reason: ReferralReason | None = None,
) -> Page[ReferralRead]:
    """List the leads handed to the discipline commission (线索移交), newest first

    Optionally of one finding or for one reason, made from `from` to `to` (district calendar), of a severity (as
    it was when referred), and of findings in an area (`area_code`, a prefix), of a category, of the person
    answering for them (`responsible_person_id`) or recorded by a campaign; a bad value is a 422. Pages run in
    (`referred_at`, `id`) descending order; a referral made while paging sorts before the first page. Each lead
    shows who answers for its finding now: the responsible person, unit and role.
    """
    found = await referrals.list_referrals(
        session,
        finding_id=finding_id,
        reason=reason,
        facets=facets,
        referred=referred,
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(found, lambda r: [r.referred_at.isoformat(), str(r.id)])
    who = await responsibility.responsibility_of(session, [r.finding_id for r in items])
    return Page(items=[_with_responsible(r, who[r.finding_id]) for r in items], next_cursor=next_cursor)


def _with_responsible(referral: DisciplineReferral, who: Responsibility) -> ReferralRead:
    return ReferralRead(
        **DisciplineReferralRead.model_validate(referral).model_dump(),
        responsible_person_id=who.person_id,
        responsible_person=who.person,
        responsible_unit=who.unit,
        responsible_role=who.role,
    )


@router.post("/referrals/weekly-handover")
async def hand_over_now(session: Transaction, _: DistrictOffice, now: Now) -> HandoverRead:
    """Hand over every serious finding not yet referred, now (每周线索移交)

    The scheduled check does this each Monday for the findings recorded before the current week; the district
    office may do it at once. Each serious finding is handed over once (`weekly_handover`, publishing
    `DisciplineReferralMade`); one whose task is past its deadline is left to the overdue check, which refers it.
    Answers how many referrals were made (none when repeated) and when, and the week of the package that holds
    them, with the package's totals; the referrals themselves are listed by
    `GET /v1/handover-packages/{week}/referrals` (`reason=weekly_handover`: those made at `referred_at`).
    """
    made = await referrals.hand_over_serious_findings(session, recorded_before=now, now=now, limit=10_000)
    week = IsoWeek.of(now)
    totals = await handover.package_totals(session, week)
    return HandoverRead(
        week=week.label, referred=len(made), referred_at=now, package=HandoverTotals.model_validate(asdict(totals))
    )


@router.get("/handover-packages/{week}", response_model=HandoverPackageRead, responses=PACKAGE_FORMATS)
async def weekly_package(
    week: Week, session: Reading, _: CommissionReader, now: Now, fmt: PackageFormat = "json"
) -> dict[str, object] | Response:
    """The week's handover package (线索移交清单) of serious and severe leads: JSON, CSV or Markdown

    The referrals made in the ISO week (`2020-W20`: Monday 00:00 to Monday 00:00, Asia/Shanghai) whose severity,
    when referred, was serious or severe, in the order made, with totals by reason, severity and township. One
    document for the whole week, not paged: as JSON, at most 10,000 leads (a larger week is a 422,
    `package_too_large`: read its referrals by pages at `/v1/handover-packages/{week}/referrals`).
    """
    if fmt == "json":
        return to_json(await handover.weekly_package(session, IsoWeek.parse(week), now=now, at_most=MAX_PACKAGE_LEADS))
    package = await handover.weekly_package(session, IsoWeek.parse(week), now=now)
    if fmt == "csv":
        return Response(to_csv(package), media_type=CSV)
    return Response(to_markdown(package), media_type=MARKDOWN)


@router.get("/handover-packages/{week}/referrals")
async def package_referrals(
    week: Week, session: Reading, _: CommissionReader, paging: Paging, reason: ReferralReason | None = None
) -> Page[DisciplineReferralRead]:
    """List the referrals of a week's handover package (线索移交清单), in the order made

    The package's leads as referrals, a page at a time: made in the ISO week, serious or severe when made,
    optionally for one reason. Pages run in (`referred_at`, `id`) order, the package's; a referral made while
    paging (the week not yet over) sorts after the pages already read.
    """
    found = await handover.package_referrals(
        session,
        IsoWeek.parse(week),
        reason=reason,
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(found, lambda r: [r.referred_at.isoformat(), str(r.id)])
    return Page(items=[DisciplineReferralRead.model_validate(r) for r in items], next_cursor=next_cursor)


@router.post(
    "/referrals/{referral_id}/accountability-actions", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE
)
async def record_action(
    referral_id: UUID,
    body: AccountabilityCreate,
    session: Transaction,
    actor: Commission,
    now: Now,
    idem: Idempotency,
) -> AccountabilityRead:
    """Record the discipline commission's decision on a referral, against a named person (问责)

    A talk (约谈), a criticism notice (通报批评), an admonishment (诫勉) or a sanction (处分), dated between the
    referral and today (else 422). `AccountabilityActionRecorded` is published with ids, kind and date only: the
    person's name stays in audit.
    """
    if (earlier := await idem.replay(body, AccountabilityRead)) is not None:
        return earlier
    decision = accountability.Decision(
        kind=body.kind,
        person_name=body.person_name,
        person_unit=body.person_unit,
        person_position=body.person_position,
        decided_on=body.decided_on,
        notes=body.notes,
    )
    action = await accountability.record_action(session, referral_id, decision, actor=actor, now=now)
    return idem.remember(AccountabilityRead.model_validate(action))


@router.get("/accountability-actions")
async def list_actions(
    session: Reading,
    _: CommissionReader,
    paging: Paging,
    start: From,
    to: To,
    facets: FindingFacets,
    kind: AccountabilityKind | None = None,
) -> Page[AccountabilityRead]:
    """List the accountability decisions (问责) dated in a period, oldest first

    `from` and `to` inclusive (`to` not before `from`, else 422). Optionally of one kind, and on findings in an
    area (`area_code`, a prefix), of a category or severity, of the person answering for them
    (`responsible_person_id`) or recorded by a campaign; a bad value is a 422. Pages run in (`decided_on`,
    `recorded_at`, `id`) order.
    """
    return await _actions_page(session, paging, start=start, end=to, kind=kind, facets=facets)


@router.get("/named-notices", response_model=Page[AccountabilityRead], responses=NOTICE_FORMATS)
async def named_notice(
    session: Reading,
    _: CommissionReader,
    paging: Paging,
    start: From,
    to: To,
    facets: FindingFacets,
    kind: AccountabilityKind | None = None,
    fmt: NoticeFormat = "json",
) -> Page[AccountabilityRead] | Response:
    """The named notice (实名制通报) of a period's accountability decisions: JSON pages, or a Markdown document

    Each decision with the person's name, unit and position, oldest first, narrowed as
    `/v1/accountability-actions` (a township's notice: `area_code`). As JSON, pages as that list; as Markdown
    (`format=md`), the whole period in one document, `limit` and `cursor` not applying.
    """
    if fmt == "md":
        rows = await accountability.actions_between(session, start=start, end=to, kind=kind, facets=facets)
        return Response(named_notice_markdown(rows, start=start, end=to), media_type=MARKDOWN)
    return await _actions_page(session, paging, start=start, end=to, kind=kind, facets=facets)


async def _actions_page(
    session: AsyncSession,
    paging: PageRequest,
    *,
    start: date,
    end: date,
    kind: AccountabilityKind | None,
    facets: Facets,
) -> Page[AccountabilityRead]:
    after = paging.after(date_key, datetime_key, uuid_key)
    rows = await accountability.actions_between(
        session, start=start, end=end, kind=kind, facets=facets, after=after, limit=paging.limit + 1
    )
    actions = [action for action, _ in rows]
    items, next_cursor = paging.page(
        actions, lambda a: [a.decided_on.isoformat(), a.recorded_at.isoformat(), str(a.id)]
    )
    return Page(items=[AccountabilityRead.model_validate(a) for a in items], next_cursor=next_cursor)
