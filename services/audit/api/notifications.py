"""Notifications (提醒): each person's inbox, and the deliveries to the government messaging system the district office
looks after."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from services.audit.domain import notifications
from services.audit.rules.notifications import DeliveryStatus, NotificationKind
from services.audit.schemas.notifications import NotificationDeliveryRead, NotificationRead, ReadAllRead
from services.audit.settings import AuditSettings
from shared.api.clock import Now
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.auth import Principal, Role, require_roles
from shared.errors import Conflict, Forbidden
from shared.http import Reading, Transaction
from shared.openapi import AREA_RULE_KEY
from shared.schemas import QueryText

router = APIRouter(tags=["notifications"])
# Everyone with a login may be a finding's responsible person, so everyone has an inbox.
Anyone = Annotated[Principal, Depends(require_roles(*Role))]
DistrictOffice = Annotated[Principal, Depends(require_roles(Role.DISTRICT_OFFICE))]
# Who may read another person's inbox: those who hold people to account.
SUPERVISORS = frozenset({Role.DISTRICT_OFFICE, Role.DISCIPLINE_COMMISSION})
OWN_INBOX = {
    AREA_RULE_KEY: "**Area rule:** none: an inbox is a person's, not an area's. Each caller reaches their own "
    "notifications (those to the token's subject) only."
}
Backlog = Annotated[Literal["dead", "pending"], Query(description="dead (every attempt failed), or still pending")]


@router.get("/notifications", openapi_extra=OWN_INBOX)
async def list_notifications(
    session: Reading,
    actor: Anyone,
    paging: Paging,
    unread: bool | None = None,
    kind: NotificationKind | None = None,
    person_id: Annotated[QueryText | None, Query(description="another person's inbox (supervisors only)")] = None,
) -> Page[NotificationRead]:
    """List the caller's notifications (提醒): reminders, overdue marks, reopenings, referrals, assignments

    Newest first, optionally only unread (`unread=true`) or read ones, of one kind. The district office and the
    discipline commission may read another person's inbox with `person_id`; anyone else asking for another
    person's is refused with 403. Pages run in (`created_at`, `id`) descending order.
    """
    whose = person_id or actor.subject
    if whose != actor.subject and not actor.has_any(SUPERVISORS):
        raise Forbidden("Only the district office and the discipline commission read another person's inbox.")
    found = await notifications.inbox(
        session,
        person_id=whose,
        unread=unread,
        kind=kind,
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(found, lambda n: [n.created_at.isoformat(), str(n.id)])
    return Page(items=[NotificationRead.model_validate(n) for n in items], next_cursor=next_cursor)


@router.post("/notifications/read-all", openapi_extra=OWN_INBOX)
async def read_all(session: Transaction, actor: Anyone, now: Now) -> ReadAllRead:
    """Mark every notification of the caller's read

    Only the caller's own; those already read keep the time they were read. Answers how many were unread.
    """
    marked = await notifications.mark_all_read(session, person_id=actor.subject, now=now)
    return ReadAllRead(marked=marked, read_at=now)


@router.post("/notifications/{notification_id}/read", openapi_extra=OWN_INBOX)
async def read_one(notification_id: UUID, session: Transaction, actor: Anyone, now: Now) -> NotificationRead:
    """Mark one of the caller's notifications read

    Only the person it is for may: anyone else's notification is a 404, as one that does not exist (an inbox
    does not reveal what others were told). Marking it again keeps the first time.
    """
    notification = await notifications.mark_read(session, notification_id, person_id=actor.subject, now=now)
    return NotificationRead.model_validate(notification)


@router.get("/notification-deliveries")
async def list_deliveries(
    session: Reading, _: DistrictOffice, paging: Paging, status: Backlog = "dead"
) -> Page[NotificationDeliveryRead]:
    """List the notifications whose delivery to the messaging system failed for good, or is still pending

    `status=dead` (the default): every attempt failed, `last_error` says how the last one did; `status=pending`:
    waiting for a first attempt or a retry (`next_attempt_at`). Oldest first: pages run in (`created_at`, `id`)
    order.
    """
    found = await notifications.deliveries(
        session, status=DeliveryStatus(status), after=paging.after(datetime_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(found, lambda n: [n.created_at.isoformat(), str(n.id)])
    return Page(items=[NotificationDeliveryRead.model_validate(n) for n in items], next_cursor=next_cursor)


@router.post("/notifications/{notification_id}/redeliver")
async def redeliver(
    notification_id: UUID, request: Request, session: Transaction, _: DistrictOffice, now: Now
) -> NotificationDeliveryRead:
    """Deliver a dead notification again (its attempts start from 0)

    Once the messaging system is fixed. Only a dead notification: any other is refused with 409 (`not_dead`), and
    so is every one while no webhook is configured (409, `webhook_not_configured`). An unknown id is a 404.
    """
    settings: AuditSettings = request.app.state.runtime.settings
    if settings.webhook_url is None:
        raise Conflict(
            "No messaging system is configured: notifications stay in the inbox.", code="webhook_not_configured"
        )
    notification = await notifications.redeliver(session, notification_id, now=now)
    return NotificationDeliveryRead.model_validate(notification)
