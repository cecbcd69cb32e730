"""Routes of a project's money: its draws on funding lines and its spending (支出) against them."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from services.projects.api.deps import FundKeeper, Reader
from services.projects.domain import funding, projects
from services.projects.domain.funding import FundingLine
from services.projects.models import ProjectSpending
from services.projects.schemas.funds import FundingCreate, FundingRead, SpendingCreate, SpendingRead
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, date_key, int_key, uuid_key
from shared.http import Reading, Transaction

router = APIRouter(prefix="/projects", tags=["funds"])
DRAW_RESPONSES: dict[int | str, dict[str, str]] = {
    200: {
        "description": "The project already drew on this line: the draw now is `amount_fen` in all. Also a retry "
        "with the same `Idempotency-Key` and body (header `Idempotency-Replayed: true`), nothing set again"
    }
}


def _line(line: FundingLine) -> FundingRead:
    draw, allocation = line.funding, line.allocation
    return FundingRead(
        **draw.model_dump(),
        source=allocation.source,
        year=allocation.year,
        document_no=allocation.document_no,
        spent_fen=line.spent_fen,
        available_fen=draw.amount_fen - line.spent_fen,
    )


def _spending(spending: ProjectSpending) -> SpendingRead:
    return SpendingRead(**spending.model_dump())


@router.post("/{project_id}/funding", status_code=status.HTTP_201_CREATED, responses=DRAW_RESPONSES)
async def draw_funding(
    project_id: UUID,
    body: FundingCreate,
    session: Transaction,
    actor: FundKeeper,
    idem: Idempotency,
    response: Response,
    now: Now,
) -> FundingRead:
    """Draw on a funding line for a project (项目资金安排)

    One draw per project and line: the first answers 201, a second on the same line sets the draw to its new
    `amount_fen` (200), for a project that needs more (or less) of the line. The draws of every project on a line
    never exceed its amount: the line is locked while they are summed, so two draws at once cannot overspend it.

    Refused: an unknown line (422, `unknown_allocation`); a closed project (409, `project_state`); more than the
    line has left (409, `allocation_exhausted`, with `available_fen`); a draw set below what the project has spent
    from it (409, `draw_below_spent`, with `spent_fen`).
    """
    if (earlier := await idem.replay(body, FundingRead)) is not None:
        return earlier
    project = await projects.get_project(session, project_id, actor=actor)
    line, is_new = await funding.draw(session, project, body, actor=actor, now=now)
    if not is_new:
        response.status_code = status.HTTP_200_OK
    return idem.remember(_line(line))


@router.get("/{project_id}/funding")
async def list_funding(project_id: UUID, session: Reading, actor: Reader, paging: Paging) -> Page[FundingRead]:
    """List a project's draws on funding lines, by the lines' year, with what it spent from each

    Pass `next_cursor` on for the next page.
    """
    project = await projects.get_project(session, project_id, actor=actor)
    rows = await funding.funding_page(session, project, after=paging.after(int_key, uuid_key), limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda line: [line.allocation.year, str(line.funding.id)])
    return Page(items=[_line(line) for line in items], next_cursor=next_cursor)


@router.post("/{project_id}/spending", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def record_spending(
    project_id: UUID,
    body: SpendingCreate,
    session: Transaction,
    actor: FundKeeper,
    idem: Idempotency,
    today: Today,
    now: Now,
) -> SpendingRead:
    """Record money a project spent (支出) against one of its draws

    Never past the draw: the draw is locked while its spending is summed, so two at once cannot overspend it.
    Publishes `ProjectSpendingRecorded` on `projects.events` with the funding line's source and year.

    Refused: a day after today (422, `in_future`) or before the project started (422, `before_project_start`); a
    draw that is not the project's (422, `unknown_funding`); a project planned (not approved yet) or closed (409,
    `project_state`); more than is left of the draw (409, `funding_exhausted`, with `available_fen`).
    """
    if (earlier := await idem.replay(body, SpendingRead)) is not None:
        return earlier
    project = await projects.get_project(session, project_id, actor=actor)
    spending = await funding.spend(session, project, body, actor=actor, today=today, now=now)
    return idem.remember(_spending(spending))


@router.get("/{project_id}/spending")
async def list_spending(project_id: UUID, session: Reading, actor: Reader, paging: Paging) -> Page[SpendingRead]:
    """List a project's spending (支出), the latest first

    Pass `next_cursor` on for the next page.
    """
    project = await projects.get_project(session, project_id, actor=actor)
    rows = await funding.spending_page(session, project, after=paging.after(date_key, uuid_key), limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda s: [s.spent_on.isoformat(), str(s.id)])
    return Page(items=[_spending(s) for s in items], next_cursor=next_cursor)
