"""A cycle's entitlement list (享受对象名单), computed and re-checked in bulk.

Every holder of the programme is judged by the version's rule on the facts as of the period's first day; each
one entitled is listed with a snapshot of those facts and the rule's explanation. The work goes in chunks of
holders, each written with one executemany statement, so a cycle of 100,000 entitlements takes seconds and the
same memory as one of 1,000.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    Uuid,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies.domain import one_off
from services.subsidies.domain.facts import holder_facts
from services.subsidies.models import Cycle, CycleEntitlement, Objection, Payment, Programme, ProgrammeVersion
from services.subsidies.rules.cycles import (
    AT_APPROVAL,
    AT_BATCH,
    Judge,
    Judgement,
    gone_reason,
    paid_by_hand_reason,
    upheld_reason,
    withdrawal_reason,
)
from services.subsidies.rules.eligibility import HolderFacts
from services.subsidies.rules.vocabulary import EntitlementStatus, ObjectionDecision, PaymentStatus, holder_key
from shared.auth import Principal
from shared.db import keyset, one_of
from shared.errors import NotFound
from shared.ids import uuid7

CHUNK = 5_000
ENTITLEMENTS: Table = CycleEntitlement.__table__  # type: ignore[attr-defined]
Holder = tuple[UUID, str]  # (household id, holder key): who an entitlement is for


async def compute_list(session: AsyncSession, cycle: Cycle, programme: Programme, version: ProgrammeVersion) -> None:
    """List every holder the version's rule entitles for the cycle's period, replacing any earlier list; of a
    one-off programme, not a holder who already has it (`rules/one_off.py`).

    The holders come by household id, a chunk at a time; each chunk replaces the earlier list's entitlements of
    the households in its span of ids. A holder listed before keeps their entitlement's id, so an objection upheld
    against it withdraws it again.
    """
    judge = Judge(version)
    after: UUID | None = None
    async for chunk in holder_facts(session, programme, cycle.period):
        if not chunk:
            continue
        span = _households_between(cycle.id, after, chunk[-1].household_id)
        kept = await _entitlement_ids(session, span)
        had = await one_off.granted(session, programme, cycle.period, {f.household_id for f in chunk}, cycle=cycle)
        await session.execute(delete(ENTITLEMENTS).where(*span))
        rows = [
            _row(cycle.id, version, facts, judged, kept)
            for facts in chunk
            if (judged := judge(facts)).listed and (facts.household_id, holder_key(facts.member_id)) not in had
        ]
        if rows:
            await session.execute(insert(ENTITLEMENTS), rows)
        after = chunk[-1].household_id
    await session.execute(delete(ENTITLEMENTS).where(*_households_between(cycle.id, after, None)))
    await _withdraw_upheld(session, cycle.id)


def _households_between(cycle_id: UUID, after: UUID | None, up_to: UUID | None) -> list[ColumnElement[bool]]:
    """The cycle's entitlements of the households whose ids are after `after` and up to `up_to` (None: no bound)."""
    household = ENTITLEMENTS.c.household_id
    span = [ENTITLEMENTS.c.cycle_id == cycle_id]
    if after is not None:
        span.append(household > literal(after, Uuid()))
    if up_to is not None:
        span.append(household <= literal(up_to, Uuid()))
    return span


def _row(
    cycle_id: UUID, version: ProgrammeVersion, facts: HolderFacts, judged: Judgement, kept: dict[Holder, UUID]
) -> dict[str, Any]:
    key = holder_key(facts.member_id)
    return {
        "id": kept.get((facts.household_id, key)) or uuid7(),
        "cycle_id": cycle_id,
        "household_id": facts.household_id,
        "member_id": facts.member_id,
        "holder_key": key,
        "area_code": facts.area_code,
        "amount_fen": judged.amount_fen,
        "version_id": version.id,
        "status": EntitlementStatus.LISTED.value,
        "withdrawn_reason": None,
        "facts": dict(facts.values),
        "explanation": judged.explanation,
    }


