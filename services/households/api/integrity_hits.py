"""Routes for the integrity checks' hits (核查比对): conflicts of interest (优亲厚友) and data comparisons."""

from __future__ import annotations

from fastapi import APIRouter

from services.households.api.deps import AreaFilter, IntegrityReader
from services.households.domain.integrity_hits import hits_in
from services.households.rules.integrity import HitKind
from services.households.schemas.integrity_hits import IntegrityHitRead
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.http import Reading

router = APIRouter(prefix="/integrity-hits", tags=["integrity hits"])


@router.get("")
async def list_integrity_hits(
    session: Reading, actor: IntegrityReader, area_code: AreaFilter, paging: Paging, kind: HitKind | None = None
) -> Page[IntegrityHitRead]:
    """List the integrity checks' hits

    Of one kind if asked, about households within the area asked for (default: the caller's own when scoped, else
    the district), in the order they were found; each with its evidence by id, never an ID-card number or a name.
    """
    scope = area_code or actor.area or ""
    if actor.is_area_scoped:
        actor.ensure_reach(scope)
    after = paging.after(datetime_key, uuid_key)
    rows = await hits_in(session, scope, kind=kind, after=after, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda h: [h.recorded_at.isoformat(), str(h.id)])
    return Page(
        items=[IntegrityHitRead.model_validate(h, from_attributes=True) for h in items], next_cursor=next_cursor
    )
