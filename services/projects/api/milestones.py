"""Routes of a project's construction milestones (工程节点)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.projects.api.deps import Reader, Registrar
from services.projects.domain import milestones, projects
from services.projects.models import ProjectMilestone
from services.projects.schemas.lifecycle import MilestoneCreate, MilestoneRead, MilestoneUpdate
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, date_key, uuid_key
from shared.http import Reading, Transaction

router = APIRouter(prefix="/projects", tags=["projects"])


def _read(milestone: ProjectMilestone) -> MilestoneRead:
    return MilestoneRead(**milestone.model_dump())


@router.post("/{project_id}/milestones", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def add_milestone(
    project_id: UUID, body: MilestoneCreate, session: Transaction, actor: Registrar, idem: Idempotency, now: Now
) -> MilestoneRead:
    """Plan a construction milestone of a project with its due day

    A milestone not completed after its due day makes the project overdue (and the scheduled checks report it).

    Refused: a project neither approved nor under construction (409, `project_state`); a due day before the project
    started (422, `before_project_start`).
    """
    if (earlier := await idem.replay(body, MilestoneRead)) is not None:
        return earlier
    project = await projects.get_project(session, project_id, actor=actor)
    return idem.remember(_read(await milestones.add_milestone(session, project, body, actor=actor, now=now)))


@router.patch("/{project_id}/milestones/{milestone_id}")
async def update_milestone(
    project_id: UUID,
    milestone_id: UUID,
    body: MilestoneUpdate,
    session: Transaction,
    actor: Registrar,
    today: Today,
    now: Now,
) -> MilestoneRead:
    """Report a milestone's progress, or its completion

    Progress is reported as it stands (0-100 %); a completion day completes the milestone at 100 %.

    Refused: progress below what was reported before (422, `progress_back`); 100 % without a completion day (422,
    `completed_on_required`); a completion day with progress below 100 (422, `progress_below_complete`), after
    today (422, `in_future`) or before the project started (422, `before_project_start`); neither progress nor a
    day (422, `nothing_to_update`); a milestone already completed (409, `milestone_completed`); a project neither
    approved nor under construction (409, `project_state`).
    """
    project = await projects.get_project(session, project_id, actor=actor)
    milestone = await milestones.update_milestone(
        session, project, milestone_id, body, actor=actor, today=today, now=now
    )
    return _read(milestone)


@router.get("/{project_id}/milestones")
async def list_milestones(project_id: UUID, session: Reading, actor: Reader, paging: Paging) -> Page[MilestoneRead]:
    """List a project's construction milestones by due day, with their progress

    Pass `next_cursor` on for the next page.
    """
    project = await projects.get_project(session, project_id, actor=actor)
    rows = await milestones.milestones_page(
        session, project, after=paging.after(date_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda m: [m.due_on.isoformat(), str(m.id)])
    return Page(items=[_read(m) for m in items], next_cursor=next_cursor)
