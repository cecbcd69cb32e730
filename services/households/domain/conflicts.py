"""Conflicts of interest (优亲厚友): power holders and their relatives among beneficiaries, and approvals of lists
paying a household that holds the approver or their relative.

Every check is one query: a registered member's keyed ID hash against the hashes of power holders and of their
live relatives (`_claims`). Each hit is kept once per kind, member and reference (`IntegrityHit`, inserted with ON
CONFLICT DO NOTHING, so a check run again or raced finds nothing new) and published as a severe `conduct` problem
for audit in the same transaction. Checks run when either side changes: a member registered, added, renumbered or
imported; a holder or a relative registered; a list approved or paid (in either order); a household back on
benefits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Dialect,
    Row,
    RowMapping,
    Select,
    String,
    Subquery,
    Uuid,
    and_,
    cast,
    insert,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from services.households.domain.assessment import living_on
from services.households.events import outbox_rows, publish
from services.households.models import (
    ApprovalRecord,
    Household,
    IntegrityHit,
    Member,
    PowerHolder,
    PowerHolderRelative,
    TransferReceipt,
)
from services.households.rules.integrity import Approval, ApprovalSource, Hit, Holder, Match, conflict_hit
from shared.contracts.households import HouseholdProblemFound, HouseholdStatus
from shared.db import insert_skipping_conflicts, one_of
from shared.messaging.outbox import OutboxMessage

Db = AsyncSession | AsyncConnection
# Lists whose payments a household's receipts name by programme and period alone (one catalogue cycle, one payroll
# a month): a relative registered later is checked against what was paid under them. A month may have several
# distribution plans, so a plan is checked when it is approved and as it is paid, not from receipts afterwards.
RECHECKED = (ApprovalSource.SUBSIDIES_CYCLE.value, ApprovalSource.PROJECTS_PAYROLL.value)
LIVE_HOLDER = col(PowerHolder.ended_on).is_(None)


def _dialect(db: Db) -> Dialect:
    return db.get_bind().dialect if isinstance(db, AsyncSession) else db.dialect


def _claims(holders: ColumnElement[bool]) -> Subquery:
    """The keyed ID hashes that tie a person to the power holders `holders` selects: each holder's own, and each
    of their live relatives' (ended relatives no longer count)."""
    own = select(
        col(PowerHolder.id).label("holder_id"),
        col(PowerHolder.id_hash).label("id_hash"),
        cast(null(), Uuid).label("relative_id"),
        cast(null(), String).label("relationship"),
    ).where(col(PowerHolder.id_hash).is_not(None), holders)
    kin = (
        select(
            col(PowerHolderRelative.holder_id),
            col(PowerHolderRelative.id_hash),
            col(PowerHolderRelative.id),
            col(PowerHolderRelative.relationship),
        )
        .join(PowerHolder, col(PowerHolder.id) == col(PowerHolderRelative.holder_id))
        .where(col(PowerHolderRelative.ended_on).is_(None), holders)
    )
    return union_all(own, kin).subquery("claims")


def _matching(holders: ColumnElement[bool], members: ColumnElement[bool], today: date) -> Select[Any]:
    """Members alive `today` that `members` selects, each with the holder (and relative) their hash ties them to."""
    claims = _claims(holders)
    return (
        select(
            col(Member.id).label("member_id"),
            col(Member.household_id),
            col(Household.area_code),
            claims.c.relative_id,
            claims.c.relationship,
            col(PowerHolder.id).label("holder_id"),
            col(PowerHolder.person_id),
            col(PowerHolder.name),
            col(PowerHolder.post),
            col(PowerHolder.area_code).label("holder_area"),
        )
        .select_from(Member)
        .join(Household, col(Household.id) == col(Member.household_id))
        .join(claims, claims.c.id_hash == col(Member.id_hash))
        .join(PowerHolder, col(PowerHolder.id) == claims.c.holder_id)
        .where(members, living_on(today))
    )


