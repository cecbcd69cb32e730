"""What every service's part of the half-year report (半年工作总结) shares: the period asked for and the figures' shape.

Each service serves `GET /v1/report?from=&to=&area_code=` (its `api/report.py`): the figures it holds for a period (both
days included, at most a year) and an area (the district, a township or a village), computed in its database.
A figure is a count or an amount under a stable key, optionally split by one dimension (a township, a programme, a
round, a fund source); the README of each service defines every key: what is counted, and as of when. A figure the
service cannot know is absent, never zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.areas import AreaCode
from shared.auth import Principal
from shared.errors import InvalidInput
from shared.timeutil import DISTRICT_TZ

MAX_PERIOD_DAYS = 366
MAX_FIGURES = 2000  # a part's figures, split by township or programme included


class Unit(StrEnum):
    """What a figure's value counts."""

    HOUSEHOLDS = "households"
    PEOPLE = "people"
    PERSON_TIMES = "person_times"  # 人次: one person counted once per time
    FEN = "fen"  # money, integer fen (分)
    PROJECTS = "projects"
    TOWNSHIPS = "townships"  # 乡镇(街道): e.g. the townships a year's new projects are in
    ASSETS = "assets"
    POSTS = "posts"
    VISITS = "visits"
    PROBLEMS = "problems"
    TASKS = "tasks"
    REFERRALS = "referrals"
    PERCENT_BP = "basis_points"  # a rate, in basis points (10000 = 100 %)


class Figure(BaseModel):
    """One figure of the report: `key` names it (defined in the service's README), `by` splits it when present."""

    key: str = Field(max_length=100, examples=["housing.renovated"])
    value: int = Field(examples=[102])
    unit: Unit
    by: dict[str, str] = Field(
        default_factory=dict, description='the dimension the figure is split by, e.g. {"township": "371523101"}'
    )


class ReportPart(BaseModel):
    """A service's figures for a period and an area."""

    service: str
    period_from: date
    period_to: date
    area_code: str
    computed_at: datetime
    figures: list[Figure] = Field(max_length=MAX_FIGURES)


class ReportPeriod(BaseModel):
    """The days (both included) and the area a report covers."""

    start: date
    end: date
    area_code: str | None
    district_code: str

    def area_for(self, actor: Principal) -> str:
        """The area reported on: the one asked for, else the caller's own when area-scoped, else the district;
        403 when it is outside the caller's reach."""
        area = self.area_code or (actor.area if actor.is_area_scoped and actor.area else self.district_code)
        actor.ensure_reach(area)
        return area

    @property
    def starts_at(self) -> datetime:
        """The period's first moment: midnight of its first day in the district (Asia/Shanghai)."""
        return datetime.combine(self.start, time(), DISTRICT_TZ)

    @property
    def ends_before(self) -> datetime:
        """The first moment after the period: midnight after its last day in the district."""
        return datetime.combine(self.end + timedelta(days=1), time(), DISTRICT_TZ)

    @property
    def months(self) -> tuple[str, str]:
        """The first and last monthly periods ("YYYY-MM") the period touches."""
        return self.start.strftime("%Y-%m"), self.end.strftime("%Y-%m")


async def report_period(
    request: Request,
    start: Annotated[date, Query(alias="from", description="the period's first day", examples=["2020-01-01"])],
    end: Annotated[date, Query(alias="to", description="the period's last day, included", examples=["2020-06-30"])],
    area_code: Annotated[
        AreaCode | None, Query(description="district, township or village; default: the caller's, else the district")
    ] = None,
) -> ReportPeriod:
    """The period asked for, refused (422) when it ends before it starts or spans more than a year."""
    if end < start:
        raise InvalidInput(
            "The period ends before it starts.",
            errors=[{"field": "query.to", "message": "must not be before `from`", "code": "period_reversed"}],
        )
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise InvalidInput(
            "A report covers at most a year.",
            errors=[
                {
                    "field": "query.to",
                    "message": f"at most {MAX_PERIOD_DAYS} days after `from`",
                    "code": "period_too_long",
                }
            ],
        )
    district = request.app.state.runtime.settings.district_code
    return ReportPeriod(start=start, end=end, area_code=area_code, district_code=district)


def split(key: str, unit: Unit, dim: str, counts: dict[Any, int], every: Iterable[str] = ()) -> list[Figure]:
    """One figure per value of `dim`: those counted, and those of `every` as 0 (a programme nobody was paid by)."""
    values = {str(k): n for k, n in counts.items()}
    return [Figure(key=key, value=values.get(v, 0), unit=unit, by={dim: v}) for v in sorted({*every, *values})]


def with_total(key: str, unit: Unit, dim: str, counts: dict[Any, int], every: Iterable[str] = ()) -> list[Figure]:
    """The figure's total, then its split by `dim`."""
    return [Figure(key=key, value=sum(counts.values()), unit=unit), *split(key, unit, dim, counts, every)]


async def grouped_counts(session: AsyncSession, stmt: Select[Any]) -> dict[Any, int]:
    """A `SELECT dimension, count` as {dimension: count}."""
    return {k: int(n) for k, n in (await session.execute(stmt)).tuples().all()}
