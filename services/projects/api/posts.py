"""Routes of public-welfare posts (公益岗位): create, list, read; their holders and care pairings (帮扶对子)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from services.projects.api.deps import Reader, Registrar
from services.projects.domain import posts
from services.projects.models import CarePairing, PostHolding, PublicWelfarePost
from services.projects.schemas.posts import (
    HoldingCreate,
    HoldingRead,
    PairingCreate,
    PairingRead,
    PostCreate,
    PostRead,
    SpanEnd,
)
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.areas import AreaCode
from shared.auth import Principal
from shared.http import Reading, Transaction

router = APIRouter(tags=["posts"])
PostArea = Annotated[AreaCode | None, Query(description="only posts within this district, township or village code")]


def area_scope(actor: Principal, area_code: str | None) -> str:
    """The area a list covers: the one asked for, else a scoped actor's own, else the district; 403 beyond reach."""
    scope = area_code or (actor.area if actor.is_area_scoped else None) or ""
    if actor.is_area_scoped:
        actor.ensure_reach(scope)
    return scope


def _post(post: PublicWelfarePost, holder: PostHolding | None) -> PostRead:
    held = HoldingRead.model_validate(holder, from_attributes=True) if holder else None
    return PostRead(**post.model_dump(exclude={"created_by"}), holder=held)


def _pairing(pairing: CarePairing, holding: PostHolding, post: PublicWelfarePost) -> PairingRead:
    return PairingRead(
        id=pairing.id,
        post_id=post.id,
        post_title=post.title,
        post_area_code=post.area_code,
        holding_id=holding.id,
        holder_household_id=holding.household_id,
        holder_member_id=holding.member_id,
        cared_household_id=pairing.cared_household_id,
        started_on=pairing.started_on,
        ended_on=pairing.ended_on,
    )


@router.post("/posts", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def create_post(
    body: PostCreate, session: Transaction, actor: Registrar, idem: Idempotency, now: Now
) -> PostRead:
    """Create a public-welfare post (公益岗位) with its monthly allowance

    A duty (保洁, 护理, 治安巡逻, 护林, 护路...) in a township or village, paid its allowance monthly through the
    posts' payroll. A township officer creates posts within their township only (403 otherwise).
    """
    if (earlier := await idem.replay(body, PostRead)) is not None:
        return earlier
    return idem.remember(_post(posts.create_post(session, body, actor=actor, now=now), None))


@router.get("/posts")
async def list_posts(
    session: Reading,
    actor: Reader,
    paging: Paging,
    area_code: PostArea = None,
    vacant: bool | None = Query(default=None, description="true: only posts with no holder; false: only held ones"),
) -> Page[PostRead]:
    """List public-welfare posts (公益岗位) of an area, each with its current holder

    Without `area_code`, a township officer or village cadre lists their own area and every other caller the whole
    district. The earliest created first; pass `next_cursor` on for the next page.
    """
    rows = await posts.list_posts(
        session,
        area_prefix=area_scope(actor, area_code),
        vacant=vacant,
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda p: [p.created_at.isoformat(), str(p.id)])
    holders = await posts.holders_of(session, [p.id for p in items])
    return Page(items=[_post(p, holders.get(p.id)) for p in items], next_cursor=next_cursor)


@router.get("/posts/{post_id}")
async def get_post(post_id: UUID, session: Reading, actor: Reader) -> PostRead:
    """Read one public-welfare post (公益岗位) and its current holder"""
    post = await posts.get_post(session, post_id, actor=actor)
    return _post(post, (await posts.holders_of(session, [post.id])).get(post.id))


@router.post("/posts/{post_id}/holder", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def take_post(
    post_id: UUID, body: HoldingCreate, session: Transaction, actor: Registrar, idem: Idempotency, now: Now
) -> HoldingRead:
    """Give a public-welfare post (公益岗位) to a poor household's member

    The member must be a living member of a household on the roll (409, `not_on_roll`) that did not exit poverty
    without policies (409, `not_entitled`) and lives in the post's area (422, `holder_outside_area`). A post has
    one holder at a time (409, `post_taken`: a holding not ended, or one ending on or after `started_on`) and a
    member holds one post at a time (409, `already_holds_post`). Publishes `PostHolderChanged`; the holder's death
    (heard from households) ends the holding on the day of death.
    """
    if (earlier := await idem.replay(body, HoldingRead)) is not None:
        return earlier
    post = await posts.get_post(session, post_id, actor=actor, lock=True)
    holding = await posts.take_post(session, post, body, actor=actor, now=now)
    return idem.remember(HoldingRead.model_validate(holding, from_attributes=True))


@router.post("/posts/{post_id}/holder/end")
async def end_holding(
    post_id: UUID, body: SpanEnd, session: Transaction, actor: Registrar, today: Today
) -> HoldingRead:
    """End the holding of a public-welfare post (公益岗位): its holder's last day

    The holder's care pairings end the same day. Publishes `PostHolderChanged`. Refused: a post with no holder
    (409, `post_vacant`); a day before the holding started or a pairing of it did (422, `ends_before_start`), or
    after today (422, `end_in_future`); a day before the end of a month whose payroll pays the holder (409,
    `in_payroll`).
    """
    post = await posts.get_post(session, post_id, actor=actor, lock=True)
    holding = await posts.end_holding(session, post, body.ended_on, today=today)
    return HoldingRead.model_validate(holding, from_attributes=True)


@router.post("/posts/{post_id}/pairings", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def pair_holder(
    post_id: UUID, body: PairingCreate, session: Transaction, actor: Registrar, idem: Idempotency, now: Now
) -> PairingRead:
    """Pair a post's holder with a household that cannot look after itself (帮扶对子)

    Refused: a post with no holder (409, `post_vacant`); a start before the holder took the post (422,
    `before_holding`); a household not on the roll (409, `not_on_roll`), outside the post's township (422,
    `outside_township`) or the holder's own (422, `own_household`); a pair already live (409, `already_paired`).
    """
    if (earlier := await idem.replay(body, PairingRead)) is not None:
        return earlier
    post = await posts.get_post(session, post_id, actor=actor, lock=True)
    pairing, holding = await posts.pair(session, post, body, actor=actor, now=now)
    return idem.remember(_pairing(pairing, holding, post))


@router.post("/posts/{post_id}/pairings/{pairing_id}/end")
async def end_pairing(
    post_id: UUID, pairing_id: UUID, body: SpanEnd, session: Transaction, actor: Registrar, today: Today
) -> PairingRead:
    """End a care pairing (帮扶对子) of a post's holder

    Refused: a pairing ended already (409, `already_ended`); a day before it started (422, `ends_before_start`) or
    after today (422, `end_in_future`).
    """
    post = await posts.get_post(session, post_id, actor=actor, lock=True)
    pairing, holding = await posts.end_pairing(session, post, pairing_id, body.ended_on, today=today)
    return _pairing(pairing, holding, post)


@router.get("/pairings")
async def list_pairings(
    session: Reading, actor: Reader, paging: Paging, area_code: PostArea = None
) -> Page[PairingRead]:
    """List care pairings (帮扶对子) of the posts of an area

    Each pair with the holder's household, the cared household and the post, ended ones too, the earliest recorded
    first. Without `area_code`, a township officer or village cadre lists their own area and every other caller the
    whole district.
    """
    rows = await posts.list_pairings(
        session,
        area_prefix=area_scope(actor, area_code),
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda r: [r[0].recorded_at.isoformat(), str(r[0].id)])
    return Page(items=[_pairing(*row) for row in items], next_cursor=next_cursor)
