"""Projects' orders taken to be paid: an approved distribution plan (收益分配方案) or payroll of public-welfare posts
(公益岗位工资表) becomes a cycle approved already, its id the plan's or the payroll's, listing each share or line.

The decision was made, and its duties separated, in projects: the cycle skips the notice (公示), submission, approval
and the funds check, and its batches pay each entitlement as approved (never judged again by a rule of the catalogue).
Everything after is the catalogue cycles' path: payees, batches, the bank file, the bank's result, follow-ups and
corrections, each payment published as `SubsidyPaid` with `cycle_id` the order's id.

The same order again changes nothing. A second payroll for a month already paid is refused (Conflict
`payroll_exists`): its event is retried, then dead-lettered, never paid. A holder whose household subsidies does not
know yet is listed all the same, in the plan owner's area (a payroll's: none until a batch finds the household),
and waits for an account like any other (a payee is recorded for a known household only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, Uuid, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies.domain.catalogue import decided_version
from services.subsidies.models import Cycle, CycleEntitlement, HouseholdFacts, Programme, ProgrammeVersion
from services.subsidies.rules.project_orders import Order, OrderLine, explanation
from services.subsidies.rules.vocabulary import CycleStatus, DecidedBy, EntitlementStatus
from shared.db import one_of
from shared.errors import Conflict, RuleViolation
from shared.ids import uuid7

ENTITLEMENTS: Table = CycleEntitlement.__table__  # type: ignore[attr-defined]
ORDERED_BY = "projects"  # who a cycle of projects' order is recorded as made by


async def take_order(session: AsyncSession, order: Order, *, now: datetime) -> Cycle:
    """The order's cycle, approved, with one listed entitlement per holder; the cycle made before for the same
    order (the event sent again) as it stands."""
    if (earlier := await session.get(Cycle, order.cycle_id)) is not None:
        return earlier
    version = await _version_of(session, order)
    await _ensure_first_of_month(session, order)
    cycle = Cycle(
        id=order.cycle_id,
        programme_code=order.programme_code,
        period=order.period,
        origin=DecidedBy.PROJECTS,
        order_ref=order.order_ref,
        version_id=version.id,
        status=CycleStatus.APPROVED,
        entitled_count=len(order.lines),
        total_fen=order.total_fen,
        created_by=ORDERED_BY,
        created_at=now,
        approved_by=order.approved_by,
        approved_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(cycle)
            await session.flush()
    except IntegrityError:
        # The same order taken at the same moment by another transaction (no harm), or another payroll of the month.
        if (raced := await session.get(Cycle, order.cycle_id, populate_existing=True)) is not None:
            return raced
        raise _month_taken(order, None) from None
    areas = await _known_areas(session, [line.household_id for line in order.lines])
    rows = [_entitlement(order, line, version, areas.get(line.household_id, order.area_code)) for line in order.lines]
    await session.execute(insert(ENTITLEMENTS), rows)
    return cycle


async def _version_of(session: AsyncSession, order: Order) -> ProgrammeVersion:
    """The programme's one version; RuleViolation (retried, then dead-lettered) while the catalogue lacks it or does
    not mark it decided by projects: an order is never paid as a rule of the catalogue would."""
    programme = await session.get(Programme, order.programme_code)
    version = await decided_version(session, order.programme_code)
    if programme is None or programme.decided_by != DecidedBy.PROJECTS or version is None:
        raise RuleViolation(
            f"The programme {order.programme_code} is not in the catalogue as paid from projects' orders: the "
            f"{order.kind} {order.cycle_id} cannot be paid."
        )
    return version


async def _ensure_first_of_month(session: AsyncSession, order: Order) -> None:
    """Conflict (`payroll_exists`) when another order of the programme, period and reference has its cycle: one
    payroll a month is paid (a plan's reference is its own id, so no other plan shares it). The order's own cycle
    is no other: committed by a transaction taking the same order since this one looked (each statement sees what
    was committed before it), it makes the insert fail, and the order is then answered with that cycle."""
    other = await session.scalar(
        select(col(Cycle.id)).where(
            col(Cycle.programme_code) == order.programme_code,
            col(Cycle.period) == order.period,
            col(Cycle.order_ref) == order.order_ref,
            col(Cycle.id) != order.cycle_id,
        )
    )
    if other is not None:
        raise _month_taken(order, other)


def _month_taken(order: Order, other: UUID | None) -> Conflict:
    paid = f" ({other})" if other is not None else ""
    return Conflict(
        f"A {order.kind} of {order.period} is already being paid{paid}: the {order.kind} {order.cycle_id} of the "
        "same month is refused, never paid twice. Correct the month in projects.",
        code="payroll_exists",
    )


async def _known_areas(session: AsyncSession, household_ids: list[UUID]) -> dict[UUID, str]:
    """The area of each of these households subsidies knows, in one query."""
    dialect = session.get_bind().dialect
    stmt = select(col(HouseholdFacts.household_id), col(HouseholdFacts.area_code)).where(
        one_of(dialect, col(HouseholdFacts.household_id), household_ids, Uuid())
    )
    return dict((await session.execute(stmt)).tuples().all())


def _entitlement(order: Order, line: OrderLine, version: ProgrammeVersion, area_code: str) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "cycle_id": order.cycle_id,
        "household_id": line.household_id,
        "member_id": line.member_id,
        "holder_key": line.holder_key,
        "area_code": area_code,
        "amount_fen": line.amount_fen,
        "version_id": version.id,
        "status": EntitlementStatus.LISTED.value,
        "withdrawn_reason": None,
        "facts": line.facts,
        "explanation": explanation(order, line),
    }
