"""Routes of an asset's income (收益)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.projects.api.deps import Reader, Treasurer
from services.projects.domain import income, projects
from services.projects.domain.income import PlannedIncome
from services.projects.schemas.income import IncomeCreate, IncomeRead
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, text_key, uuid_key
from shared.http import Reading, Transaction

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
    """Record an asset's income for a month (项目收益)

    The income belongs to the asset's owner; it is shared among the owner's poor households only by a distribution
    plan (`POST /v1/plans`), prepared, reviewed and approved, never automatically. Publishes
    `ProjectIncomeRecorded` on `projects.events`. `received_on` defaults to the request's day.

    Refused: a project neither accepted nor operating (409, `project_state`); income already recorded for the
    asset and month (409, `income_recorded`); an asset not of this project (422, `not_an_asset`); a month that has
    not begun (422, `period_not_begun`) or before the month the project started (422, `before_project_start`);
    received after today (422, `in_future`).
    """
    if (earlier := await idem.replay(body, IncomeRead)) is not None:
        return earlier
    project = await projects.get_project(session, project_id, actor=actor)
    recorded = await income.record_income(session, project, body, actor=actor, today=today, now=now)
    return idem.remember(IncomeRead(**PlannedIncome(recorded).fields()))


@router.get("/{project_id}/income")
async def list_income(project_id: UUID, session: Reading, actor: Reader, paging: Paging) -> Page[IncomeRead]:
    """List a project's income (项目收益), the latest month first, each with its distribution plan

    One record per asset and month; each shows its plan not rejected and where that plan stands, or none. Pass
    `next_cursor` on for the next page.
    """
    project = await projects.get_project(session, project_id, actor=actor)
    rows = await income.income_page(session, project, after=paging.after(text_key, uuid_key), limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda r: [r.income.period, str(r.income.id)])
    return Page(items=[IncomeRead(**r.fields()) for r in items], next_cursor=next_cursor)
