"""Public-welfare posts (公益岗位): created in a township or village, held by one poor household's member at a time,
whose holder may be paired with a household that cannot look after itself (帮扶对子). A holding's start and end
(by the holder leaving, or dying) each publish `PostHolderChanged`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects import events
from services.projects.domain.dates import refused
from services.projects.models import (
    CarePairing,
    Payroll,
    PayrollLine,
    PostHolding,
    PublicWelfarePost,
    RollHousehold,
    RollMember,
)
from services.projects.rules import posts as spans
from services.projects.rules.payroll import month_of
from services.projects.schemas.posts import HoldingCreate, PairingCreate, PostCreate
from shared.areas import township_of
from shared.auth import Principal
from shared.contracts.households import HouseholdStatus
from shared.contracts.projects import PostHolderChanged
from shared.db import keyset
from shared.errors import Conflict, NotFound

_OPEN = col(PostHolding.ended_on).is_(None)


async def living_member(
    session: AsyncSession, household_id: UUID, member_id: UUID, *, lock: bool = False
) -> RollHousehold:
    """The household of a living member on the roll, or 409 `not_on_roll` (the roll follows households' events: a
    household registered a moment ago may not be on it yet). `lock` holds the member's row until the transaction
    ends, so that two posts given to one member at once take turns."""
    stmt = select(RollMember).where(
        col(RollMember.member_id) == member_id,
        col(RollMember.household_id) == household_id,
        col(RollMember.died_on).is_(None),
    )
    member = await session.scalar(stmt.with_for_update() if lock else stmt)
    household = await session.get(RollHousehold, household_id) if member is not None else None
    if household is None:
        raise Conflict("The member is not a living member of a household on the roll.", code="not_on_roll")
    return household


def create_post(session: AsyncSession, data: PostCreate, *, actor: Principal, now: datetime) -> PublicWelfarePost:
    actor.ensure_reach(data.area_code)
    post = PublicWelfarePost(
        **data.model_dump(exclude={"duty"}), duty=data.duty.value, created_by=actor.subject, created_at=now
    )
    session.add(post)
    return post


async def get_post(session: AsyncSession, post_id: UUID, *, actor: Principal, lock: bool = False) -> PublicWelfarePost:
    """A post the actor may reach; `lock` holds its row until the transaction ends, so that two requests for one
    post (two holders, a holder and a pairing) take turns."""
    post = await session.get(PublicWelfarePost, post_id, with_for_update=lock)
    if post is None:
        raise NotFound("No public-welfare post has this id.")
    actor.ensure_reach(post.area_code)
    return post


async def holders_of(session: AsyncSession, post_ids: list[UUID]) -> dict[UUID, PostHolding]:
    """Each post's holding not ended (at most one), by post."""
    rows = await session.scalars(select(PostHolding).where(col(PostHolding.post_id).in_(post_ids), _OPEN))
    return {h.post_id: h for h in rows.all()}


async def list_posts(
    session: AsyncSession, *, area_prefix: str, vacant: bool | None, after: tuple[Any, ...] | None, limit: int
) -> list[PublicWelfarePost]:
    """Posts within `area_prefix`, the earliest created first; `vacant`: only those with (False) or without (True)
    a holder."""
    stmt = select(PublicWelfarePost).where(col(PublicWelfarePost.area_code).startswith(area_prefix))
    if vacant is not None:
        held = exists().where(col(PostHolding.post_id) == col(PublicWelfarePost.id), _OPEN)
        stmt = stmt.where(~held if vacant else held)
    stmt = keyset(stmt, (col(PublicWelfarePost.created_at), col(PublicWelfarePost.id)), after, limit=limit)
    return list((await session.scalars(stmt)).all())


async def take_post(
    session: AsyncSession, post: PublicWelfarePost, data: HoldingCreate, *, actor: Principal, now: datetime
) -> PostHolding:
    """A member takes a (locked) post: a living member of a household on the roll, entitled and in the post's area,
    while neither the post nor the member holds another from that day on."""
    household = await living_member(session, data.household_id, data.member_id, lock=True)
    if household.status == HouseholdStatus.EXITED_NO_POLICIES:
        raise Conflict("A household that exited without policies holds no public-welfare post.", code="not_entitled")
    if not spans.within(household.area_code, post.area_code):
        raise refused("household_id", "the household lives outside the post's area", "holder_outside_area")
    if await _meets(session, col(PostHolding.post_id) == post.id, data.started_on):
        raise Conflict("The post has a holder on or after that day.", code="post_taken")
    if await _meets(session, col(PostHolding.member_id) == data.member_id, data.started_on):
        raise Conflict("The member holds another post on or after that day.", code="already_holds_post")
    holding = PostHolding(post_id=post.id, **data.model_dump(), recorded_by=actor.subject, recorded_at=now)
    session.add(holding)
    _holder_changed(session, holding, post)
    return holding


async def _meets(session: AsyncSession, which: Any, starting_on: date) -> bool:
    """Whether a holding chosen by `which` shares a day with an open holding starting on `starting_on`."""
    ends = await session.scalars(select(col(PostHolding.ended_on)).where(which))
    return any(spans.meets_open_span(end, starting_on=starting_on) for end in ends.all())


