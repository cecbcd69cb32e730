"""Routes of the projects' assets (资产确权) and the asset register."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.api.deps import Reader, Registrar
from services.projects.domain import assets, projects
from services.projects.schemas.assets import AssetCreate, AssetRead
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, PageRequest, Paging, text_key, uuid_key
from shared.areas import AreaCode
from shared.http import Reading, Transaction

router = APIRouter(tags=["assets"])
OwnerArea = Annotated[AreaCode | None, Query(description="only assets owned within this district, township or village")]


@router.post("/projects/{project_id}/assets", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def register_asset(
    project_id: UUID,
    body: AssetCreate,
    session: Transaction,
    actor: Registrar,
    idem: Idempotency,
    now: Now,
    today: Today,
) -> AssetRead:
    """Register an accepted project's asset to its owner (资产确权)

    The owner is a village collective (村集体, a village code) or the township (乡镇, its code) within the project's
    township; the asset's income belongs to it. Publishes `AssetRegistered` on `projects.events`.

    Refused: a project neither accepted nor operating (409, `project_state`); an owner outside the project's
    township (422, `owner_outside_township`); an owner's code of the wrong level for its kind (422,
    `owner_code_mismatch`); registered after today (422, `in_future`) or before the project started (422,
    `before_project_start`).
    """
    if (earlier := await idem.replay(body, AssetRead)) is not None:
        return earlier
    project = await projects.get_project(session, project_id, actor=actor)
    asset = await assets.register_asset(session, project, body, actor=actor, today=today, now=now)
    return idem.remember(AssetRead(**assets.new_asset_income(asset, year=today.year).fields()))


@router.get("/projects/{project_id}/assets")
async def list_project_assets(
    project_id: UUID, session: Reading, actor: Reader, paging: Paging, today: Today
) -> Page[AssetRead]:
    """List a project's assets, each with the income recorded for it this year and last

    By owner's area code. Pass `next_cursor` on for the next page.
    """
    project = await projects.get_project(session, project_id, actor=actor)
    return await _page(session, paging, today.year, project_id=project.id)


@router.get("/assets")
async def list_assets(
    session: Reading, actor: Reader, paging: Paging, today: Today, area_code: OwnerArea = None
) -> Page[AssetRead]:
    """List the asset register (资产台账) of an area: value, owner, agreed return, income this year and last

    The assets owned within `area_code`, by owner's area code; each with the income recorded for the months of
    this year (the request's day) and of the year before, summed by the database. Without `area_code`, a
    township officer or village cadre lists their own area and every other caller the whole district. Pass
    `next_cursor` on for the next page.

    Refused: an area outside a scoped caller's own (403).
    """
    scope = area_code or (actor.area if actor.is_area_scoped else None) or ""
    if actor.is_area_scoped:
        actor.ensure_reach(scope)
    return await _page(session, paging, today.year, area_prefix=scope)


async def _page(
    session: AsyncSession, paging: PageRequest, year: int, *, project_id: UUID | None = None, area_prefix: str = ""
) -> Page[AssetRead]:
    rows = await assets.asset_page(
        session,
        year=year,
        project_id=project_id,
        area_prefix=area_prefix,
        after=paging.after(text_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda r: [r.asset.owner_area_code, str(r.asset.id)])
    return Page(items=[AssetRead(**r.fields()) for r in items], next_cursor=next_cursor)
