"""Routes of a project's life (项目全周期): its transitions and history, and its acceptance (验收)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.projects.api.deps import AcceptanceOfficer, Reader, Registrar
from services.projects.domain import acceptance, lifecycle, projects
from services.projects.models import ProjectAcceptance, ProjectStatusChange
from services.projects.schemas.lifecycle import AcceptanceCreate, AcceptanceRead, StatusChangeRead, TransitionCreate
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, date_key, datetime_key, uuid_key
from shared.http import Reading, Transaction

router = APIRouter(prefix="/projects", tags=["projects"])


def _change(change: ProjectStatusChange) -> StatusChangeRead:
    return StatusChangeRead(**change.model_dump())


def _acceptance(found: ProjectAcceptance) -> AcceptanceRead:
    return AcceptanceRead(**found.model_dump())


@router.post("/{project_id}/transitions", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def move_project(
    project_id: UUID,
    body: TransitionCreate,
    session: Transaction,
    actor: Registrar,
    idem: Idempotency,
    today: Today,
    now: Now,
) -> StatusChangeRead:
    """Move a project along its life: approve, start construction, complete, put into operation, close

    The moves, and who makes each: planned → approved (批复立项: the district office; the project needs the day it
    is to be accepted by, which the body may carry, and a draw on a funding line); approved → under_construction
    and under_construction → completed (district or township office; completing needs every milestone
    completed); accepted → operating (district or township office; needs a registered asset, 资产确权); operating
    → closed (the district office). completed → accepted is made by a passed acceptance
    (`POST /v1/projects/{id}/acceptances`), never here. Each step is kept in the project's history and published
    as `ProjectStatusChanged`.

    Refused: any other move (409, `transition_not_allowed`, naming `from_status` and `to_status`); a role that may
    not make the move (403, `transition_role`); a day after today (422, `in_future`) or before the project's last
    change (422, `before_last_change`); approval without an acceptance due day (422, `acceptance_due_required`),
    one before the approval (422, `due_before_approval`) or a due day on another move (422,
    `not_on_this_transition`); approval without funding (409, `no_funding`); completion with milestones open (409,
    `milestones_open`); operation without an asset (409, `no_assets`).
    """
    if (earlier := await idem.replay(body, StatusChangeRead)) is not None:
        return earlier
    project = await projects.get_project(session, project_id, actor=actor, for_update=True)
    change = await lifecycle.transition(session, project, body, actor=actor, today=today, now=now)
    return idem.remember(_change(change))


@router.get("/{project_id}/history")
async def project_history(project_id: UUID, session: Reading, actor: Reader, paging: Paging) -> Page[StatusChangeRead]:
    """List the steps of a project's life, the first first: who moved it, when and why

    Pass `next_cursor` on for the next page.
    """
    project = await projects.get_project(session, project_id, actor=actor)
    rows = await lifecycle.history_page(
        session, project, after=paging.after(date_key, datetime_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda c: [c.effective_on.isoformat(), c.changed_at.isoformat(), str(c.id)])
    return Page(items=[_change(c) for c in items], next_cursor=next_cursor)


@router.post("/{project_id}/acceptances", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def accept_project(
    project_id: UUID,
    body: AcceptanceCreate,
    session: Transaction,
    actor: AcceptanceOfficer,
    idem: Idempotency,
    today: Today,
    now: Now,
) -> AcceptanceRead:
    """Record the acceptance (验收) of a completed project, passed or not, with what it found

    Passed, the project is accepted from `accepted_on` (a step of its history, published as
    `ProjectStatusChanged`); not passed, it stays completed. Every finding, passed or not, is published as
    `ProjectProblemFound` with the severity the officer chose, and audit opens a finding from it.

    Refused: an officer who is the project's manager (403, `separation_of_duties`); a project not completed (409,
    `project_state`); an acceptance not passed without findings (422, `findings_required`); a finding code given
    twice (422, `repeated_problem_code`); a day after today (422, `in_future`) or before the project was completed
    (422, `before_last_change`).
    """
    if (earlier := await idem.replay(body, AcceptanceRead)) is not None:
        return earlier
    project = await projects.get_project(session, project_id, actor=actor, for_update=True)
    found = await acceptance.record_acceptance(session, project, body, actor=actor, today=today, now=now)
    return idem.remember(_acceptance(found))


@router.get("/{project_id}/acceptances")
async def list_acceptances(project_id: UUID, session: Reading, actor: Reader, paging: Paging) -> Page[AcceptanceRead]:
    """List a project's acceptances (验收), the latest first, each with its findings

    Pass `next_cursor` on for the next page.
    """
    project = await projects.get_project(session, project_id, actor=actor)
    rows = await acceptance.acceptances_page(
        session, project, after=paging.after(date_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda a: [a.accepted_on.isoformat(), str(a.id)])
    return Page(items=[_acceptance(a) for a in items], next_cursor=next_cursor)
