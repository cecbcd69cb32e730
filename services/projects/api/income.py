"""Routes of a project's income (收益)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.projects.api.deps import Reader, Treasurer
from services.projects.domain import income, projects
from services.projects.schemas.income import IncomeCreate, IncomeRead
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, text_key
from shared.http import Transaction

router = APIRouter(prefix="/projects", tags=["projects"])


@router.post("/{project_id}/income", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def record_income(
    project_id: UUID,
    body: IncomeCreate,
    session: Transaction,
    actor: Treasurer,
    idem: Idempotency,
    now: Now,
    today: Today,
) -> IncomeRead:
    """Record a project's income for a month (项目收益)

    Publishes `ProjectIncomeRecorded` on `projects.events`: subsidies shares the income out among the poor
    households of the project's township by members (差异化分配).

    Refused: income already recorded for the project and month (409); a month that has not begun (422,
    `period_not_begun`) or that is before the month the project started (422, `before_project_start`).
    """
    if (earlier := await idem.replay(body, IncomeRead)) is not None:
        return earlier
    project = await projects.get_project(session, project_id, actor=actor)
    recorded = await income.record_income(session, project, body, actor=actor, today=today, now=now)
    return idem.remember(IncomeRead(**recorded.model_dump()))


@router.get("/{project_id}/income")
async def list_income(project_id: UUID, session: Transaction, actor: Reader, paging: Paging) -> Page[IncomeRead]:
    """List a project's income (项目收益), the latest month first

    One record per month. Pass `next_cursor` on for the next page.
    """
    project = await projects.get_project(session, project_id, actor=actor)
    after = paging.after(text_key)
    rows = await income.income_page(session, project, before_period=after[0] if after else None, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda i: [i.period])
    return Page(items=[IncomeRead(**i.model_dump()) for i in items], next_cursor=next_cursor)
