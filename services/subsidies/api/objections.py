"""Routes of objections to a cycle's public notice (公示异议)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.subsidies.api.deps import CycleApprover, NoticeReader, ObjectionRecorder
from services.subsidies.domain import objections
from services.subsidies.schemas.cycles import ObjectionCreate, ObjectionDecisionCreate, ObjectionRead
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.http import Reading, Transaction

router = APIRouter(prefix="/cycles/{cycle_id}/objections", tags=["objections"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def raise_objection(
    cycle_id: UUID,
    body: ObjectionCreate,
    session: Transaction,
    actor: ObjectionRecorder,
    idem: Idempotency,
    today: Today,
    now: Now,
) -> ObjectionRead:
    """Record an objection raised during the public notice (公示异议)

    About a listed entitlement (`entitlement_id`, one of the household's in this cycle), or a household or member
    left out (no `entitlement_id`). Submission waits until every objection is decided. Refused: a cycle not on
    notice (409, `cycle_state`); a day outside the notice window (422, `outside_notice_window`) or after today
    (422, `raised_in_future`); a household subsidies does not know (422, `unknown_household`); an entitlement not
    the household's in this cycle, or withdrawn (422, `not_listed`).
    """
    if (earlier := await idem.replay(body, ObjectionRead)) is not None:
        return earlier
    objection = await objections.raise_objection(session, cycle_id, body, actor=actor, today=today, now=now)
    return idem.remember(ObjectionRead.model_validate(objection))


@router.get("")
async def list_objections(
    cycle_id: UUID, session: Reading, actor: NoticeReader, paging: Paging, decided: bool | None = None
) -> Page[ObjectionRead]:
    """List the objections raised to a cycle's notice, the latest recorded first

    `decided=false` lists those awaiting a decision, which block submission. Pass `next_cursor` on for the next
    page.
    """
    rows = await objections.list_objections(
        session,
        cycle_id,
        actor=actor,
        decided=decided,
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda o: [o.recorded_at.isoformat(), str(o.id)])
    return Page(items=[ObjectionRead.model_validate(o) for o in items], next_cursor=next_cursor)


@router.post("/{objection_id}/decision")
async def decide_objection(
    cycle_id: UUID,
    objection_id: UUID,
    body: ObjectionDecisionCreate,
    session: Transaction,
    actor: CycleApprover,
    now: Now,
) -> ObjectionRead:
    """Decide an objection (异议处理): upheld or dismissed, with the reasons

    Upheld against a listed entitlement, the entitlement is withdrawn and the list's counts follow. Upheld for a
    household left out, the household's facts are fixed where they are kept (households) and the list is computed
    again and posted again before it can be submitted. Refused: a cycle not on notice (409, `cycle_state`); an
    objection already decided (409, `objection_decided`).
    """
    objection = await objections.decide_objection(session, cycle_id, objection_id, body, actor=actor, now=now)
    return ObjectionRead.model_validate(objection)
