"""Notifications (提醒) to a finding's responsible person, written in the transaction of the change they tell of."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.models import Finding, Notification
from services.audit.rules.notifications import DeliveryStatus, NotificationKind


def notify(
    session: AsyncSession,
    finding: Finding,
    kind: NotificationKind,
    *,
    title: str,
    body: str,
    now: datetime,
    task_id: UUID | None = None,
) -> Notification | None:
    """Tell the finding's responsible person; None when the finding names no person."""
    if finding.responsible_person_id is None:
        return None
    notification = Notification(
        person_id=finding.responsible_person_id,
        kind=kind.value,
        finding_id=finding.id,
        task_id=task_id,
        title=title,
        body=body,
        created_at=now,
        delivery_status=DeliveryStatus.PENDING.value,
        next_attempt_at=now,
    )
    session.add(notification)
    return notification
