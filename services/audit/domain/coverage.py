"""Campaign coverage (全覆盖): the households audit knows (from `households.events`), the visits that reached them
for each campaign, and what a campaign reached and did not, township by township.

A campaign has to reach every household it knows in its scope that was registered before it ended; a visit reaches a
household for every campaign whose scope holds the household's area, whose dates hold the visit's day and whose round
is the visit's (`rules.campaigns.counts_visit`); only a household's first such visit is kept. A household is counted
where it is now (a move carries it to its new area), so coverage read after a move follows the household.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, Uuid, and_, event, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from services.audit.models import CampaignVisit, HouseholdVisit, InspectionCampaign, KnownHousehold
from services.audit.rules.campaigns import TownshipCoverage, counts_visit
from services.audit.rules.periods import district_span
from shared.api.pagination import Key
from shared.auth import Principal
from shared.contracts.audit import ScopeLevel
from shared.db import keyset, one_of

_ABSENT = "audit_unknown_households"  # households a consumer's batch looked up and did not find


async def load_known_households(session: AsyncSession, household_ids: list[UUID]) -> None:
    """Look up a batch's households in one query (a households import registers thousands at once): those known are
    loaded, the others remembered as unknown until the transaction ends, so that each event needs no query."""
    wanted = sorted(set(household_ids))
    dialect = session.get_bind().dialect
    stmt = select(KnownHousehold).where(one_of(dialect, col(KnownHousehold.household_id), wanted, Uuid()))
    found = {household.household_id for household in (await session.scalars(stmt)).all()}
    session.info.setdefault(_ABSENT, set()).update(set(wanted) - found)


async def _known(session: AsyncSession, household_id: UUID) -> KnownHousehold | None:
    absent: set[UUID] = session.info.get(_ABSENT, set())
    if household_id in absent:
        absent.discard(household_id)  # about to be added: a second event of it in the batch finds the new row
        return None
    return await session.get(KnownHousehold, household_id)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_absent(session: Session) -> None:
    session.info.pop(_ABSENT, None)


async def note_household(session: AsyncSession, *, household_id: UUID, area_code: str, registered_at: datetime) -> None:
    """A household was registered (`HouseholdRegistered`, made at `registered_at`); sent again, nothing changes."""
    if await _known(session, household_id) is None:
        session.add(KnownHousehold(household_id=household_id, area_code=area_code, registered_at=registered_at))


async def move_household(session: AsyncSession, *, household_id: UUID, area_code: str, seen_at: datetime) -> None:
    """`HouseholdUpdated` carries the household's area whatever changed. One registered before audit kept households
    (its registration no longer on the topic) is known from then on, as registered at the latest when updated."""
    household = await _known(session, household_id)
    if household is None:
        session.add(KnownHousehold(household_id=household_id, area_code=area_code, registered_at=seen_at))
    elif household.area_code != area_code:
        household.area_code = area_code


async def count_visit(
    session: AsyncSession, *, household_id: UUID, visit_id: UUID, area_code: str, visit_round: int, visited_on: date
) -> list[UUID]:
    """A visit (`VisitRecorded`) reaches the household for each campaign it counts for, unless an earlier visit of
    the campaign did; the campaigns it newly counts for. The campaigns of the round running that day are few: the
    scope is judged by the rule, in memory. The visit is kept for campaigns opened later
    (`count_earlier_visits`)."""
    if await session.get(HouseholdVisit, visit_id) is None:
        session.add(
            HouseholdVisit(
                visit_id=visit_id,
                household_id=household_id,
                area_code=area_code,
                round=visit_round,
                visited_on=visited_on,
            )
        )
    running = select(InspectionCampaign).where(
        col(InspectionCampaign.round) == visit_round,
        col(InspectionCampaign.starts_on) <= visited_on,
        col(InspectionCampaign.ends_on) >= visited_on,
        col(InspectionCampaign.scope_level) != ScopeLevel.PROJECT,
    )
    counted = []
    for campaign in (await session.scalars(running)).all():
        counts = counts_visit(
            ScopeLevel(campaign.scope_level),
            campaign.scope_code,
            campaign.starts_on,
            campaign.ends_on,
            campaign.round,
            area_code=area_code,
            visited_on=visited_on,
            visit_round=visit_round,
        )
        if counts and await session.get(CampaignVisit, (campaign.id, household_id)) is None:
            session.add(
                CampaignVisit(
                    campaign_id=campaign.id,
                    household_id=household_id,
                    area_code=area_code,
                    visit_id=visit_id,
                    visited_on=visited_on,
                )
            )
            counted.append(campaign.id)
    return counted


async def count_earlier_visits(session: AsyncSession, campaign: InspectionCampaign) -> None:
    """A campaign opened after some of its round's visits were made counts them: each household's first visit in
    its scope and dates."""
    if campaign.scope_level == ScopeLevel.PROJECT:
        return
    rows = await session.execute(
        select(
            col(HouseholdVisit.household_id),
            col(HouseholdVisit.area_code),
            col(HouseholdVisit.visit_id),
            col(HouseholdVisit.visited_on),
        )
        .where(
            col(HouseholdVisit.round) == campaign.round,
            col(HouseholdVisit.visited_on) >= campaign.starts_on,
            col(HouseholdVisit.visited_on) <= campaign.ends_on,
            col(HouseholdVisit.area_code).startswith(campaign.scope_code),
        )
        .order_by(col(HouseholdVisit.visited_on), col(HouseholdVisit.visit_id))
    )
    first: dict[UUID, tuple[str, UUID, date]] = {}
    for household_id, area_code, visit_id, visited_on in rows.all():
        first.setdefault(household_id, (area_code, visit_id, visited_on))
    session.add_all(
        CampaignVisit(campaign_id=campaign.id, household_id=hid, area_code=area, visit_id=vid, visited_on=day)
        for hid, (area, vid, day) in first.items()
    )


def _to_reach(campaign: InspectionCampaign, area: str | None, *columns: Any) -> Select[Any]:
    """The households `campaign` had to reach (or `columns` of them): known in its scope (and in `area`) and
    registered before it ended (district calendar)."""
    _, ended = district_span(campaign.ends_on, campaign.ends_on)
    stmt = select(*columns) if columns else select(KnownHousehold)
    stmt = stmt.where(
        col(KnownHousehold.area_code).startswith(campaign.scope_code), col(KnownHousehold.registered_at) < ended
    )
    return stmt.where(col(KnownHousehold.area_code).startswith(area)) if area else stmt


def _visit_of(campaign: InspectionCampaign) -> Any:
    """The join condition of a household and its visit for `campaign`."""
    return and_(
        col(CampaignVisit.campaign_id) == campaign.id,
        col(CampaignVisit.household_id) == col(KnownHousehold.household_id),
    )


def _area_of(actor: Principal | None, area_code: str | None) -> str | None:
    """The narrower of the actor's area (a township officer's) and the area asked for, which the actor must reach."""
    if area_code is not None and actor is not None:
        actor.ensure_reach(area_code)
    if area_code is None and actor is not None and actor.is_area_scoped:
        return actor.area or "\0"
    return area_code


async def township_coverage(
    session: AsyncSession,
    campaign: InspectionCampaign,
    *,
    actor: Principal | None = None,
    after: Key | None = None,
    limit: int | None = None,
) -> list[TownshipCoverage]:
    """Per township of the campaign's scope (within an area-scoped actor's area): the households it had to reach and
    how many it reached, in township order after the cursor's key; every township without a limit."""
    # Inline constants, not parameters: PostgreSQL matches the grouped expression to the selected one by its text.
    township = func.substr(col(KnownHousehold.area_code), literal_column("1"), literal_column("9"))
    stmt = (
        _to_reach(campaign, _area_of(actor, None), township, func.count(), func.count(col(CampaignVisit.household_id)))
        .outerjoin(CampaignVisit, _visit_of(campaign))
        .group_by(township)
    )
    rows = (await session.execute(keyset(stmt, [township], after, limit=limit))).tuples().all()
    return [TownshipCoverage(township=code, households=total, reached=done) for code, total, done in rows]


async def unreached_households(
    session: AsyncSession,
    campaign: InspectionCampaign,
    *,
    actor: Principal,
    area_code: str | None,
    after: Key | None,
    limit: int,
) -> list[KnownHousehold]:
    """The households the campaign had to reach and did not, by area then id after the cursor's key; within the
    area asked for (which an area-scoped actor must reach) or the actor's own."""
    visited = select(col(CampaignVisit.household_id)).where(_visit_of(campaign)).exists()
    stmt = _to_reach(campaign, _area_of(actor, area_code)).where(~visited)
    columns = [col(KnownHousehold.area_code), col(KnownHousehold.household_id)]
    return list((await session.scalars(keyset(stmt, columns, after, limit=limit))).all())
