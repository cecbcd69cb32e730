"""A month's payroll of the public-welfare posts (公益岗位工资表): who is paid what for the days they held a post.

A holding runs from its first day to its last (`ended_on`, or the holder's death, included; open while it has
neither). A holder is paid the post's monthly allowance for the days held in the month, pro rata and rounded down
to the fen: allowance × days held // days in the month. A whole month is the whole allowance, whatever the month's
length.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from shared.timeutil import period_start


@dataclass(frozen=True)
class Holding:
    """A holding of a post, with the post's monthly allowance: what a payroll line is computed from."""

    holding_id: UUID
    post_id: UUID
    household_id: UUID
    member_id: UUID
    started_on: date
    ended_on: date | None
    monthly_allowance_fen: int


@dataclass(frozen=True)
class Line:
    """One holder's allowance for the month; `holding_id` and `post_id` name the last post held in it."""

    holding_id: UUID
    post_id: UUID
    household_id: UUID
    member_id: UUID
    days: int
    amount_fen: int


def month_of(period: str) -> tuple[date, date]:
    """The first and the last day of a period written YYYY-MM."""
    first = period_start(period)
    return first, first.replace(day=monthrange(first.year, first.month)[1])


def last_day(ended_on: date | None, died_on: date | None) -> date | None:
    """A holding's last day: the day it ended or the day its holder died (both included), whichever came first;
    None while it is open and the holder alive."""
    known = [day for day in (ended_on, died_on) if day is not None]
    return min(known) if known else None


def days_in(period: str) -> int:
    first, last = month_of(period)
    return (last - first).days + 1


def days_held(started_on: date, ended_on: date | None, period: str) -> int:
    """The days of the month from `started_on` to `ended_on` (both included; open: to the month's end); 0 when the
    span and the month do not meet."""
    first, last = month_of(period)
    start, end = max(started_on, first), min(ended_on or last, last)
    return max((end - start).days + 1, 0)


def live_in(started_on: date, ended_on: date | None, period: str) -> bool:
    """Whether the span (an employment, a holding) covers at least one day of the month."""
    return days_held(started_on, ended_on, period) > 0


def pro_rata(monthly_fen: int, days: int, month_days: int) -> int:
    """The allowance for `days` of a month of `month_days`, rounded down to the fen."""
    return monthly_fen * days // month_days


def payroll_lines(holdings: list[Holding], period: str) -> list[Line]:
    """One line per holder paid for the month, in the order of the holdings' members.

    A member holds one post at a time but may leave one and take another within a month: the two allowances,
    each pro rata, make one line (subsidies pays a holder once per payroll). A holder whose days come to less
    than a fen gets no line."""
    month_days = days_in(period)
    by_member: dict[UUID, list[Holding]] = {}
    for holding in holdings:
        if live_in(holding.started_on, holding.ended_on, period):
            by_member.setdefault(holding.member_id, []).append(holding)
    lines = []
    for held in by_member.values():
        spans = [(h, days_held(h.started_on, h.ended_on, period)) for h in held]
        amount = sum(pro_rata(h.monthly_allowance_fen, days, month_days) for h, days in spans)
        last = max(held, key=lambda h: h.started_on)
        if amount > 0:
            days = sum(days for _, days in spans)
            lines.append(Line(last.holding_id, last.post_id, last.household_id, last.member_id, days, amount))
    return lines
