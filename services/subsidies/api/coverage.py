"""Routes of coverage checks (政策落实覆盖核查)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from services.subsidies.api.deps import Checker, CheckReader
from services.subsidies.domain import coverage
from services.subsidies.schemas.coverage import CoverageCheckCreate, CoverageCheckRead, CoverageGapRead
from services.subsidies.schemas.payments import AnyPeriod
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.contracts.subsidies import PolicyCode
from shared.http import Reading, Transaction

router = APIRouter(prefix="/coverage-checks", tags=["coverage checks"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def check_coverage(
    body: CoverageCheckCreate, session: Transaction, actor: Checker, idem: Idempotency, now: Now, today: Today
) -> CoverageCheckRead:
    """Check a programme's coverage for a period (政策落实覆盖核查): who was entitled and went unpaid

    Judges every holder of the programme (each household, or each member for a member's programme) in the area asked
    for (default: the caller's whole reach) by the eligibility rule of the programme version in force on the
    period's first day, on the facts as of that day, and compares the holders it entitles with the paid payments
    for the period, holder by holder. The check is kept with every gap it found, and each gap is published as
    `SubsidyCoverageGap` on `subsidies.events`, from which audit opens a finding. Answers the check with its counts
    (entitled, paid, gaps); its gaps are listed by `GET /v1/coverage-checks/{id}/gaps`. Paid and closed cycles are
    also checked on a schedule (`checked_by` `scheduler`, `cycle_id` set).

    Refused: a programme the catalogue does not hold (422, `unknown_policy`: never "0 gaps") or one paid from
    projects' approved plans and payrolls (422, `decided_by_projects`: no rule here says who is entitled); no version
    in force on the period's first day (422, `no_version_in_force`); a period not written as the programme's
    frequency requires (422, `period_format`) or not begun (422, `period_not_begun`).
    """
    if (earlier := await idem.replay(body, CoverageCheckRead)) is not None:
        return earlier
    check = await coverage.check_coverage(
        session,
        policy_code=body.policy_code,
        period=body.period,
        area_code=coverage.scope_of(body.area_code, actor),
        checked_by=actor.subject,
        today=today,
        now=now,
    )
    return idem.remember(CoverageCheckRead(**check.model_dump()))


@router.get("")
async def list_coverage_checks(
    session: Reading,
    actor: CheckReader,
    paging: Paging,
    policy_code: PolicyCode | None = None,
    period: Annotated[AnyPeriod | None, Query()] = None,
    cycle_id: UUID | None = None,
) -> Page[CoverageCheckRead]:
    """List coverage checks (政策落实覆盖核查) as they were run, the newest first, with their counts

    Filter by programme, period or cycle (a cycle's scheduled checks); a check's gaps are listed by
    `GET /v1/coverage-checks/{id}/gaps`. A township office sees the checks of areas within its own. Pass
    `next_cursor` on for the next page.
    """
    rows = await coverage.list_coverage_checks(
        session,
        actor=actor,
        policy_code=policy_code,
        period=period,
        cycle_id=cycle_id,
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda c: [c.checked_at.isoformat(), str(c.id)])
    return Page(items=[CoverageCheckRead(**c.model_dump()) for c in items], next_cursor=next_cursor)


@router.get("/{check_id}")
async def get_coverage_check(check_id: UUID, session: Reading, actor: CheckReader) -> CoverageCheckRead:
    """Read a coverage check as it was run, with its counts (entitled, paid, gaps)

    Its gaps are listed by `GET /v1/coverage-checks/{check_id}/gaps`. A township office reads only the checks of
    areas within its own (a district-wide check is a 403).
    """
    return CoverageCheckRead(**(await coverage.get_coverage_check(session, check_id, actor=actor)).model_dump())


@router.get("/{check_id}/gaps")
async def list_coverage_gaps(
    check_id: UUID, session: Reading, actor: CheckReader, paging: Paging
) -> Page[CoverageGapRead]:
    """List the gaps a coverage check found (政策落实覆盖核查): who was entitled and went unpaid

    As the check found them when it ran (`gap_count` of them), by household id, then member id (a household's own
    entitlement first): the order never changes, since a check's gaps do not. Pass `next_cursor` on for the next
    page.
    """
    after = paging.after(uuid_key, uuid_key, uuid_key)
    rows = await coverage.list_coverage_gaps(session, check_id, actor=actor, after=after, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda g: [str(part) for part in coverage.gap_key(g)])
    return Page(items=[CoverageGapRead(**g.model_dump()) for g in items], next_cursor=next_cursor)