async def end_holding(session: AsyncSession, post: PublicWelfarePost, ended_on: date, *, today: date) -> PostHolding:
    """The holder leaves the (locked) post on `ended_on`, their last day; their pairings end with it."""
    holding = await _holding(session, post)
    if reason := spans.end_refusal(holding.started_on, ended_on, today=today):
        raise refused("ended_on", "a holding ends after it started and not after today", reason)
    last_paid = await session.scalar(
        select(col(Payroll.period))
        .join(PayrollLine, col(PayrollLine.payroll_id) == col(Payroll.id))
        .where(col(PayrollLine.holding_id) == holding.id)
        .order_by(col(Payroll.period).desc())
        .limit(1)
    )
    if last_paid is not None and ended_on < month_of(last_paid)[1]:
        raise Conflict(f"The payroll of {last_paid} pays the holder to the month's end.", code="in_payroll")
    live = select(col(CarePairing.started_on)).where(
        col(CarePairing.holding_id) == holding.id, col(CarePairing.ended_on).is_(None)
    )
    if any(started > ended_on for started in (await session.scalars(live)).all()):
        raise refused("ended_on", "a pairing of the holder started after that day", "ends_before_start")
    await _end(session, holding, post, ended_on)
    return holding


async def end_at_death(session: AsyncSession, *, member_id: UUID, died_on: date) -> None:
    """A holder's death ends their holding on the day they died, with its pairings; a holding recorded as ending
    later ends then too. A death told again changes nothing."""
    rows = await session.execute(
        select(PostHolding, PublicWelfarePost)
        .join(PublicWelfarePost, col(PublicWelfarePost.id) == col(PostHolding.post_id))
        .where(col(PostHolding.member_id) == member_id, or_(_OPEN, col(PostHolding.ended_on) > died_on))
    )
    for holding, post in rows.tuples().all():
        await _end(session, holding, post, died_on)


async def _end(session: AsyncSession, holding: PostHolding, post: PublicWelfarePost, ended_on: date) -> None:
    """The holding and its pairings not ended by then end on `ended_on`."""
    holding.ended_on = ended_on
    await session.execute(
        update(CarePairing)
        .where(
            col(CarePairing.holding_id) == holding.id,
            or_(col(CarePairing.ended_on).is_(None), col(CarePairing.ended_on) > ended_on),
        )
        .values(ended_on=ended_on)
    )
    _holder_changed(session, holding, post)


def _holder_changed(session: AsyncSession, holding: PostHolding, post: PublicWelfarePost) -> None:
    events.publish(
        session,
        PostHolderChanged(
            post_id=post.id,
            area_code=post.area_code,
            household_id=holding.household_id,
            member_id=holding.member_id,
            started_on=holding.started_on,
            ended_on=holding.ended_on,
        ),
    )


async def _holding(session: AsyncSession, post: PublicWelfarePost) -> PostHolding:
    holding = (await holders_of(session, [post.id])).get(post.id)
    if holding is None:
        raise Conflict("The post has no holder.", code="post_vacant")
    return holding


async def pair(
    session: AsyncSession, post: PublicWelfarePost, data: PairingCreate, *, actor: Principal, now: datetime
) -> tuple[CarePairing, PostHolding]:
    """Pair the (locked) post's holder with a household of the post's township (帮扶对子)."""
    holding = await _holding(session, post)
    if data.started_on < holding.started_on:
        raise refused("started_on", "a pairing starts once the holder holds the post", "before_holding")
    cared = await session.get(RollHousehold, data.cared_household_id)
    if cared is None:
        raise Conflict("The cared household is not on the roll.", code="not_on_roll")
    if not spans.within(cared.area_code, township_of(post.area_code)):
        raise refused("cared_household_id", "the household lives outside the post's township", "outside_township")
    if cared.household_id == holding.household_id:
        raise refused("cared_household_id", "a holder cares for another household than their own", "own_household")
    already = select(col(CarePairing.id)).where(
        col(CarePairing.holding_id) == holding.id,
        col(CarePairing.cared_household_id) == cared.household_id,
        col(CarePairing.ended_on).is_(None),
    )
    if await session.scalar(already.limit(1)) is not None:
        raise Conflict("The holder is already paired with this household.", code="already_paired")
    pairing = CarePairing(holding_id=holding.id, **data.model_dump(), recorded_by=actor.subject, recorded_at=now)
    session.add(pairing)
    return pairing, holding


async def end_pairing(
    session: AsyncSession, post: PublicWelfarePost, pairing_id: UUID, ended_on: date, *, today: date
) -> tuple[CarePairing, PostHolding]:
    """End a pairing of one of the (locked) post's holdings, with that holding."""
    found = await session.execute(
        select(CarePairing, PostHolding)
        .join(PostHolding, col(PostHolding.id) == col(CarePairing.holding_id))
        .where(col(CarePairing.id) == pairing_id, col(PostHolding.post_id) == post.id)
    )
    row = found.tuples().one_or_none()
    if row is None:
        raise NotFound("The post has no pairing with this id.")
    pairing, holding = row
    if pairing.ended_on is not None:
        raise Conflict("The pairing has ended already.", code="already_ended")
    if reason := spans.end_refusal(pairing.started_on, ended_on, today=today):
        raise refused("ended_on", "a pairing ends after it started and not after today", reason)
    pairing.ended_on = ended_on
    return pairing, holding


async def list_pairings(
    session: AsyncSession, *, area_prefix: str, after: tuple[Any, ...] | None, limit: int
) -> list[tuple[CarePairing, PostHolding, PublicWelfarePost]]:
    """Pairings of the posts within `area_prefix`, the earliest recorded first, each with its holding and post."""
    stmt = (
        select(CarePairing, PostHolding, PublicWelfarePost)
        .join(PostHolding, col(PostHolding.id) == col(CarePairing.holding_id))
        .join(PublicWelfarePost, col(PublicWelfarePost.id) == col(PostHolding.post_id))
        .where(col(PublicWelfarePost.area_code).startswith(area_prefix))
    )
    stmt = keyset(stmt, (col(CarePairing.recorded_at), col(CarePairing.id)), after, limit=limit)
    return [(p, h, w) for p, h, w in (await session.execute(stmt)).all()]
