"""Routes of coverage checks (政策落实覆盖核查)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.subsidies.api.deps import Checker, CheckReader, Policies
from services.subsidies.domain import coverage
from services.subsidies.models import CoverageCheck, CoverageGap
from services.subsidies.schemas.coverage import CoverageCheckCreate, CoverageCheckRead, CoverageGapRead
from shared.api.clock import Now, Today
from shared.http import Transaction

router = APIRouter(prefix="/coverage-checks", tags=["coverage checks"])


def _check_read(check: CoverageCheck, gaps: list[CoverageGap]) -> CoverageCheckRead:
    return CoverageCheckRead(**check.model_dump(), gaps=[CoverageGapRead(**g.model_dump()) for g in gaps])


@router.post("", status_code=status.HTTP_201_CREATED)
async def check_coverage(
    body: CoverageCheckCreate, session: Transaction, actor: Checker, policies: Policies, now: Now, today: Today
) -> CoverageCheckRead:
    """Check a policy's coverage: each entitled household or member left unpaid goes to audit."""
    found = await coverage.check_coverage(session, body, actor=actor, policies=policies, today=today, now=now)
    return _check_read(*found)


@router.get("/{check_id}")
async def get_coverage_check(check_id: UUID, session: Transaction, actor: CheckReader) -> CoverageCheckRead:
    """A coverage check as it was run, with the gaps it found then."""
    return _check_read(*await coverage.get_coverage_check(session, check_id, actor=actor))
