"""Routes of the posts' monthly payrolls (公益岗位工资表) and of a household's wage income (工资性收入)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from services.projects.api.deps import PayrollPreparer, Reader, Treasurer
from services.projects.api.posts import area_scope
from services.projects.domain import payroll as payrolls
from services.projects.domain import wages
from services.projects.models import Payroll
from services.projects.rules.vocabulary import PayrollStatus
from services.projects.schemas.posts import HouseholdWageRead, PayrollCreate, PayrollLineRead, PayrollRead
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, text_key, uuid_key
from shared.http import Reading, Transaction
from shared.timeutil import CALENDAR_YEARS

router = APIRouter(prefix="/payrolls", tags=["payrolls"])
income_router = APIRouter(prefix="/households", tags=["wage income"])


def _read(payroll: Payroll) -> PayrollRead:
    return PayrollRead.model_validate(payroll, from_attributes=True)


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def prepare_payroll(
    body: PayrollCreate, session: Transaction, actor: PayrollPreparer, idem: Idempotency, now: Now, today: Today
) -> PayrollRead:
    """Prepare the month's payroll of the public-welfare posts (公益岗位工资表)

    By the finance office only: one payroll per month for the whole district. A line per holder of a post on some
    day of the month, paid the post's monthly allowance × days held // days in the month (a holding not ended
    counts to the month's end, or to the holder's death, that day included; a member who left one post and took
    another within the month gets one line of both). A holder whose household exited without policies, as the roll
    stands when the payroll is prepared, gets no line. Publishes `PayrollStatusChanged`. The month must have begun
    (422, `period_not_begun`). Refused: a month with a payroll (409, `payroll_exists`); no post held in the month
    (409, `nothing_to_pay`); more holders than a payroll pays (409, `too_many_lines`); any caller but a finance
    officer (403).
    """
    if (earlier := await idem.replay(body, PayrollRead)) is not None:
        return earlier
    prepared = await payrolls.prepare_payroll(session, body.period, actor=actor, today=today, now=now)
    return idem.remember(_read(prepared))


@router.post("/{payroll_id}/approval")
async def approve_payroll(payroll_id: UUID, session: Transaction, actor: Treasurer, now: Now) -> PayrollRead:
    """Approve a prepared payroll of the public-welfare posts

    By the district office or a finance officer other than its preparer (subjects compared regardless of case).
    Publishes `PayrollApproved` and `PayrollStatusChanged` on `projects.events`: subsidies pays each line as a cycle
    of `public_welfare_job_subsidy` whose id is the payroll's, and the payroll is `paid` once every line is.
    Refused: a payroll not `prepared` (409, `payroll_state`); an approver who prepared it (403,
    `separation_of_duties`).
    """
    return _read(await payrolls.approve_payroll(session, payroll_id, actor=actor, now=now))


@router.get("")
async def list_payrolls(
    session: Reading, actor: Reader, paging: Paging, status: PayrollStatus | None = None
) -> Page[PayrollRead]:
    """List the posts' payrolls, the latest month first"""
    rows = await payrolls.list_payrolls(
        session, status=status, after=paging.after(text_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda p: [p.period, str(p.id)])
    return Page(items=[_read(p) for p in items], next_cursor=next_cursor)


@router.get("/{payroll_id}")
async def get_payroll(payroll_id: UUID, session: Reading, actor: Reader) -> PayrollRead:
    """Read one payroll of the public-welfare posts: its month, status, lines and totals"""
    return _read(await payrolls.get_payroll(session, payroll_id))


@router.get("/{payroll_id}/lines")
async def list_payroll_lines(
    payroll_id: UUID, session: Reading, actor: Reader, paging: Paging
) -> Page[PayrollLineRead]:
    """List a payroll's lines, one per holder, by member

    A township officer or village cadre lists the lines of the posts in their area.
    """
    payroll = await payrolls.get_payroll(session, payroll_id)
    rows = await payrolls.lines_page(
        session, payroll, area_prefix=area_scope(actor, None), after=paging.after(uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda x: [str(x.member_id)])
    return Page(items=[PayrollLineRead.model_validate(x, from_attributes=True) for x in items], next_cursor=next_cursor)


@income_router.get("/{household_id}/wages")
async def household_wages(
    household_id: UUID,
    session: Reading,
    actor: Reader,
    paging: Paging,
    year: Annotated[
        int | None, Query(ge=CALENDAR_YEARS.start, le=CALENDAR_YEARS.stop - 1, description="only this year's months")
    ] = None,
) -> Page[HouseholdWageRead]:
    """List a household's workshop wages and post allowances: its wage income (工资性收入)

    The wages its members' workshops recorded and the allowances of its members' posts on approved payrolls (an
    allowance counts once subsidies paid it: `status` `paid`), the latest month first. A township officer or village
    cadre reads only the households of their area.
    """
    await wages.rolled_household(session, household_id, actor=actor)
    rows = await wages.household_wages(
        session, household_id, year=year, after=paging.after(text_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda r: [r.period, str(r.id)])
    return Page(
        items=[HouseholdWageRead.model_validate(r, from_attributes=True) for r in items], next_cursor=next_cursor
    )
