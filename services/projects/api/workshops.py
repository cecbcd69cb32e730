"""Routes of employment workshops (就业工场, 扶贫车间): register, list, read; the members they employ and their
wages."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from services.projects.api.deps import PayClerk, Reader, Registrar
from services.projects.api.posts import area_scope
from services.projects.domain import wages, workshops
from services.projects.domain.workshops import Headcount
from services.projects.models import Workshop
from services.projects.schemas.workshops import (
    EmploymentCreate,
    EmploymentEnd,
    EmploymentRead,
    WagePage,
    WageRead,
    WagesCreate,
    WagesRecorded,
    WorkshopCreate,
    WorkshopRead,
)
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, text_key, uuid_key
from shared.areas import AreaCode
from shared.http import Reading, Transaction
from shared.timeutil import PERIOD_PATTERN

router = APIRouter(prefix="/workshops", tags=["workshops"])
WorkshopArea = Annotated[
    AreaCode | None, Query(description="only workshops within this district, township or village code")
]


def _read(workshop: Workshop, headcount: Headcount) -> WorkshopRead:
    return WorkshopRead(
        **workshop.model_dump(exclude={"registered_by"}),
        workers=headcount.workers,
        branch_count=headcount.branch_count,
        workers_with_branches=headcount.workers_with_branches,
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def register_workshop(
    body: WorkshopCreate, session: Transaction, actor: Registrar, idem: Idempotency, now: Now
) -> WorkshopRead:
    """Register an employment workshop (就业工场) or poverty workshop (扶贫车间)

    Optionally of an industrial project and as a branch of another workshop. Refused: an unknown project (422,
    `unknown_project`) or workshop (422, `unknown_workshop`); a branch of a branch (422, `branch_of_branch`); a
    township officer's workshop, project or parent outside their township (403).
    """
    if (earlier := await idem.replay(body, WorkshopRead)) is not None:
        return earlier
    workshop = await workshops.register_workshop(session, body, actor=actor, now=now)
    return idem.remember(_read(workshop, Headcount()))


@router.get("")
async def list_workshops(
    session: Reading, actor: Reader, paging: Paging, today: Today, area_code: WorkshopArea = None
) -> Page[WorkshopRead]:
    """List workshops (就业工场, 扶贫车间) of an area, each with the members it employs today

    A workshop with branches also counts the members its branches employ (`workers_with_branches`). Without
    `area_code`, a township officer or village cadre lists their own area and every other caller the whole
    district. The earliest registered first; pass `next_cursor` on for the next page.
    """
    rows = await workshops.list_workshops(
        session,
        area_prefix=area_scope(actor, area_code),
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda w: [w.registered_at.isoformat(), str(w.id)])
    counts = await workshops.headcounts(session, items, today=today)
    return Page(items=[_read(w, counts[w.id]) for w in items], next_cursor=next_cursor)


@router.get("/{workshop_id}")
async def get_workshop(workshop_id: UUID, session: Reading, actor: Reader, today: Today) -> WorkshopRead:
    """Read one workshop (就业工场, 扶贫车间) with the members it and its branches employ today"""
    workshop = await workshops.get_workshop(session, workshop_id, actor=actor)
    return _read(workshop, (await workshops.headcounts(session, [workshop], today=today))[workshop.id])


@router.post("/{workshop_id}/workers", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def employ_member(
    workshop_id: UUID, body: EmploymentCreate, session: Transaction, actor: Registrar, idem: Idempotency, now: Now
) -> EmploymentRead:
    """Record that a workshop employs a poor household's member, at a monthly wage

    Refused: a member who is not a living member of a household on the roll (409, `not_on_roll`); a household
    outside a township officer's area (403) or exited without policies (409, `not_entitled`); a member the workshop
    employs already on or after `started_on` (409, `already_employed`).
    """
    if (earlier := await idem.replay(body, EmploymentRead)) is not None:
        return earlier
    workshop = await workshops.get_workshop(session, workshop_id, actor=actor, lock=True)
    employment = await workshops.employ(session, workshop, body, actor=actor, now=now)
    return idem.remember(EmploymentRead.model_validate(employment, from_attributes=True))


@router.post("/{workshop_id}/workers/{employment_id}/end")
async def end_employment(
    workshop_id: UUID, employment_id: UUID, body: EmploymentEnd, session: Transaction, actor: Registrar, today: Today
) -> EmploymentRead:
    """End an employment at a workshop: the member's last day

    Refused: an employment ended already (409, `already_ended`); a day before it started (422,
    `ends_before_start`) or after today (422, `end_in_future`); a day before a month whose wage is recorded (409,
    `wage_recorded`).
    """
    workshop = await workshops.get_workshop(session, workshop_id, actor=actor, lock=True)
    employment = await workshops.end_employment(session, workshop, employment_id, body.ended_on, today=today)
    return EmploymentRead.model_validate(employment, from_attributes=True)


@router.get("/{workshop_id}/workers")
async def list_employments(workshop_id: UUID, session: Reading, actor: Reader, paging: Paging) -> Page[EmploymentRead]:
    """List the members a workshop employs and employed, the earliest recorded first"""
    workshop = await workshops.get_workshop(session, workshop_id, actor=actor)
    rows = await workshops.employments_page(
        session, workshop, after=paging.after(datetime_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda e: [e.recorded_at.isoformat(), str(e.id)])
    return Page(items=[EmploymentRead.model_validate(e, from_attributes=True) for e in items], next_cursor=next_cursor)


@router.post("/{workshop_id}/wages", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def record_wages(
    workshop_id: UUID,
    body: WagesCreate,
    session: Transaction,
    actor: PayClerk,
    idem: Idempotency,
    now: Now,
    today: Today,
) -> WagesRecorded:
    """Record the wages a workshop paid for a month (工资性收入)

    One wage per employment and month, all lines or none. Each publishes `WorkshopWagesRecorded` on
    `projects.events`: households counts it as the member's household's wage income. Refused: a month that has not
    begun (422, `period_not_begun`); a line whose employment is not this workshop's (422, `unknown_employment`) or
    not live on any day of the month (422, `not_employed_in_period`), each naming its line; a wage recorded already
    for the month (409, `wage_recorded`, with `employment_ids`).
    """
    if (earlier := await idem.replay(body, WagesRecorded)) is not None:
        return earlier
    workshop = await workshops.get_workshop(session, workshop_id, actor=actor)
    recorded = await wages.record_wages(session, workshop, body, actor=actor, today=today, now=now)
    return idem.remember(
        WagesRecorded(
            workshop_id=workshop.id,
            period=body.period,
            total_fen=sum(w.amount_fen for w in recorded),
            wages=[WageRead.model_validate(w, from_attributes=True) for w in recorded],
        )
    )


@router.get("/{workshop_id}/wages")
async def list_wages(
    workshop_id: UUID,
    session: Reading,
    actor: Reader,
    paging: Paging,
    period: Annotated[
        str | None, Query(pattern=PERIOD_PATTERN, description="only this month (YYYY-MM), with its total")
    ] = None,
) -> WagePage:
    """List the wages a workshop recorded, the latest month first, and a month's total"""
    workshop = await workshops.get_workshop(session, workshop_id, actor=actor)
    rows = await wages.wages_page(
        session, workshop, period=period, after=paging.after(text_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda w: [w.period, str(w.id)])
    total = None if period is None else await wages.wages_total(session, workshop, period)
    return WagePage(
        items=[WageRead.model_validate(w, from_attributes=True) for w in items],
        next_cursor=next_cursor,
        total_fen=total,
    )
