"""A project's assets (资产确权): registered to their owner once the project is accepted, and the asset register a
township reports from (each asset with the income recorded for it this year and last)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects import events
from services.projects.domain.dates import refused
from services.projects.models import Project, ProjectAsset, ProjectIncome
from services.projects.rules import dates
from services.projects.rules.vocabulary import ProjectStatus
from services.projects.schemas.assets import AssetCreate
from shared.areas import township_of
from shared.auth import Principal
from shared.contracts.projects import AssetRegistered
from shared.db import keyset
from shared.errors import Conflict

# Assets are registered, and earn income, once the project is accepted (验收).
EARNING = frozenset({ProjectStatus.ACCEPTED, ProjectStatus.OPERATING})


def ensure_earning(project: Project) -> None:
    """Conflict (`project_state`) unless the project is accepted or operating."""
    if project.status not in EARNING:
        raise Conflict(
            f"The project is {project.status}: only an accepted or operating project has assets and income.",
            code="project_state",
            project_status=project.status,
        )


async def register_asset(
    session: AsyncSession, project: Project, data: AssetCreate, *, actor: Principal, today: date, now: datetime
) -> ProjectAsset:
    """Register an accepted project's asset to its owner, a village collective or township of the project's
    township, and publish `AssetRegistered`."""
    ensure_earning(project)
    if township_of(data.owner_area_code) != township_of(project.area_code):
        raise refused("owner_area_code", "the owner is within the project's township", "owner_outside_township")
    if dates.in_future(data.registered_on, today=today):
        raise refused("registered_on", "an asset is registered on today or earlier", "in_future")
    if dates.before_start(data.registered_on, started_on=project.started_on):
        raise refused("registered_on", "before the project's start", "before_project_start")
    actor.ensure_reach(data.owner_area_code)
    asset = ProjectAsset(
        **data.model_dump(exclude={"owner_kind"}),
        owner_kind=data.owner_kind.value,
        project_id=project.id,
        registered_by=actor.subject,
        registered_at=now,
    )
    session.add(asset)
    events.publish(
        session,
        AssetRegistered(
            project_id=project.id,
            asset_id=asset.id,
            owner_area_code=asset.owner_area_code,
            value_fen=asset.value_fen,
            agreed_return_bp=asset.agreed_return_bp,
        ),
    )
    return asset


@dataclass(frozen=True)
class AssetIncome:
    """An asset with the income recorded for it in a year and the year before."""

    asset: ProjectAsset
    year: int
    this_year_fen: int
    last_year_fen: int

    def fields(self) -> dict[str, Any]:
        return {
            **self.asset.model_dump(),
            "year": self.year,
            "income_this_year_fen": self.this_year_fen,
            "income_last_year_fen": self.last_year_fen,
        }


def new_asset_income(asset: ProjectAsset, *, year: int) -> AssetIncome:
    return AssetIncome(asset, year, 0, 0)


async def asset_page(
    session: AsyncSession,
    *,
    year: int,
    project_id: UUID | None = None,
    area_prefix: str = "",
    after: tuple[Any, ...] | None,
    limit: int,
) -> list[AssetIncome]:
    """Assets of a project, or owned within an area, by owner area and id, after the cursor's (area, id); each with
    its income summed in SQL for `year` and the year before."""
    stmt = _with_income(year).where(col(ProjectAsset.owner_area_code).startswith(area_prefix))
    if project_id is not None:
        stmt = stmt.where(col(ProjectAsset.project_id) == project_id)
    stmt = keyset(stmt, (col(ProjectAsset.owner_area_code), col(ProjectAsset.id)), after, limit=limit)
    rows = (await session.execute(stmt)).all()
    return [AssetIncome(asset, year, int(this), int(last)) for asset, this, last in rows]


def _with_income(year: int) -> Select[Any]:
    def in_year(y: int) -> Any:
        earned = case((col(ProjectIncome.period).startswith(f"{y}-"), col(ProjectIncome.amount_fen)), else_=0)
        return func.coalesce(func.sum(earned), 0)

    return (
        select(ProjectAsset, in_year(year), in_year(year - 1))
        .outerjoin(ProjectIncome, col(ProjectIncome.asset_id) == col(ProjectAsset.id))
        .group_by(col(ProjectAsset.id))
    )
