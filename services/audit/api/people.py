"""Responsible people (责任人): the areas' officers, handing a finding to another person, and statistics by
person and by unit."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, status

from services.audit.api.deps import From, Reader, To
from services.audit.domain import people_statistics, responsibility
from services.audit.domain.people_statistics import Tally, Window
from services.audit.schemas.people import (
    AreaOfficerRead,
    AreaOfficerSet,
    PersonTallyRead,
    ResponsibilityChangeRead,
    ResponsibleChangeCreate,
    UnitTallyRead,
)
from shared.api.clock import Now
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, int_key, text_key, uuid_key
from shared.areas import AreaCode
from shared.auth import Principal, Role, require_roles
from shared.http import Reading, Transaction

router = APIRouter(tags=["people"])

DistrictOffice = Annotated[Principal, Depends(require_roles(Role.DISTRICT_OFFICE))]
# Who hands a finding to another person: the district office, a township office within its own area.
Assigner = Annotated[
    Principal, Depends(require_roles(Role.DISTRICT_OFFICE, Role.TOWNSHIP_OFFICE, Role.DISCIPLINE_COMMISSION))
]
# Who reads the statistics: those who hold people to account, and a township office for its own area.
StatisticsReader = Annotated[
    Principal,
    Depends(require_roles(Role.DISTRICT_OFFICE, Role.DISCIPLINE_COMMISSION, Role.AUDITOR, Role.TOWNSHIP_OFFICE)),
]
AreaPath = Annotated[AreaCode, Path(description="a district's, township's or village's code")]
InArea = Annotated[AreaCode | None, Query(description="Only findings in this area (a prefix).")]


@router.put("/area-officers/{area_code}")
async def set_area_officer(
    area_code: AreaPath, body: AreaOfficerSet, session: Transaction, actor: DistrictOffice, now: Now
) -> AreaOfficerRead:
    """Set the officer who answers for an area's problems (乡镇扶贫干部) when no one nearer is known

    A finding whose source names no one (no helper cadre, no project manager, no payment's preparer) names the
    officer of the most specific area holding its own, who is notified. Setting an area again replaces its
    officer for findings opened from then on; those already open are handed over one by one
    (`POST /v1/findings/{finding_id}/responsible`).
    """
    officer = await responsibility.set_area_officer(session, area_code, body.person(), actor=actor, now=now)
    return AreaOfficerRead.model_validate(officer)


@router.get("/area-officers")
async def list_area_officers(session: Reading, actor: Reader, paging: Paging) -> Page[AreaOfficerRead]:
    """List the areas' officers (乡镇扶贫干部) within the caller's area

    Pages run in area code order.
    """
    rows = await responsibility.list_area_officers(session, actor, after=paging.after(text_key), limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda o: [o.area_code])
    return Page(items=[AreaOfficerRead.model_validate(o) for o in items], next_cursor=next_cursor)


@router.post("/findings/{finding_id}/responsible", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def hand_over_finding(
    finding_id: UUID,
    body: ResponsibleChangeCreate,
    session: Transaction,
    actor: Assigner,
    now: Now,
    idem: Idempotency,
) -> ResponsibilityChangeRead:
    """Hand a finding to another responsible person (责任人变更), with the reason

    Only an open finding, and not to the person who already answers for it (else 409). A referred finding (a
    lead with the commission) or one of conduct only the district office or the discipline commission hands over
    (403 `referred_finding` for a township office). The change is recorded
    with who made it and why, the finding names the new person from then on (its task stays with the township
    office that works it), `FindingReassigned` is published (without the reason) and the new person notified.
    """
    if (earlier := await idem.replay(body, ResponsibilityChangeRead)) is not None:
        return earlier
    change = await responsibility.reassign(session, finding_id, body.person(), reason=body.reason, actor=actor, now=now)
    return idem.remember(ResponsibilityChangeRead.model_validate(change))


@router.get("/findings/{finding_id}/responsibility")
async def responsibility_history(
    finding_id: UUID, session: Reading, actor: Reader, paging: Paging
) -> Page[ResponsibilityChangeRead]:
    """List a finding's changes of responsible person (责任人变更), oldest first

    Who had it, who has it, why and who decided. The finding names its person at opening (`FindingRead`); only
    hand-overs are listed. Pages run in (`changed_at`, `id`) order.
    """
    rows = await responsibility.changes_of(
        session, finding_id, actor, after=paging.after(datetime_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda c: [c.changed_at.isoformat(), str(c.id)])
    return Page(items=[ResponsibilityChangeRead.model_validate(c) for c in items], next_cursor=next_cursor)


@router.get("/statistics/people")
async def people_statistics_page(
    session: Reading,
    actor: StatisticsReader,
    now: Now,
    paging: Paging,
    start: From,
    to: To,
    area_code: InArea = None,
) -> Page[PersonTallyRead]:
    """Count each responsible person's findings (责任人统计): open, overdue, closed on time, closed late

    Of the findings opened from `from` to `to` (district calendar, inclusive) in the area (a township office: its
    own, by default and at most), per person they name (by login): how many, how many still open, how many open
    past their task's deadline (overdue), closed by the deadline or after it. Findings naming no person are counted
    by unit only (`/v1/statistics/units`). The most overdue first: pages run in (`overdue` descending, `person_id`)
    order, each counted anew, so counts on two pages may be from different moments.
    """
    window = Window(start=start, end=to, area_code=area_code)
    rows = await people_statistics.by_person(
        session, window, actor, now=now, after=paging.after(int_key, text_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, _cursor)
    people = [PersonTallyRead(person_id=t.key, name=t.name, unit=t.unit, **_counts(t)) for t in items]
    return Page(items=people, next_cursor=next_cursor)


@router.get("/statistics/units")
async def unit_statistics_page(
    session: Reading,
    actor: StatisticsReader,
    now: Now,
    paging: Paging,
    start: From,
    to: To,
    area_code: InArea = None,
) -> Page[UnitTallyRead]:
    """Count each responsible unit's findings (责任单位统计): open, overdue, closed on time, closed late

    As `/v1/statistics/people`, per unit: the responsible person's unit, or the township office
    (`township_office:<township>`) of a finding naming no one. Pages run in (`overdue` descending, `unit`) order.
    """
    window = Window(start=start, end=to, area_code=area_code)
    rows = await people_statistics.by_unit(
        session, window, actor, now=now, after=paging.after(int_key, text_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, _cursor)
    return Page(items=[UnitTallyRead(unit=t.key, **_counts(t)) for t in items], next_cursor=next_cursor)


def _cursor(tally: Tally) -> list[object]:
    return [tally.overdue, tally.key]


def _counts(tally: Tally) -> dict[str, int]:
    return {
        "opened": tally.opened,
        "open": tally.open,
        "overdue": tally.overdue,
        "closed_on_time": tally.closed_on_time,
        "closed_late": tally.closed_late,
    }