def _match(row: Row[Any]) -> Match:
    m = row._mapping
    holder = Holder(m["holder_id"], m["person_id"], m["name"], m["post"], m["holder_area"])
    return Match(m["member_id"], m["household_id"], m["area_code"], holder, m["relative_id"], m["relationship"])


async def _beneficiary_hits(
    db: Db, holders: ColumnElement[bool], members: ColumnElement[bool], *, now: datetime, today: date
) -> list[Hit]:
    """Live holders and their relatives among the members of beneficiary households: every household but those out
    of poverty without policies (脱贫不享受政策)."""
    beneficiary = col(Household.status) != HouseholdStatus.EXITED_NO_POLICIES.value
    stmt = _matching(and_(LIVE_HOLDER, holders), and_(members, beneficiary), today)
    return [conflict_hit(_match(row), today=today, now=now) for row in (await db.execute(stmt)).all()]


async def _keep_new(db: Db, hits: Sequence[Hit]) -> list[HouseholdProblemFound]:
    """Insert the hits no earlier check found (unique per kind, member and reference); the events of those."""
    rows = list({(h.row["kind"], h.row["member_id"], h.row["ref"]): h.row for h in hits}.values())
    if not rows:
        return []
    stmt = insert_skipping_conflicts(_dialect(db).name, IntegrityHit).returning(col(IntegrityHit.id))
    new = set((await db.execute(stmt, rows)).scalars().all())
    return [h.event for h in hits if h.row["id"] in new]


async def _publish_new(session: AsyncSession, hits: Sequence[Hit]) -> None:
    for event in await _keep_new(session, hits):
        publish(session, event)


async def check_members(session: AsyncSession, hashes: Sequence[str], *, now: datetime, today: date) -> None:
    """Members just registered, added or renumbered with these keyed hashes: is any a power holder or a relative?"""
    if hashes:
        members = one_of(_dialect(session), col(Member.id_hash), hashes)
        await _publish_new(session, await _beneficiary_hits(session, LIVE_HOLDER, members, now=now, today=today))


async def check_household(session: AsyncSession, household_id: UUID, *, now: datetime, today: date) -> None:
    """A household back on benefits from out of poverty without policies (脱贫不享受政策 → 返贫, 监测 or 脱贫享受政策):
    its members, no beneficiaries while it was out, are checked against the register again."""
    members = col(Member.household_id) == household_id
    await _publish_new(session, await _beneficiary_hits(session, LIVE_HOLDER, members, now=now, today=today))


async def check_imported(conn: AsyncConnection, hashes: Sequence[str], *, now: datetime, today: date) -> None:
    """The same check for an import's chunk, in one query on the chunk's connection; the problems' outbox rows are
    written with the chunk's."""
    if not hashes:
        return
    members = one_of(conn.dialect, col(Member.id_hash), hashes)
    events = await _keep_new(conn, await _beneficiary_hits(conn, LIVE_HOLDER, members, now=now, today=today))
    if events:
        await conn.execute(insert(OutboxMessage), outbox_rows(events, now=now))


async def recheck(session: AsyncSession, holder: PowerHolder, id_hash: str, *, now: datetime, today: date) -> None:
    """A holder (their own hash) or one of their relatives was just registered: the member holding `id_hash`, if
    any, is a beneficiary hit; and every list the holder approved that paid that member's household, an approval
    hit (one indexed look-up each)."""
    holders = col(PowerHolder.id) == holder.id
    members = col(Member.id_hash) == id_hash
    hits = await _beneficiary_hits(session, holders, members, now=now, today=today)
    stmt = (
        _matching(holders, members, today)
        .add_columns(
            col(ApprovalRecord.order_id),
            col(ApprovalRecord.source),
            col(ApprovalRecord.programme),
            col(ApprovalRecord.period),
            col(TransferReceipt.receipt_id),
        )
        .join(ApprovalRecord, col(ApprovalRecord.approved_by) == col(PowerHolder.person_id))
        .join(
            TransferReceipt,
            and_(
                col(TransferReceipt.household_id) == col(Member.household_id),
                col(TransferReceipt.policy_code) == col(ApprovalRecord.programme),
                col(TransferReceipt.period) == col(ApprovalRecord.period),
                col(TransferReceipt.paid_fen).is_not(None),
            ),
        )
        .where(col(ApprovalRecord.source).in_(RECHECKED))
    )

    def approval_of(m: RowMapping) -> Approval:
        return Approval(m["order_id"], ApprovalSource(m["source"]), holder.person_id, m["programme"], m["period"])

    rows = (await session.execute(stmt)).all()
    await _publish_new(session, hits + _paid_hits(rows, approval_of, today=today, now=now))