async def _entitlement_ids(session: AsyncSession, span: list[ColumnElement[bool]]) -> dict[Holder, UUID]:
    e = ENTITLEMENTS.c
    rows = await session.execute(select(e.household_id, e.holder_key, e.id).where(*span))
    return {(household_id, key): entitlement_id for household_id, key, entitlement_id in rows.all()}


async def _withdraw_upheld(session: AsyncSession, cycle_id: UUID) -> None:
    """Withdraw again the entitlements objections were upheld against (a list computed again brings them back)."""
    upheld = await session.execute(
        select(col(Objection.id), col(Objection.entitlement_id)).where(
            col(Objection.cycle_id) == cycle_id,
            col(Objection.decision) == ObjectionDecision.UPHELD,
            col(Objection.entitlement_id).is_not(None),
        )
    )
    await withdraw(session, [(eid, upheld_reason(oid)) for oid, eid in upheld.all()])


_WITHDRAW = (
    update(ENTITLEMENTS)
    .where(ENTITLEMENTS.c.id == bindparam("b_id"), ENTITLEMENTS.c.status == EntitlementStatus.LISTED.value)
    .values(status=EntitlementStatus.WITHDRAWN.value, withdrawn_reason=bindparam("b_reason"))
)
_RESNAPSHOT = (
    update(ENTITLEMENTS)
    .where(ENTITLEMENTS.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        withdrawn_reason=bindparam("b_reason"),
        amount_fen=bindparam("b_amount"),
        version_id=bindparam("b_version"),
        facts=bindparam("b_facts"),
        explanation=bindparam("b_explanation"),
    )
)


async def withdraw(session: AsyncSession, withdrawals: Sequence[tuple[UUID, str]]) -> None:
    """Withdraw listed entitlements, each (id, reason); one already withdrawn stays as it was."""
    if withdrawals:
        await session.execute(_WITHDRAW, [{"b_id": eid, "b_reason": reason} for eid, reason in withdrawals])


async def recheck_list(
    session: AsyncSession, cycle: Cycle, programme: Programme, version: ProgrammeVersion
) -> tuple[int, int]:
    """Judge every listed entitlement again on the facts known now: withdraw those no longer entitled (the failed
    condition is the reason), already paid the programme and period by hand, or already granted a one-off
    programme; amend those whose amount or version changed. Returns (withdrawn, amended)."""
    judge, withdrawn, amended = Judge(version), 0, 0
    after: Holder | None = None
    while listed := await _listed_chunk(session, cycle.id, after):
        after = (listed[-1].household_id, listed[-1].holder_key)
        gone, judged = await _judged_again(session, cycle, programme, judge, listed, when=AT_APPROVAL)
        changed = [change for row, facts, j in judged if (change := _rechecked(row, j, facts, version)) is not None]
        await withdraw(session, gone)
        if changed:
            await session.execute(_RESNAPSHOT, changed)
        still_listed = sum(change["b_status"] == EntitlementStatus.LISTED for change in changed)
        withdrawn, amended = withdrawn + len(gone) + len(changed) - still_listed, amended + still_listed
    return withdrawn, amended


@dataclass(frozen=True)
class Rechecked:
    """What judging a batch's entitlements again left: the amount to pay each one still listed, how many were
    withdrawn and how many now cost less."""

    pay: dict[UUID, int]
    withdrawn: int
    amended: int


