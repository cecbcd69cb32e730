"""Leakage checks (资金安全核查): every paid payment of a period judged against who was entitled to what, and the
account it went into. Each leak is kept once per payment and kind and published for audit, in the caller's
transaction.

Payments are read by chunks of `CHUNK`, each in one query with what its payee account says, and the holders' facts
of each chunk in two more, so a cycle of 100,000 payments keeps memory flat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, Select, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies import events
from services.subsidies.domain.catalogue import programme_in_force
from services.subsidies.domain.facts import holder_facts
from services.subsidies.domain.policies import ensure_period_begun
from services.subsidies.models import (
    Cycle,
    CycleEntitlement,
    Leak,
    LeakageCheck,
    MemberFacts,
    Payee,
    Payment,
    Programme,
    ProgrammeVersion,
)
from services.subsidies.rules.leakage import Account, PaidHolder, Standard, find_leaks
from services.subsidies.rules.responsible import payment_responsible
from services.subsidies.rules.vocabulary import PaymentStatus, ProgrammeUnit
from shared.contracts.subsidies import LeakKind, PolicyCode, SubsidyLeakFound
from shared.db import insert_skipping_conflicts, keyset
from shared.errors import InvalidInput, NotFound
from shared.ids import uuid7

CHUNK = 5_000
LEAKS = Leak.__table__  # type: ignore[attr-defined]
PAYMENTS = Payment.__table__  # type: ignore[attr-defined]
PAYEES = Payee.__table__  # type: ignore[attr-defined]
MEMBERS = MemberFacts.__table__  # type: ignore[attr-defined]
ENTITLEMENTS = CycleEntitlement.__table__  # type: ignore[attr-defined]
CYCLES = Cycle.__table__  # type: ignore[attr-defined]
_OTHER = PAYEES.alias("other")


def _paid_rows() -> Select[Any]:
    """Paid payments with what the account paid into says: the member it is in the name of, whether that member is
    of the household paid, and how many other households hold it as their active account (blind index, indexed).
    Core columns, no ORM objects: a cycle's 100,000 payments are read as plain rows."""
    holder_is_member = (
        exists()
        .where(MEMBERS.c.member_id == PAYEES.c.holder_member_id, MEMBERS.c.household_id == PAYMENTS.c.household_id)
        .correlate(PAYMENTS, PAYEES)
    )
    other_households = (
        select(func.count(distinct(_OTHER.c.household_id)))
        .where(
            _OTHER.c.account_hash == PAYEES.c.account_hash,
            _OTHER.c.replaced_at.is_(None),
            _OTHER.c.household_id != PAYMENTS.c.household_id,
        )
        .correlate(PAYMENTS, PAYEES)
        .scalar_subquery()
    )
    stmt = select(
        PAYMENTS.c.id,
        PAYMENTS.c.household_id,
        PAYMENTS.c.member_id,
        PAYMENTS.c.amount_fen,
        PAYMENTS.c.area_code,
        PAYEES.c.id.label("payee_id"),
        PAYEES.c.holder_member_id,
        holder_is_member.label("holder_is_member"),
        other_households.label("other_households"),
        *responsible_columns(),
    ).outerjoin(PAYEES, PAYEES.c.id == PAYMENTS.c.payee_id)
    return with_approver(stmt)


def responsible_columns() -> tuple[Any, ...]:
    """What names a leak's responsible person (`keep_new_leaks`): who recorded the payment, whether a cycle's
    entitlement paid it, and who approved that cycle (`with_approver` joins it)."""
    return PAYMENTS.c.paid_by, PAYMENTS.c.entitlement_id, CYCLES.c.approved_by


def with_approver(stmt: Select[Any]) -> Select[Any]:
    """`stmt` joined to the cycle of each payment's entitlement (none for a payment by hand)."""
    return stmt.outerjoin(ENTITLEMENTS, ENTITLEMENTS.c.id == PAYMENTS.c.entitlement_id).outerjoin(
        CYCLES, CYCLES.c.id == ENTITLEMENTS.c.cycle_id
    )


