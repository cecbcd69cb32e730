"""Coverage checks (政策落实覆盖核查): the holders the programme's rule entitles, checked against the payments made.

Each gap found is kept with the check and published, in the caller's transaction. The check reads the holders'
facts by chunks and writes each chunk's gaps in one statement, so a cycle of 100,000 holders keeps memory flat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import Uuid, func, insert, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies import events
from services.subsidies.domain.catalogue import programme_in_force
from services.subsidies.domain.facts import holder_facts
from services.subsidies.domain.policies import ensure_period_begun
from services.subsidies.models import CoverageCheck, CoverageGap, Cycle, Payment
from services.subsidies.rules.coverage import Entitled, entitled_holders, find_gaps
from services.subsidies.rules.responsible import list_preparer
from services.subsidies.rules.vocabulary import PaymentStatus
from shared.auth import Principal
from shared.contracts.accountability import ResponsiblePerson
from shared.contracts.subsidies import PolicyCode, SubsidyCoverageGap
from shared.db import keyset, one_of
from shared.errors import NotFound
from shared.ids import uuid7

GAPS = CoverageGap.__table__  # type: ignore[attr-defined]
PAYMENTS = Payment.__table__  # type: ignore[attr-defined]


async def check_coverage(
    session: AsyncSession,
    *,
    policy_code: str,
    period: str,
    area_code: str | None,
    checked_by: str,
    today: date,
    now: datetime,
    cycle_id: UUID | None = None,
) -> CoverageCheck:
    """Find every holder in the area (None: the district) whom the programme version in force on the period's first
    day entitles and no paid payment for the period covers, and record it.

    Refused: a programme not in the catalogue (`unknown_policy`: never "0 gaps"), no version in force, a period not
    written as the programme's frequency requires or not begun. Each gap is kept with the check and published as
    `SubsidyCoverageGap`, from which audit opens a finding: found `today`, the checked cycle's preparer answering
    for it (none without a cycle).
    """
    programme, version = await programme_in_force(session, policy_code, period)
    ensure_period_begun(period, today=today)
    check = CoverageCheck(
        policy_code=policy_code,
        period=period,
        area_code=area_code,
        cycle_id=cycle_id,
        checked_by=checked_by,
        checked_at=now,
        entitled_count=0,
        gap_count=0,
    )
    session.add(check)
    await session.flush()  # the gaps refer to it
    found = _Found(on=today, responsible=await _preparer(session, cycle_id, policy_code))
    async for holders in holder_facts(session, programme, period, area_code=area_code):
        entitled = entitled_holders(version.rule, holders)
        gaps = find_gaps(entitled, await _paid_holders(session, policy_code, period, entitled))
        await _keep_gaps(session, check, gaps, found)
        check.entitled_count += len(entitled)
        check.gap_count += len(gaps)
    return check


def scope_of(area_code: str | None, actor: Principal) -> str | None:
    """The area to check: the one asked for, else a scoped officer's own area, else the whole district (None).

    Forbidden beyond the actor's reach."""
    scope = area_code or (actor.area if actor.is_area_scoped else None)
    if scope is not None:
        actor.ensure_reach(scope)
    return scope


async def _paid_holders(
    session: AsyncSession, policy_code: str, period: str, entitled: list[Entitled]
) -> set[tuple[UUID, str]]:
    """(household id, holder key) of the paid payments of the programme and period to these holders' households."""
    households = sorted({e.household_id for e in entitled})
    if not households:
        return set()
    rows = await session.execute(
        select(PAYMENTS.c.household_id, PAYMENTS.c.holder_key).where(
            PAYMENTS.c.policy_code == policy_code,
            PAYMENTS.c.period == period,
            PAYMENTS.c.status == PaymentStatus.PAID,
            one_of(session.get_bind().dialect, PAYMENTS.c.household_id, households, Uuid()),
        )
    )
    return {(household_id, key) for household_id, key in rows.tuples()}