async def recheck_for_batch(
    session: AsyncSession,
    cycle: Cycle,
    programme: Programme,
    version: ProgrammeVersion,
    judge: Judge,
    rows: Sequence[Row[Any]],
) -> Rechecked:
    """Judge again, on the facts known now, the listed entitlements a batch is about to take (`rows`: id,
    household_id, holder_key, amount_fen), as approval does: withdraw each no longer entitled (a death, 低保 ended,
    an exit without policies reported since) or already granted a one-off programme; lower the amount of one now
    entitled to less (a member of a per-member household died). Never more than approved: the approval committed
    the funds for that much. `judge` judges by `version`, the one in force for the period."""
    if not rows:
        return Rechecked({}, 0, 0)
    gone, judged = await _judged_again(session, cycle, programme, judge, rows, when=AT_BATCH)
    changed: list[dict[str, Any]] = []
    pay: dict[UUID, int] = {}
    for row, facts, j in judged:
        if not j.listed or j.amount_fen < row.amount_fen:
            changed.append(_snapshot(row, j, facts, version.id, when=AT_BATCH))
        if j.listed:
            pay[row.id] = min(j.amount_fen, row.amount_fen)
    await withdraw(session, gone)
    if changed:
        await session.execute(_RESNAPSHOT, changed)
    lowered = sum(change["b_status"] == EntitlementStatus.LISTED for change in changed)
    return Rechecked(pay, len(rows) - len(pay), lowered)


async def _judged_again(
    session: AsyncSession, cycle: Cycle, programme: Programme, judge: Judge, rows: Sequence[Row[Any]], *, when: str
) -> tuple[list[tuple[UUID, str]], list[tuple[Row[Any], HolderFacts, Judgement]]]:
    """Each entitlement judged on its holder's facts known now: (those withdrawn without a judgement, each with
    why: gone from the register, paid the programme and period by hand already (the payment's money is spent from
    the funds: listed too, it would count twice), or already granted a one-off programme; the others with their
    facts and judgement). A batch's build leaves holders paid by hand out before it judges the rest."""
    households = {row.household_id for row in rows}
    current = await _current_facts(session, programme, cycle.period, households)
    hand_paid = await paid_by_hand(session, cycle, households)
    had = await one_off.granted(session, programme, cycle.period, households, cycle=cycle)
    gone: list[tuple[UUID, str]] = []
    judged: list[tuple[Row[Any], HolderFacts, Judgement]] = []
    for row in rows:
        holder = (row.household_id, row.holder_key)
        if (facts := current.get(holder)) is None:
            gone.append((row.id, gone_reason(when)))
        elif holder in hand_paid:
            gone.append((row.id, paid_by_hand_reason(hand_paid[holder])))
        elif holder in had:
            gone.append((row.id, had[holder]))
        else:
            judged.append((row, facts, judge(facts)))
    return gone, judged


def by_hand(cycle: Cycle) -> ColumnElement[bool]:
    """A payment by hand (手工发放: outside any cycle), still paid, of the cycle's programme and period."""
    return and_(
        col(Payment.policy_code) == cycle.programme_code,
        col(Payment.period) == cycle.period,
        col(Payment.status) == PaymentStatus.PAID,
        col(Payment.entitlement_id).is_(None),
    )


async def paid_by_hand(session: AsyncSession, cycle: Cycle, household_ids: Collection[UUID]) -> dict[Holder, UUID]:
    """The holders of these households paid the cycle's programme and period by hand, each with that payment."""
    if not household_ids:
        return {}
    households = one_of(session.get_bind().dialect, col(Payment.household_id), list(household_ids), Uuid())
    stmt = select(col(Payment.household_id), col(Payment.holder_key), col(Payment.id)).where(by_hand(cycle), households)
    return {(household, key): payment for household, key, payment in (await session.execute(stmt)).tuples()}


def _rechecked(
    row: Row[Any], judged: Judgement, facts: HolderFacts, version: ProgrammeVersion
) -> dict[str, Any] | None:
    """The update re-checking one listed entitlement at approval makes, or None when it stands as listed."""
    if judged.listed and (judged.amount_fen, version.id) == (row.amount_fen, row.version_id):
        return None
    return _snapshot(row, judged, facts, version.id, when=AT_APPROVAL)


