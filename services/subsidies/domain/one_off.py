"""Who already has a one-off programme (一次性补助), so that a cycle or a payment by hand does not pay them again
(`rules/one_off.py` says what counts). Read per chunk of households, two queries each."""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from sqlalchemy import Select, Uuid, and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies.models import Cycle, CycleEntitlement, Payment, Programme
from services.subsidies.rules.one_off import listed_reason, once_within, paid_reason
from services.subsidies.rules.vocabulary import CycleStatus, EntitlementStatus, Frequency, PaymentStatus
from shared.db import one_of

CHUNK = 5_000
Holder = tuple[UUID, str]  # (household id, holder key)
# The cycles whose lists commit the programme's money: a holder they list has it.
COMMITTED = (CycleStatus.APPROVED, CycleStatus.PAID)


async def granted(
    session: AsyncSession,
    programme: Programme,
    period: str,
    household_ids: Collection[UUID],
    *,
    cycle: Cycle | None = None,
) -> dict[Holder, str]:
    """The holders of these households who already have the programme, if it is a one-off, each with why; {} for
    any other programme. `cycle`: the cycle asking, whose own list and payments do not count."""
    if Frequency(programme.frequency) is not Frequency.ONE_OFF or not household_ids:
        return {}
    within = once_within(programme.code, period)
    ordered = sorted(set(household_ids))
    found: dict[Holder, str] = {}
    for start in range(0, len(ordered), CHUNK):
        part = ordered[start : start + CHUNK]
        found.update(await _listed(session, programme.code, part, within, cycle))
        found.update(await _paid(session, programme.code, part, within, cycle))
    return found


async def _listed(
    session: AsyncSession, code: str, households: list[UUID], within: str | None, cycle: Cycle | None
) -> dict[Holder, str]:
    e = CycleEntitlement
    stmt: Select[tuple[UUID, str, str, str]] = (
        select(col(e.household_id), col(e.holder_key), col(Cycle.period), col(Cycle.status))
        .join(Cycle, col(Cycle.id) == col(e.cycle_id))
        .where(
            col(Cycle.programme_code) == code,
            col(Cycle.status).in_(COMMITTED),
            col(e.status) == EntitlementStatus.LISTED,
            one_of(session.get_bind().dialect, col(e.household_id), households, Uuid()),
        )
    )
    if within is not None:
        stmt = stmt.where(col(Cycle.period).startswith(within))
    if cycle is not None:
        stmt = stmt.where(col(Cycle.id) != cycle.id)
    rows = (await session.execute(stmt)).tuples()
    return {(household, key): listed_reason(code, period, status) for household, key, period, status in rows}


async def _paid(
    session: AsyncSession, code: str, households: list[UUID], within: str | None, cycle: Cycle | None
) -> dict[Holder, str]:
    p = Payment
    stmt: Select[tuple[UUID, str, str]] = select(col(p.household_id), col(p.holder_key), col(p.period)).where(
        col(p.policy_code) == code,
        col(p.status) == PaymentStatus.PAID,
        one_of(session.get_bind().dialect, col(p.household_id), households, Uuid()),
    )
    if within is not None:
        stmt = stmt.where(col(p.period).startswith(within))
    if cycle is not None:  # a payment of the cycle's own list: a cycle's payments are of its programme and period
        stmt = stmt.where(~and_(col(p.period) == cycle.period, col(p.entitlement_id).is_not(None)))
    rows = (await session.execute(stmt)).tuples()
    return {(household, key): paid_reason(code, period) for household, key, period in rows}