def _paid_hits(
    rows: Sequence[Row[Any]], approval_of: Callable[[RowMapping], Approval], *, today: date, now: datetime
) -> list[Hit]:
    """Approval hits from members matched to a holder, each row beside one payment (`receipt_id`) under a list the
    holder approved: one hit per member and list, naming every such payment to the member's household."""
    paid: dict[tuple[UUID, UUID], tuple[Match, Approval, list[UUID]]] = {}
    for row in rows:
        m = row._mapping
        approval = approval_of(m)
        paid.setdefault((m["member_id"], approval.order_id), (_match(row), approval, []))[2].append(m["receipt_id"])
    return [conflict_hit(mt, approval=a, payments=p, today=today, now=now) for mt, a, p in paid.values()]


async def record_approval(session: AsyncSession, approval: Approval, *, now: datetime) -> None:
    """Keep who approved a list (once per list: the same approval sent again, or raced, is kept as first recorded),
    for its payments to be checked as they are paid."""
    row = {
        "order_id": approval.order_id,
        "source": approval.source.value,
        "approved_by": approval.approved_by,
        "programme": approval.programme,
        "period": approval.period,
        "recorded_at": now,
    }
    await session.execute(insert_skipping_conflicts(_dialect(session).name, ApprovalRecord).values(row))


async def check_approval(
    session: AsyncSession,
    approval: Approval,
    household_ids: Sequence[UUID],
    *,
    payments: Sequence[UUID] = (),
    now: datetime,
    today: date,
) -> None:
    """The approver's own or a live relative's membership of these households paid under `approval`: one query.
    The approver is found by login, registered as a power holder still or no longer: whoever approved had the power."""
    if not household_ids:
        return
    holders = col(PowerHolder.person_id) == approval.approved_by
    members = one_of(_dialect(session), col(Member.household_id), household_ids, Uuid)
    rows = (await session.execute(_matching(holders, members, today))).all()
    hits = [conflict_hit(_match(r), approval=approval, payments=list(payments), today=today, now=now) for r in rows]
    await _publish_new(session, hits)


async def check_paid_under(session: AsyncSession, approval: Approval, *, now: datetime, today: date) -> None:
    """A cycle approved after some of its payments were counted (its events travel under other partition keys, so
    a lagging or replayed consumer reads them out of order): the households those payments reached are checked
    against its approver, in one query over the receipts that keep the cycle. A payment recorded by hand names no
    cycle and so no approver."""
    paid = and_(
        col(TransferReceipt.household_id) == col(Member.household_id),
        col(TransferReceipt.cycle_id) == approval.order_id,
        col(TransferReceipt.paid_fen).is_not(None),
    )
    holders = col(PowerHolder.person_id) == approval.approved_by
    stmt = _matching(holders, true(), today).add_columns(col(TransferReceipt.receipt_id)).join(TransferReceipt, paid)
    rows = (await session.execute(stmt)).all()
    await _publish_new(session, _paid_hits(rows, lambda _: approval, today=today, now=now))


async def check_payment(
    session: AsyncSession, cycle_id: UUID, household_id: UUID, payment_id: UUID, *, now: datetime, today: date
) -> None:
    """A payment made under an approved list: the household is checked against the list's approver."""
    record = await session.get(ApprovalRecord, cycle_id)
    if record is None:
        return
    approval = Approval(
        record.order_id, ApprovalSource(record.source), record.approved_by, record.programme or "", record.period or ""
    )
    await check_approval(session, approval, [household_id], payments=[payment_id], now=now, today=today)
