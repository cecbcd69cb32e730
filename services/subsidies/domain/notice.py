"""The public notice (公示名单): a cycle's listed entitlements as a village posts them, masked.

Each line names the holder by the masked name and ID number subsidies keeps (for a household's programme, the
head's), the village and the amount: subsidies never holds anything unmasked to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Uuid, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies.domain.cycles import cycle_of
from services.subsidies.domain.entitlement_lists import area_scope
from services.subsidies.models import CycleEntitlement, MemberFacts
from services.subsidies.rules.cycles import POSTED
from services.subsidies.rules.vocabulary import EntitlementStatus
from shared.auth import Principal
from shared.contracts.households import Relationship
from shared.db import one_of
from shared.errors import NotFound


@dataclass(frozen=True)
class NoticeEntry:
    entitlement_id: UUID
    household_id: UUID
    member_id: UUID | None
    village_code: str
    name_masked: str | None
    id_masked: str | None
    amount_fen: int


async def notice_page(
    session: AsyncSession,
    cycle_id: UUID,
    *,
    actor: Principal,
    area_code: str | None,
    after: tuple[str, UUID] | None,
    limit: int,
) -> list[NoticeEntry]:
    """The posted list, village by village, in an area (a prefix; an area-scoped reader's own by default).

    NotFound until the list is posted.
    """
    cycle = await cycle_of(session, cycle_id)
    if cycle.status not in POSTED:
        raise NotFound("This cycle's list has not been posted for public notice.")
    e = CycleEntitlement
    stmt = select(e).where(col(e.cycle_id) == cycle_id, col(e.status) == EntitlementStatus.LISTED)
    if (scope := area_scope(area_code, actor)) is not None:
        stmt = stmt.where(col(e.area_code).startswith(scope))
    key = (col(e.area_code), col(e.id))
    if after is not None:
        stmt = stmt.where(tuple_(*key) > tuple_(literal(after[0]), literal(after[1], Uuid())))
    listed = list((await session.scalars(stmt.order_by(*key).limit(limit))).all())
    people = await _named(session, listed)
    return [
        _entry(entitlement, people.get(entitlement.member_id or entitlement.household_id)) for entitlement in listed
    ]


async def _named(session: AsyncSession, listed: list[CycleEntitlement]) -> dict[UUID, MemberFacts]:
    """The person each line names, by member id for a member's entitlement, by household id for a household's
    (its head)."""
    members = [e.member_id for e in listed if e.member_id is not None]
    households = [e.household_id for e in listed if e.member_id is None]
    named: dict[UUID, MemberFacts] = {}
    dialect = session.get_bind().dialect
    if members:
        rows = await session.scalars(
            select(MemberFacts).where(one_of(dialect, col(MemberFacts.member_id), members, Uuid()))
        )
        named.update((m.member_id, m) for m in rows.all())
    if households:
        heads = await session.scalars(
            select(MemberFacts)
            .where(
                one_of(dialect, col(MemberFacts.household_id), households, Uuid()),
                col(MemberFacts.relationship_to_head) == Relationship.HEAD,
            )
            .order_by(col(MemberFacts.member_id).desc())
        )
        named.update((head.household_id, head) for head in heads.all())  # the lowest member id wins a tie
    return named


def _entry(entitlement: CycleEntitlement, person: MemberFacts | None) -> NoticeEntry:
    return NoticeEntry(
        entitlement_id=entitlement.id,
        household_id=entitlement.household_id,
        member_id=entitlement.member_id,
        village_code=entitlement.area_code,
        name_masked=person.name_masked if person else None,
        id_masked=person.id_masked if person else None,
        amount_fen=entitlement.amount_fen,
    )
