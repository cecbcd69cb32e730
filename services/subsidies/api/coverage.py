"""Routes of coverage checks (政策落实覆盖核查)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from services.subsidies.api.deps import Checker, CheckReader, Policies
from services.subsidies.domain import coverage
from services.subsidies.models import CoverageCheck, CoverageGap
from services.subsidies.schemas.coverage import (
    CoverageCheckCreate,
    CoverageCheckRead,
    CoverageCheckSummary,
    CoverageGapRead,
)
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.contracts.subsidies import PolicyCode
from shared.http import Transaction
from shared.schemas import Period

router = APIRouter(prefix="/coverage-checks", tags=["coverage checks"])


def _check_read(check: CoverageCheck, gaps: list[CoverageGap]) -> CoverageCheckRead:
    return CoverageCheckRead(**check.model_dump(), gaps=[CoverageGapRead(**g.model_dump()) for g in gaps])


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def check_coverage(
    body: CoverageCheckCreate,
    session: Transaction,
    actor: Checker,
    idem: Idempotency,
    policies: Policies,
    now: Now,
    today: Today,
) -> CoverageCheckRead:
    """Check a policy's coverage for a month (政策落实覆盖核查): who was entitled and went unpaid

    Compares the entitlements held on any day of the month (from households' events) with the payments made for
    it, in the area asked for (default: the caller's whole reach). The check is kept with every gap it found, and
    each gap is published as `SubsidyCoverageGap` on `subsidies.events`, from which audit opens a finding.

    Refused: a month that has not begun (422, `period_not_begun`); a policy this deployment does not pay (422,
    `unknown_policy`).
    """
    if (earlier := await idem.replay(body, CoverageCheckRead)) is not None:
        return earlier
    found = await coverage.check_coverage(session, body, actor=actor, policies=policies, today=today, now=now)
    return idem.remember(_check_read(*found))


@router.get("")
async def list_coverage_checks(
    session: Transaction,
    actor: CheckReader,
    paging: Paging,
    policy_code: PolicyCode | None = None,
    period: Annotated[Period | None, Query()] = None,
) -> Page[CoverageCheckSummary]:
    """List coverage checks (政策落实覆盖核查) as they were run, the newest first, without their gaps

    Filter by policy or month; read one check for its gaps. Pass `next_cursor` on for the next page.
    """
    rows = await coverage.list_coverage_checks(
        session,
        actor=actor,
        policy_code=policy_code,
        period=period,
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda c: [c.checked_at.isoformat(), str(c.id)])
    return Page(items=[CoverageCheckSummary(**c.model_dump()) for c in items], next_cursor=next_cursor)


@router.get("/{check_id}")
async def get_coverage_check(check_id: UUID, session: Transaction, actor: CheckReader) -> CoverageCheckRead:
    """Read a coverage check as it was run, with the gaps it found then"""
    return _check_read(*await coverage.get_coverage_check(session, check_id, actor=actor))
