"""Grievances (群众诉求): intake, lists, triage, reply, the complainant's contact opened with a reason, the deadline
check. A township office never gets a contact, not even masked: the township may be the one complained about."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status

from services.audit.api.deps import (
    CommissionReader,
    DistrictOffice,
    GrievanceHandler,
    GrievanceIntake,
    GrievanceReader,
    Policy,
    Span,
)
from services.audit.domain import grievance_checks, grievances
from services.audit.models import Grievance
from services.audit.rules.contact_vault import ContactVault
from services.audit.rules.grievances import GrievanceChannel, GrievanceStatus
from services.audit.schemas.grievances import (
    ContactRevealRead,
    ContactRevealRequest,
    GrievanceCheckRead,
    GrievanceContactRead,
    GrievanceCreate,
    GrievanceRead,
    GrievanceReply,
    GrievanceTriage,
)
from services.audit.settings import AuditSettings
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, date_key, datetime_key, uuid_key
from shared.areas import AreaCode
from shared.auth import Principal
from shared.contracts.audit import SubjectKind
from shared.http import Reading, Transaction

router = APIRouter(prefix="/grievances", tags=["grievances"])


async def _settings(request: Request) -> AuditSettings:
    settings: AuditSettings = request.app.state.runtime.settings
    return settings


async def _vault(request: Request) -> ContactVault:
    return (await _settings(request)).contact_vault()


Vault = Annotated[ContactVault, Depends(_vault)]
Settings = Annotated[AuditSettings, Depends(_settings)]


def _read(grievance: Grievance, actor: Principal, today: date) -> GrievanceRead:
    # District-wide readers see the masked contact; an area-scoped one (a township office) never does.
    return GrievanceRead.of(grievance, today=today, with_contact=not actor.is_area_scoped)


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def receive_grievance(
    body: GrievanceCreate,
    session: Transaction,
    actor: GrievanceIntake,
    now: Now,
    today: Today,
    vault: Vault,
    settings: Settings,
    idem: Idempotency,
) -> GrievanceRead:
    """Take a grievance (群众诉求) from the 12317 hotline, letters and visits (信访) or an online report

    What, where (`area_code`), about which household or project and whom, by which channel, received when (not in
    the future: 422 `date_in_future`). An anonymous report carries no contact, any other one must (422
    `contact_anonymous`, `contact_missing`); the contact is sealed at once and shown masked to district-wide
    readers only. The reply is due `AUDIT_GRIEVANCE_RESPONSE_DAYS` (15) days after receipt (`response_due_on`).
    A township office takes grievances of its own area, and its answer has no contact.
    """
    if (earlier := await idem.replay(body, GrievanceRead)) is not None:
        return earlier
    intake = grievances.Intake(
        channel=body.channel,
        received_on=body.received_on,
        area_code=body.area_code,
        summary=body.summary,
        anonymous=body.anonymous,
        contact=body.contact.contact() if body.contact else None,
        about_kind=SubjectKind(body.about.kind) if body.about else None,
        about_id=str(body.about.id) if body.about else None,
        about_person=body.about_person,
    )
    grievance = grievances.receive_grievance(
        session,
        intake,
        vault=vault,
        response_days=settings.grievance_response_days,
        actor=actor,
        today=today,
        now=now,
    )
    return idem.remember(_read(grievance, actor, today))


@router.get("")
async def list_grievances(
    session: Reading,
    actor: GrievanceReader,
    paging: Paging,
    today: Today,
    received: Span,
    status: GrievanceStatus | None = None,
    channel: GrievanceChannel | None = None,
    area_code: Annotated[
        AreaCode | None, Query(description="Only those in this area and the codes it prefixes.")
    ] = None,
    overdue: Annotated[bool | None, Query(description="Only those unanswered past their term (true), or not.")] = None,
) -> Page[GrievanceRead]:
    """List grievances (群众诉求) within the caller's area, latest received first

    Optionally of one status or channel, within an area (outside a township office's own: 403), overdue or not
    (unanswered past `response_due_on`), received `from` and `to` (inclusive). Pages run in (`received_on`, `id`)
    descending order. A township office's items have no contact.
    """
    flt = grievances.GrievanceFilter(
        status=status, channel=channel, area_code=area_code, overdue=overdue, received=received
    )
    rows = await grievances.list_grievances(
        session, actor, flt, today=today, after=paging.after(date_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda g: [g.received_on.isoformat(), str(g.id)])
    return Page(items=[_read(g, actor, today) for g in items], next_cursor=next_cursor)


@router.post("/checks")
async def check_grievance_deadlines(
    session: Transaction, _: DistrictOffice, now: Now, today: Today, policy: Policy, settings: Settings
) -> GrievanceCheckRead:
    """Check grievances' reply deadlines now (答复期限), as the scheduled check does

    Each grievance unanswered past `response_due_on` opens a finding of its township (`grievance_unanswered`,
    conduct, serious; subject the township's code as a unit), once per grievance: a second one of the same township
    while that finding is open is an occurrence of it.
    """
    found = await grievance_checks.check_unanswered(
        session, policy=policy, today=today, now=now, limit=settings.scan_batch_size
    )
    return GrievanceCheckRead(checked_on=today, unanswered=len(found))


@router.get("/{grievance_id}")
async def get_grievance(grievance_id: UUID, session: Reading, actor: GrievanceReader, today: Today) -> GrievanceRead:
    """Read one grievance (群众诉求): what, where, about whom, its triage, reply and deadline

    A township office reads those of its area (others: 403), without the contact.
    """
    return _read(await grievances.get_grievance(session, grievance_id, actor), actor, today)


@router.post("/{grievance_id}/triage")
async def triage_grievance(
    grievance_id: UUID,
    body: GrievanceTriage,
    session: Transaction,
    actor: GrievanceHandler,
    now: Now,
    today: Today,
    policy: Policy,
    vault: Vault,
) -> GrievanceRead:
    """Triage a grievance (分办): open a finding, or record why none

    Once (again: 409). A `finding` is recorded like any other (`FindingRecorded`, a rectification task, a referral
    if severe) on the household or project the grievance is about, else on its area as a unit, found on the day
    of triage (the complaint is confirmed then; `received_on` stays the grievance's), its description the `note`;
    the grievance keeps its `finding_id`. A repeat of an open finding adds an occurrence. `no_finding` takes no
    category or code (422). The note may not carry the complainant's name or phone (422 `note_names_complainant`).
    """
    decision = grievances.Triage(
        decision=body.decision, note=body.note, category=body.category, code=body.code, severity=body.severity
    )
    triaged = await grievances.triage(session, grievance_id, decision, policy=policy, vault=vault, actor=actor, now=now)
    return _read(triaged, actor, today)


@router.post("/{grievance_id}/reply")
async def reply_to_grievance(
    grievance_id: UUID, body: GrievanceReply, session: Transaction, actor: GrievanceHandler, today: Today
) -> GrievanceRead:
    """Record the reply to the complainant (答复)

    Once, after triage (before it or again: 409), dated neither before the grievance was received nor in the
    future (422 `before_received`, `date_in_future`).
    """
    replied = await grievances.reply(
        session, grievance_id, replied_on=body.replied_on, text=body.reply, actor=actor, today=today
    )
    return _read(replied, actor, today)


@router.post("/{grievance_id}/contact")
async def reveal_contact(
    grievance_id: UUID,
    body: ContactRevealRequest,
    session: Transaction,
    actor: GrievanceHandler,
    now: Now,
    vault: Vault,
    response: Response,
) -> GrievanceContactRead:
    """Open a complainant's contact (查看举报人信息), stating why

    The name and phone in full; who asked, when and why are recorded (`/contact-reveals`, and an entry of the
    tamper-evident log). An anonymous report has none (409). The answer is not to be cached.
    """
    contact, reveal = await grievances.reveal_contact(
        session, grievance_id, reason=body.reason, vault=vault, actor=actor, now=now
    )
    response.headers["Cache-Control"] = "no-store"
    return GrievanceContactRead(
        grievance_id=grievance_id,
        name=contact.name,
        phone=contact.phone,
        reveal_id=reveal.id,
        revealed_by=reveal.revealed_by,
        revealed_at=reveal.revealed_at,
    )


@router.get("/{grievance_id}/contact-reveals")
async def list_contact_reveals(
    grievance_id: UUID, session: Reading, actor: CommissionReader, paging: Paging
) -> Page[ContactRevealRead]:
    """Who opened a grievance's contact, when and why, oldest first

    Pages run in (`revealed_at`, `id`) order.
    """
    rows = await grievances.list_reveals(
        session, grievance_id, actor, after=paging.after(datetime_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda r: [r.revealed_at.isoformat(), str(r.id)])
    return Page(items=[ContactRevealRead.model_validate(r) for r in items], next_cursor=next_cursor)