def _snapshot(row: Row[Any], judged: Judgement, facts: HolderFacts, version_id: UUID, *, when: str) -> dict[str, Any]:
    """An entitlement judged again: listed at its new amount, or withdrawn at its old one with the failed
    condition as the reason; either way with the facts and explanation it was judged on."""
    return {
        "b_id": row.id,
        "b_status": (EntitlementStatus.LISTED if judged.listed else EntitlementStatus.WITHDRAWN).value,
        "b_reason": None if judged.listed else withdrawal_reason(judged.decision, when),
        "b_amount": judged.amount_fen if judged.listed else row.amount_fen,
        "b_version": version_id,
        "b_facts": dict(facts.values),
        "b_explanation": judged.explanation,
    }


async def _listed_chunk(session: AsyncSession, cycle_id: UUID, after: Holder | None) -> list[Row[Any]]:
    e = CycleEntitlement
    stmt = select(col(e.id), col(e.household_id), col(e.holder_key), col(e.amount_fen), col(e.version_id)).where(
        col(e.cycle_id) == cycle_id, col(e.status) == EntitlementStatus.LISTED
    )
    if after is not None:
        stmt = stmt.where(
            tuple_(col(e.household_id), col(e.holder_key)) > tuple_(literal(after[0], Uuid()), literal(after[1]))
        )
    rows = await session.execute(stmt.order_by(col(e.household_id), col(e.holder_key)).limit(CHUNK))
    return list(rows.all())


async def _current_facts(
    session: AsyncSession, programme: Programme, period: str, household_ids: Collection[UUID]
) -> dict[Holder, HolderFacts]:
    current: dict[Holder, HolderFacts] = {}
    async for chunk in holder_facts(session, programme, period, household_ids=household_ids):
        current.update(((facts.household_id, holder_key(facts.member_id)), facts) for facts in chunk)
    return current


async def listed_totals(session: AsyncSession, cycle_id: UUID) -> tuple[int, int]:
    """How many entitlements the cycle lists, and what they cost (fen)."""
    count, total = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(col(CycleEntitlement.amount_fen)), 0)).where(
                col(CycleEntitlement.cycle_id) == cycle_id, col(CycleEntitlement.status) == EntitlementStatus.LISTED
            )
        )
    ).one()
    return int(count), int(total)


def area_scope(area_code: str | None, actor: Principal) -> str | None:
    """The area a list is read for: the one asked for (within an area-scoped reader's reach), else a scoped
    reader's own area, else the whole district (None)."""
    scope = area_code or (actor.area if actor.is_area_scoped else None)
    if scope is not None:
        actor.ensure_reach(scope)
    return scope


async def list_entitlements(
    session: AsyncSession,
    cycle_id: UUID,
    *,
    actor: Principal,
    area_code: str | None,
    status: EntitlementStatus | None,
    household_id: UUID | None,
    after: tuple[UUID] | None,
    limit: int,
) -> list[CycleEntitlement]:
    """A cycle's entitlements by id, in an area (a prefix), of a status or a household."""
    e = CycleEntitlement
    stmt = select(e).where(col(e.cycle_id) == cycle_id)
    if (scope := area_scope(area_code, actor)) is not None:
        stmt = stmt.where(col(e.area_code).startswith(scope))
    if status is not None:
        stmt = stmt.where(col(e.status) == status)
    if household_id is not None:
        stmt = stmt.where(col(e.household_id) == household_id)
    return list((await session.scalars(keyset(stmt, (col(e.id),), after, limit=limit))).all())


async def entitlement_of(
    session: AsyncSession, cycle_id: UUID, entitlement_id: UUID, *, actor: Principal
) -> CycleEntitlement:
    """One of the cycle's entitlements, or NotFound; Forbidden outside an area-scoped reader's area."""
    entitlement = await session.get(CycleEntitlement, entitlement_id)
    if entitlement is None or entitlement.cycle_id != cycle_id:
        raise NotFound("This cycle has no entitlement with this id.")
    actor.ensure_reach(entitlement.area_code)
    return entitlement