async def check_leakage(
    session: AsyncSession, *, policy_code: str | None, period: str, checked_by: str, today: date, now: datetime
) -> LeakageCheck:
    """Judge every paid payment of the period (of one programme, or of each programme of the catalogue that paid for
    it) and keep each leak not found before, published as `SubsidyLeakFound`.

    Refused, for a programme named: not in the catalogue (`unknown_policy`), no version in force on the period's
    first day (`no_version_in_force`), a period not written as its frequency requires (`period_format`); for any
    check, a period not begun (`period_not_begun`). Unnamed, a programme with no version in force for the period is
    not judged.
    """
    ensure_period_begun(period, today=today)
    if policy_code is not None:
        standards = [await programme_in_force(session, policy_code, period)]
    else:
        standards = await _every_paid_programme(session, period)
    check = LeakageCheck(
        policy_code=policy_code, period=period, checked_by=checked_by, checked_at=now, payment_count=0, leak_count=0
    )
    session.add(check)
    for programme, version in standards:
        async for paid in _paid_chunks(session, programme.code, period):
            leaks = await _judge(session, programme, version, period, paid)
            check.payment_count += len(paid)
            check.leak_count += await keep_new_leaks(session, check.id, programme.code, period, leaks, found_on=today)
    return check


async def _every_paid_programme(session: AsyncSession, period: str) -> list[tuple[Programme, ProgrammeVersion]]:
    """The programme and version in force of every programme paid for the period that the catalogue can judge."""
    codes = await session.scalars(
        select(col(Payment.policy_code))
        .where(col(Payment.period) == period, col(Payment.status) == PaymentStatus.PAID)
        .distinct()
        .order_by(col(Payment.policy_code))
    )
    standards = []
    for code in codes.all():
        try:
            standards.append(await programme_in_force(session, code, period))
        except InvalidInput:  # recorded before the catalogue held it, or for a period its frequency does not write
            continue
    return standards


async def _paid_chunks(session: AsyncSession, policy_code: str, period: str) -> AsyncIterator[Sequence[Row[Any]]]:
    """The programme's paid payments of the period (`_paid_rows`), `CHUNK` at a time, by id."""
    after: tuple[UUID] | None = None
    stmt = _paid_rows().where(
        PAYMENTS.c.policy_code == policy_code, PAYMENTS.c.period == period, PAYMENTS.c.status == PaymentStatus.PAID
    )
    while True:
        rows = (await session.execute(keyset(stmt, (PAYMENTS.c.id,), after, limit=CHUNK))).all()
        if not rows:
            return
        yield rows
        if len(rows) < CHUNK:
            return
        after = (rows[-1].id,)


async def _judge(
    session: AsyncSession, programme: Programme, version: ProgrammeVersion, period: str, paid: Sequence[Row[Any]]
) -> list[tuple[Row[Any], LeakKind, str]]:
    """The leaks of one chunk of paid payments: (payment row, kind, detail)."""
    households = sorted({p.household_id for p in paid})
    facts = {
        (h.household_id, h.member_id): h
        async for chunk in holder_facts(session, programme, period, household_ids=households)
        for h in chunk
    }
    standard = Standard(version.amount_fen, version.per_member, version.rule)
    # A member's programme pays a member: a payment naming none, or one not of the household, paid no holder.
    per_member = programme.unit == ProgrammeUnit.MEMBER
    found = []
    for p in paid:
        holder = PaidHolder(p.id, p.household_id, p.member_id, p.amount_fen)
        held = facts.get((p.household_id, p.member_id if per_member else None))
        account = None if p.payee_id is None else Account(p.holder_member_id, p.holder_is_member, p.other_households)
        for leak in find_leaks(holder, held, standard, account):
            found.append((p, leak.kind, leak.detail))
    return found


