"""What a notification (提醒) tells its person, and where its delivery stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.timeutil import DISTRICT_TZ


class NotificationKind(StrEnum):
    ASSIGNED = "assigned"  # a finding was given to the person (on opening, or handed over)
    DUE_SOON = "due_soon"  # a rectification's deadline is near
    OVERDUE = "overdue"  # a rectification's deadline passed
    REOPENED = "reopened"  # a follow-up check (回头看) failed the rectification
    REFERRED = "referred"  # the finding was handed to the discipline commission


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # the messaging system answered 2xx
    DEAD = "dead"  # every attempt failed: listed for an operator to look into and deliver again
    NOT_SENT = "not_sent"  # no messaging system configured: inbox only


@dataclass(frozen=True)
class Message:
    """A notification's words: a title and a body."""

    title: str
    body: str


_TITLES = {
    NotificationKind.DUE_SOON: "整改即将到期 (rectification due soon)",
    NotificationKind.OVERDUE: "整改已逾期 (rectification overdue)",
    NotificationKind.REOPENED: "整改被退回重做 (rectification reopened)",
    NotificationKind.REFERRED: "问题已移交纪委 (referred to the discipline commission)",
    NotificationKind.ASSIGNED: "问题交由您负责 (a finding is yours)",
}
_WHAT = {
    NotificationKind.DUE_SOON: "整改期限将至 / the rectification is due soon",
    NotificationKind.OVERDUE: "整改已超过期限 / the rectification is past its deadline",
    NotificationKind.REOPENED: "整改未通过回头看或问题再次出现, 已重新打开 / the rectification was reopened",
    NotificationKind.REFERRED: "问题已作为线索移交区纪委 / the finding was referred to the discipline commission",
    NotificationKind.ASSIGNED: "问题已交由您负责整改 / the finding was given to you",
}


def message(kind: NotificationKind, *, code: str, area_code: str, deadline: datetime | None) -> Message:
    """The words of a notification about a finding: its problem code, its area and the task's deadline (district
    time), never the finding's description, which may name a citizen."""
    title = f"{_TITLES[kind]}: {code}"
    parts = [f"{_WHAT[kind]}.", f"问题 (finding): {code}.", f"地区 (area): {area_code}."]
    if deadline is not None:
        parts.append(f"整改期限 (deadline): {deadline.astimezone(DISTRICT_TZ):%Y-%m-%d %H:%M} (Asia/Shanghai).")
    return Message(title=title[:200], body=" ".join(parts)[:1000])
