"""Notifications (提醒): a person's inbox, and their delivery to the government messaging system."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from services.audit.rules.notifications import DeliveryStatus, NotificationKind
from services.audit.schemas.common import Output


class NotificationRead(Output):
    """A notification as its person sees it in the inbox."""

    id: UUID
    person_id: str = Field(description="whom it is for: the responsible person's login")
    kind: NotificationKind
    finding_id: UUID | None
    task_id: UUID | None
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None = Field(description="when the person marked it read; null while unread")
    delivery_status: DeliveryStatus = Field(
        description="its delivery to the messaging system: `not_sent` when none is configured (inbox only)"
    )


class NotificationDeliveryRead(NotificationRead):
    """A notification with where its delivery stands, for the district office."""

    attempts: int = Field(description="delivery attempts made (a redelivery starts again from 0)")
    next_attempt_at: datetime | None = Field(description="when it is tried next, while pending")
    last_error: str | None = Field(
        description="what the last failed attempt came to: the answer's status and its first 200 characters, or "
        "the kind of error (a timeout, a refused connection)"
    )
    delivered_at: datetime | None


class ReadAllRead(BaseModel):
    """What marking the whole inbox read did."""

    marked: int = Field(description="notifications that were unread and are now read")
    read_at: datetime
