"""Views for the district: open tasks by township/owner/unit, overdue tasks, rectification rates,
referrals and accountability by month."""

from __future__ import annotations

from fastapi import APIRouter

from services.audit.api.deps import CommissionReader, From, Limit, Reader
from services.audit.domain import overviews
from services.audit.schemas.tasks import RectificationTaskRead
from services.audit.schemas.views import OpenTaskGroupRead, PeriodActivityRead, RectificationRateRead
from shared.api.clock import Now
from shared.http import Transaction
from shared.schemas import IsoDate

router = APIRouter(prefix="/views", tags=["views"])


@router.get("/open-tasks")
async def open_tasks(
    session: Transaction, actor: Reader, now: Now, group_by: overviews.GroupBy = "township"
) -> list[OpenTaskGroupRead]:
    """Tasks not yet verified, counted by township, owner or responsible unit."""
    groups = await overviews.open_task_summary(session, actor, group_by=group_by, now=now)
    return [OpenTaskGroupRead.model_validate(g) for g in groups]


@router.get("/overdue-tasks")
async def overdue_tasks(
    session: Transaction, actor: Reader, now: Now, limit: Limit = 100
) -> list[RectificationTaskRead]:
    """Tasks still with their owner past the deadline, longest overdue first."""
    rows = await overviews.overdue_tasks(session, actor, now=now, limit=limit)
    return [RectificationTaskRead.model_validate(task) for task, _ in rows]


@router.get("/rectification-rates")
async def rectification_rates(
    session: Transaction, actor: Reader, start: From, to: IsoDate
) -> list[RectificationRateRead]:
    """Rectification rate and average days to close of the period's findings, by township and category."""
    rates = await overviews.rectification_rates(session, actor, start=start, end=to)
    return [RectificationRateRead.model_validate(r) for r in rates]


@router.get("/referrals-and-accountability")
async def referrals_and_accountability(
    session: Transaction, _: CommissionReader, start: From, to: IsoDate
) -> list[PeriodActivityRead]:
    """Referrals by reason and accountability decisions by kind, month by month."""
    activity = await overviews.referrals_and_accountability(session, start=start, end=to)
    return [PeriodActivityRead.model_validate(a) for a in activity]