async def keep_new_leaks(
    session: AsyncSession,
    check_id: UUID,
    policy_code: str,
    period: str,
    leaks: Iterable[tuple[Row[Any], LeakKind, str]],
    *,
    found_on: date,
) -> int:
    """Insert the leaks (payment row with `id`, `household_id`, `area_code` and `responsible_columns`; kind;
    detail) no earlier check found (unique per payment and kind) and publish those, found on `found_on` and naming
    who answers for each payment; how many were new. `check_id` names what found them: a leakage check, or a bank
    result import."""
    leaks = list(leaks)
    answerable = {
        p.id: payment_responsible(
            policy_code, approved_by=p.approved_by, paid_by=p.paid_by, by_hand=not p.entitlement_id
        )
        for p, _, _ in leaks
    }
    rows = [
        {
            "id": uuid7(),
            "check_id": check_id,
            "kind": kind.value,
            "payment_id": p.id,
            "household_id": p.household_id,
            "area_code": p.area_code,
            "policy_code": policy_code,
            "period": period,
            "detail": detail,
        }
        for p, kind, detail in leaks
    ]
    if not rows:
        return 0
    # A concurrent check that found the same leak first keeps it: this one neither fails nor publishes it again.
    stmt = insert_skipping_conflicts(session.get_bind().dialect.name, LEAKS).returning(LEAKS.c.id)
    new = set((await session.execute(stmt, rows)).scalars().all())
    for row in rows:
        if row["id"] in new:
            events.publish(
                session,
                SubsidyLeakFound(
                    household_id=row["household_id"],
                    leak_id=row["id"],
                    check_id=check_id,
                    kind=LeakKind(row["kind"]),
                    payment_id=row["payment_id"],
                    area_code=row["area_code"],
                    policy_code=policy_code,
                    period=period,
                    detail=row["detail"],
                    found_on=found_on,
                    responsible=answerable[row["payment_id"]],
                ),
            )
    return len(new)


async def get_leakage_check(session: AsyncSession, check_id: UUID) -> LeakageCheck:
    """A leakage check, or NotFound."""
    check = await session.get(LeakageCheck, check_id)
    if check is None:
        raise NotFound("No leakage check has this id.")
    return check


async def list_leakage_checks(
    session: AsyncSession,
    *,
    policy_code: PolicyCode | None,
    period: str | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[LeakageCheck]:
    """Leakage checks, the newest first."""
    stmt = select(LeakageCheck)
    if policy_code is not None:
        stmt = stmt.where(col(LeakageCheck.policy_code) == policy_code)
    if period is not None:
        stmt = stmt.where(col(LeakageCheck.period) == period)
    stmt = keyset(stmt, (col(LeakageCheck.checked_at), col(LeakageCheck.id)), after, limit=limit, descending=True)
    return list((await session.scalars(stmt)).all())


def leak_key(leak: Leak) -> tuple[UUID, UUID, str]:
    """A leak's place in its check's list: household, payment, kind (unique with the payment)."""
    return leak.household_id, leak.payment_id, leak.kind


async def list_leaks(
    session: AsyncSession,
    check_id: UUID,
    *,
    kind: LeakKind | None,
    area_code: str | None,
    after: tuple[UUID, UUID, str] | None,
    limit: int,
) -> list[Leak]:
    """The leaks a check found first, in `leak_key` order; NotFound for an unknown check."""
    await get_leakage_check(session, check_id)
    stmt = select(Leak).where(col(Leak.check_id) == check_id)
    if kind is not None:
        stmt = stmt.where(col(Leak.kind) == kind)
    if area_code is not None:
        stmt = stmt.where(col(Leak.area_code).startswith(area_code))
    key = (col(Leak.household_id), col(Leak.payment_id), col(Leak.kind))
    return list((await session.scalars(keyset(stmt, key, after, limit=limit))).all())
