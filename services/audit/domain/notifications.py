"""Notifications (提醒) to a finding's responsible person, written in the transaction of the change they tell of; the
person's inbox; the deliveries an operator looks after.

A notification is queued and written as its transaction commits, with the transaction's others in one statement
(`write_queued`, called by the commit hook in `events.py`): it is added, never read back in the transaction that
makes it, so it needs no ORM object (a consumer's batch writes two or three for each severe finding).

Whether a notification waits for the webhook or stays in the inbox is the service's configuration, carried by its
sessions (`deliver_by_webhook`): use cases that notify need no settings of their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlmodel import col

from services.audit.models import AreaOfficer, Finding, Notification, RectificationTask
from services.audit.rules.notifications import DeliveryStatus, NotificationKind, message
from services.audit.rules.responsibility import areas_holding
from shared.api.pagination import Key
from shared.commit_queue import CommitQueue
from shared.contracts.accountability import ResponsibleRole
from shared.db import keyset
from shared.entities import new_row
from shared.errors import Conflict, NotFound

_QUEUED: CommitQueue[dict[str, Any]] = CommitQueue("notifications")
_INSERT = insert(Notification.__table__)  # type: ignore[attr-defined]
_WEBHOOK = "audit.notifications.webhook"  # in a session's `info`: its notifications are to be delivered


def deliver_by_webhook(sessions: async_sessionmaker[AsyncSession]) -> None:
    """From now on, notifications written by sessions of `sessions` wait for the webhook (`pending`); without this
    they are inbox only (`not_sent`)."""
    sessions.configure(info={**sessions.kw.get("info", {}), _WEBHOOK: True})


async def notify(
    session: AsyncSession,
    finding: Finding,
    kind: NotificationKind,
    *,
    title: str,
    body: str,
    now: datetime,
    task_id: UUID | None = None,
) -> UUID | None:
    """Tell the finding's responsible person: the notification's id, None when the finding names no one to tell.

    A power holder answering for a finding (优亲厚友: the subject of the lead) is not told of it, which would tip
    them off: the area's officer is told instead, when one is set."""
    person_id = finding.responsible_person_id
    if finding.responsible_role == ResponsibleRole.POWER_HOLDER:
        person_id = await _officer_of(session, finding.area_code)
    if person_id is None:
        return None
    delivered = bool(session.info.get(_WEBHOOK))
    row = new_row(
        Notification,
        person_id=person_id,
        kind=kind.value,
        finding_id=finding.id,
        task_id=task_id,
        title=title,
        body=body,
        created_at=now,
        delivery_status=(DeliveryStatus.PENDING if delivered else DeliveryStatus.NOT_SENT).value,
        next_attempt_at=now if delivered else None,
    )
    _QUEUED.add(session, row)
    id_: UUID = row["id"]
    return id_


def write_queued(session: Session) -> None:
    """Insert the transaction's notifications (just before it commits), once the changes they tell of are written."""
    rows = _QUEUED.take(session)
    if rows:
        session.flush()
        session.execute(_INSERT, rows)


async def _officer_of(session: AsyncSession, area_code: str) -> str | None:
    """The login of the officer of the most specific area holding `area_code`, if any is set."""
    stmt = select(AreaOfficer).where(col(AreaOfficer.area_code).in_(areas_holding(area_code)))
    with session.no_autoflush:  # a consumer's batch writes its rows together at commit
        officers = {o.area_code: o.person_id for o in (await session.scalars(stmt)).all()}
    return next((officers[code] for code in areas_holding(area_code) if code in officers), None)


async def notify_about(
    session: AsyncSession,
    finding: Finding,
    kind: NotificationKind,
    *,
    now: datetime,
    task: RectificationTask | None = None,
) -> UUID | None:
    """Tell the finding's responsible person what happened to it, in the standard words (`rules/notifications.py`):
    the problem's code, its area and the task's deadline."""
    words = message(kind, code=finding.code, area_code=finding.area_code, deadline=task.deadline if task else None)
    return await notify(
        session, finding, kind, title=words.title, body=words.body, now=now, task_id=task.id if task else None
    )


async def inbox(
    session: AsyncSession,
    *,
    person_id: str,
    unread: bool | None,
    kind: NotificationKind | None,
    after: Key | None,
    limit: int,
) -> list[Notification]:
    """A person's notifications, newest first ((`created_at`, `id`) descending), unread or read only if asked."""
    stmt = select(Notification).where(col(Notification.person_id) == person_id)
    if unread is not None:
        stmt = stmt.where(col(Notification.read_at).is_(None) if unread else col(Notification.read_at).is_not(None))
    if kind is not None:
        stmt = stmt.where(col(Notification.kind) == kind)
    columns = [col(Notification.created_at), col(Notification.id)]
    return list((await session.scalars(keyset(stmt, columns, after, limit=limit, descending=True))).all())


async def mark_read(session: AsyncSession, notification_id: UUID, *, person_id: str, now: datetime) -> Notification:
    """The person has read one of their notifications (once: reading again keeps the first time). Another person's
    is NotFound, as one that does not exist: an inbox does not reveal what others were told."""
    notification = await session.get(Notification, notification_id, with_for_update=True)
    if notification is None or notification.person_id != person_id:
        raise NotFound("You have no notification with this id.")
    if notification.read_at is None:
        notification.read_at = now
    return notification


async def mark_all_read(session: AsyncSession, *, person_id: str, now: datetime) -> int:
    """The person has read every notification of theirs; how many were unread."""
    stmt = (
        update(Notification)
        .where(col(Notification.person_id) == person_id, col(Notification.read_at).is_(None))
        .values(read_at=now)
    )
    result = await session.execute(stmt, execution_options={"synchronize_session": False})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def deliveries(
    session: AsyncSession, *, status: DeliveryStatus, after: Key | None, limit: int
) -> list[Notification]:
    """Notifications whose delivery stands at `status` (dead, or still pending), oldest first: (`created_at`, `id`)."""
    stmt = select(Notification).where(col(Notification.delivery_status) == status)
    columns = [col(Notification.created_at), col(Notification.id)]
    return list((await session.scalars(keyset(stmt, columns, after, limit=limit))).all())


async def redeliver(session: AsyncSession, notification_id: UUID, *, now: datetime) -> Notification:
    """Deliver a dead notification again, from its first attempt (an operator's decision once the messaging system
    is fixed); any other is a Conflict (`not_dead`)."""
    notification = await session.get(Notification, notification_id, with_for_update=True)
    if notification is None:
        raise NotFound("No notification has this id.")
    if notification.delivery_status != DeliveryStatus.DEAD:
        raise Conflict(
            f"The notification is {notification.delivery_status}: only a dead one is delivered again.",
            code="not_dead",
        )
    notification.delivery_status, notification.attempts, notification.next_attempt_at = DeliveryStatus.PENDING, 0, now
    return notification
