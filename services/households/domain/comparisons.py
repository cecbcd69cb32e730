"""Data comparisons (数据比对): departments' data and payments compared with the register, each hit an `IntegrityHit`
published as a problem for audit (policy delivery, serious), naming the household's helper cadre when assigned.

- Market regulation's companies, the traffic police's vehicles and the public payroll are compared, not stored: a
  batch's rows are matched to members by the keyed hash of their ID-card numbers, one query per chunk of numbers
  (households, members and cadres at once); a member of a household on 低保 or 特困供养 found there is a hit, once per
  member and batch. A row naming nobody registered is reported as such, as other kinds' rows are.
- A member's death and the payments counted for them meet in either order (`rules/comparisons.py` names the hit by
  the order): a payment received for a period after a recorded death, or a death recorded after such a payment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import problems
from services.households.events import publish
from services.households.models import HelperCadre, Household, IntegrityHit, Member, TransferReceipt
from services.households.rules.comparisons import (
    Matched,
    Payment,
    allowance_hit,
    death_hit,
    on_allowance_with,
    paid_for_after,
)
from services.households.rules.idcard import IdCardVault
from services.households.rules.integrity import Hit, HitKind
from services.households.rules.problems import helper_cadre
from services.households.rules.vocabulary import DataKind
from shared.contracts.accountability import ResponsiblePerson

# ID-card hashes looked up per query: far below any database's limit on a statement's parameters.
CHUNK = 1000
DEATH_HITS = (HitKind.PAID_AFTER_DEATH, HitKind.COUNTED_AFTER_DEATH)


def _matched(member: Member, household: Household, responsible: ResponsiblePerson | None) -> Matched:
    return Matched(member.id, household.id, household.area_code, responsible)


def _record(session: AsyncSession, hit: Hit) -> None:
    session.add(IntegrityHit(**hit.row))
    publish(session, hit.event)


async def _by_hash(
    session: AsyncSession, hashes: Sequence[str]
) -> dict[str, tuple[Member, Household, ResponsiblePerson | None]]:
    """The members holding these keyed hashes, each with their household and its helper cadre as who answers (one
    query)."""
    stmt = (
        select(Member, Household, HelperCadre)
        .join(Household, col(Household.id) == col(Member.household_id))
        .outerjoin(HelperCadre, col(HelperCadre.id) == col(Household.helper_cadre_id))
        .where(col(Member.id_hash).in_(hashes))
    )
    found = {}
    for member, household, cadre in await session.execute(stmt):
        found[member.id_hash] = (
            member,
            household,
            helper_cadre(cadre.subject, cadre.name, cadre.unit) if cadre else None,
        )
    return found


async def compare_rows(
    session: AsyncSession,
    kind: DataKind,
    rows: Mapping[int, Mapping[str, Any]],
    *,
    batch_id: UUID,
    vault: IdCardVault,
    today: date,
    now: datetime,
) -> list[int]:
    """Compare a batch's valid rows of `kind` (by index) with the register, recording a hit for each 低保/特困供养
    member found with what the kind looks for (the batch is new, so none is recorded yet); the indexes of the rows
    naming nobody registered."""
    by_hash: dict[str, list[int]] = {}
    for index, row in rows.items():
        by_hash.setdefault(vault.keyed_hash(row["id_number"]), []).append(index)
    hashes, unmatched = list(by_hash), []
    for start in range(0, len(hashes), CHUNK):
        found = await _by_hash(session, hashes[start : start + CHUNK])
        for id_hash in hashes[start : start + CHUNK]:
            if id_hash not in found:
                unmatched += by_hash[id_hash]
                continue
            member, household, responsible = found[id_hash]
            allowance, died_on = household.minimum_allowance, member.died_on
            hits = [
                i for i in by_hash[id_hash] if on_allowance_with(kind, rows[i], allowance=allowance, died_on=died_on)
            ]
            if hits:
                matched = _matched(member, household, responsible)
                _record(session, allowance_hit(kind, matched, batch_id, hits, today=today, now=now))
    return sorted(unmatched)


async def after_death(
    session: AsyncSession, household: Household, member: Member, *, died_on: date, today: date, now: datetime
) -> int:
    """Payments already counted for a member whose death on `died_on` was just recorded (the caller holds the
    household locked) for periods that began after it: a `counted_after_death` hit each. A death is recorded once,
    so none is yet. The number of hits."""
    stmt = select(TransferReceipt).where(
        col(TransferReceipt.member_id) == member.id, col(TransferReceipt.counted_fen) > 0
    )
    late = [r for r in (await session.scalars(stmt)).all() if paid_for_after(r.period, died_on)]
    if late:
        matched = _matched(member, household, await problems.responsible_for(session, household))
        for receipt in late:
            payment = Payment(receipt.receipt_id, receipt.policy_code, receipt.period)
            hit = death_hit(HitKind.COUNTED_AFTER_DEATH, matched, payment, died_on=died_on, today=today, now=now)
            _record(session, hit)
    return len(late)


async def after_payment(session: AsyncSession, receipt: TransferReceipt, *, today: date, now: datetime) -> bool:
    """A payment just counted for a member (or sent again) compared with the member's death: paid for a period after
    a death already recorded, a `paid_after_death` hit, once per payment. Whether it hit.

    The household is locked first, as a death's recording holds it: a death recorded meanwhile is then seen here, or
    sees this payment's receipt (`after_death`)."""
    if receipt.member_id is None or not receipt.counted_fen:
        return False
    locked = select(Household).where(col(Household.id) == receipt.household_id).with_for_update()
    household = (await session.scalars(locked)).one()
    member = await session.get(Member, receipt.member_id, populate_existing=True)
    if member is None or member.died_on is None or not paid_for_after(receipt.period, member.died_on):
        return False
    known = select(col(IntegrityHit.id)).where(
        col(IntegrityHit.kind).in_(DEATH_HITS),
        col(IntegrityHit.member_id) == member.id,
        col(IntegrityHit.ref) == str(receipt.receipt_id),
    )
    if (await session.scalars(known)).first() is not None:
        return False
    matched = _matched(member, household, await problems.responsible_for(session, household))
    payment = Payment(receipt.receipt_id, receipt.policy_code, receipt.period)
    _record(
        session, death_hit(HitKind.PAID_AFTER_DEATH, matched, payment, died_on=member.died_on, today=today, now=now)
    )
    return True
