"""Routes of a cycle's entitlement list (享受对象名单) and its public notice (公示名单)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.subsidies.api.deps import CycleReader, NoticeReader
from services.subsidies.domain import entitlement_lists, notice
from services.subsidies.rules.vocabulary import EntitlementStatus
from services.subsidies.schemas.cycles import EntitlementDetail, EntitlementRead, NoticeEntryRead
from shared.api.pagination import Page, Paging, text_key, uuid_key
from shared.areas import AreaCode
from shared.http import Reading

router = APIRouter(prefix="/cycles/{cycle_id}", tags=["entitlement lists"])
AreaFilter = Annotated[
    AreaCode | None, Query(description="a township's or village's code: the entitlements of households within it")
]


@router.get("/entitlements")
async def list_entitlements(
    cycle_id: UUID,
    session: Reading,
    actor: CycleReader,
    paging: Paging,
    area_code: AreaFilter = None,
    status: EntitlementStatus | None = None,
    household_id: UUID | None = None,
) -> Page[EntitlementRead]:
    """List a cycle's entitlements: who is listed, for how much, and who was withdrawn and why

    By entitlement id; filter by area (a prefix), status and household. Each entitlement's snapshot of facts and
    rule-by-rule explanation is read by `GET /v1/cycles/{cycle_id}/entitlements/{entitlement_id}`.
    """
    rows = await entitlement_lists.list_entitlements(
        session,
        cycle_id,
        actor=actor,
        area_code=area_code,
        status=status,
        household_id=household_id,
        after=paging.after(uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda e: [str(e.id)])
    return Page(items=[EntitlementRead.model_validate(e) for e in items], next_cursor=next_cursor)


@router.get("/entitlements/{entitlement_id}")
async def get_entitlement(
    cycle_id: UUID, entitlement_id: UUID, session: Reading, actor: CycleReader
) -> EntitlementDetail:
    """Read one entitlement with the snapshot it was decided on: the facts, the version and each condition

    The facts are those as of the period's first day when the list was computed (or re-checked at approval);
    `explanation` gives each condition of the version's rule, the holder's fact and whether it held.
    """
    entitlement = await entitlement_lists.entitlement_of(session, cycle_id, entitlement_id, actor=actor)
    return EntitlementDetail.model_validate(entitlement)


@router.get("/notice")
async def read_notice(
    cycle_id: UUID, session: Reading, actor: NoticeReader, paging: Paging, area_code: AreaFilter = None
) -> Page[NoticeEntryRead]:
    """Read the public notice (公示名单) a village posts: masked names and ID numbers, village, amount

    The listed entitlements village by village, each naming the holder (for a household's programme, its head)
    by masked name (张*三) and masked ID number (3715**********1234), never more. Readable from the day the list is
    posted; before that, 404.
    """
    rows = await notice.notice_page(
        session,
        cycle_id,
        actor=actor,
        area_code=area_code,
        after=paging.after(text_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda n: [n.village_code, str(n.entitlement_id)])
    return Page(items=[NoticeEntryRead.model_validate(n, from_attributes=True) for n in items], next_cursor=next_cursor)