async def _preparer(session: AsyncSession, cycle_id: UUID | None, policy_code: str) -> ResponsiblePerson | None:
    """Who prepared the checked cycle's list, the gaps' responsible person; None without a cycle (audit then names
    the area's officer)."""
    cycle = await session.get(Cycle, cycle_id) if cycle_id else None
    if cycle is None:
        return None
    return list_preparer(policy_code, computed_by=cycle.computed_by, submitted_by=cycle.submitted_by)


@dataclass(frozen=True)
class _Found:
    """What each gap of a check says beside itself: the check's day and who answers for it."""

    on: date
    responsible: ResponsiblePerson | None


async def _keep_gaps(session: AsyncSession, check: CoverageCheck, gaps: list[Entitled], found: _Found) -> None:
    """Insert a chunk's gaps in one statement and publish each."""
    if not gaps:
        return
    await session.execute(insert(GAPS), [{"id": uuid7(), "check_id": check.id, **gap._asdict()} for gap in gaps])
    for gap in gaps:
        events.publish(
            session,
            SubsidyCoverageGap(
                household_id=gap.household_id,
                member_id=gap.member_id,
                check_id=check.id,
                area_code=gap.area_code,
                policy_code=check.policy_code,
                period=check.period,
                found_on=found.on,
                responsible=found.responsible,
            ),
        )


async def get_coverage_check(session: AsyncSession, check_id: UUID, *, actor: Principal) -> CoverageCheck:
    """A coverage check within the actor's reach; NotFound, or Forbidden beyond it."""
    check = await session.get(CoverageCheck, check_id)
    if check is None:
        raise NotFound("No coverage check has this id.")
    # A district-wide check (no area) is beyond any scoped officer's reach.
    actor.ensure_reach(check.area_code or "")
    return check


# A household's own entitlement (no member) sorts before its members'.
NO_MEMBER = UUID(int=0)


def gap_key(gap: CoverageGap) -> tuple[UUID, UUID, UUID]:
    """A gap's place in its check's list: household, member, then the gap's own id (unique)."""
    return gap.household_id, gap.member_id or NO_MEMBER, gap.id


async def list_coverage_gaps(
    session: AsyncSession, check_id: UUID, *, actor: Principal, after: tuple[UUID, UUID, UUID] | None, limit: int
) -> list[CoverageGap]:
    """The gaps a check found then, in `gap_key` order, after the cursor's key. NotFound or Forbidden as the check."""
    await get_coverage_check(session, check_id, actor=actor)
    member = func.coalesce(col(CoverageGap.member_id), literal(NO_MEMBER, Uuid()))
    key = (col(CoverageGap.household_id), member, col(CoverageGap.id))
    stmt = select(CoverageGap).where(col(CoverageGap.check_id) == check_id)
    if after is not None:
        stmt = stmt.where(tuple_(*key) > tuple_(*(literal(part, Uuid()) for part in after)))
    return list((await session.scalars(stmt.order_by(*key).limit(limit))).all())


async def list_coverage_checks(
    session: AsyncSession,
    *,
    actor: Principal,
    policy_code: PolicyCode | None,
    period: str | None,
    cycle_id: UUID | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[CoverageCheck]:
    """Coverage checks, the newest first; a scoped officer's only those of areas within their own."""
    stmt = select(CoverageCheck)
    if actor.is_area_scoped:  # a district-wide check (no area) is beyond their reach, as when read by id
        stmt = stmt.where(col(CoverageCheck.area_code).startswith(actor.area or ""))
    if policy_code is not None:
        stmt = stmt.where(col(CoverageCheck.policy_code) == policy_code)
    if period is not None:
        stmt = stmt.where(col(CoverageCheck.period) == period)
    if cycle_id is not None:
        stmt = stmt.where(col(CoverageCheck.cycle_id) == cycle_id)
    stmt = keyset(stmt, (col(CoverageCheck.checked_at), col(CoverageCheck.id)), after, limit=limit, descending=True)
    return list((await session.scalars(stmt)).all())
