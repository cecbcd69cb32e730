"""The register of people with power over benefits (有审批权或评议权的人员) and their close relatives (近亲属), for
the conflict-of-interest checks (优亲厚友).

An ID-card number given here is validated and turned into its keyed hash (the same as a member's `id_hash`) and
is never stored, returned or logged: a relative is known only by that hash and the kind of tie. Registering a
holder with their number, or a relative, re-runs the checks on that person at once (`conflicts.recheck`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import conflicts
from services.households.models import PowerHolder, PowerHolderRelative
from services.households.rules.dates import CODE, DETAIL, ensure_happened
from services.households.rules.idcard import InvalidIdNumber, check_born_by
from services.households.rules.integrity import MAX_RELATIVES, PowerRole, RelativeKind
from services.households.settings import HouseholdsConfig
from shared.auth import Principal
from shared.db import keyset
from shared.errors import Conflict, InvalidInput, NotFound, RuleViolation


@dataclass(frozen=True)
class HolderFacts:
    """Who a power holder is: login, name and post (an official role), the power they have, where."""

    person_id: str
    name: str
    post: str
    role: PowerRole
    area_code: str


def _keyed_hash(number: str, config: HouseholdsConfig, today: date) -> str:
    """The number's keyed hash; a number born after today is refused as the body's validation refuses others."""
    try:
        check_born_by(number, today)
    except InvalidIdNumber as exc:
        raise InvalidInput(DETAIL, errors=[{"field": "body.id_number", "message": str(exc), "code": CODE}]) from None
    return config.vault.keyed_hash(number)


async def register_holder(
    session: AsyncSession,
    facts: HolderFacts,
    id_number: str | None,
    *,
    actor: Principal,
    config: HouseholdsConfig,
    now: datetime,
    today: date,
) -> PowerHolder:
    """Register a power holder of an area within the actor's reach; with their number, checked at once."""
    config.ensure_known_area(facts.area_code)
    actor.ensure_reach(facts.area_code)
    id_hash = _keyed_hash(id_number, config, today) if id_number else None
    holder = PowerHolder(
        person_id=facts.person_id,
        name=facts.name,
        post=facts.post,
        role=facts.role.value,
        area_code=facts.area_code,
        id_hash=id_hash,
        registered_by=actor.subject,
        registered_at=now,
    )
    session.add(holder)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("A power holder with this login is already registered.") from None
    if id_hash is not None:
        await conflicts.recheck(session, holder, id_hash, now=now, today=today)
    return holder


async def add_relative(
    session: AsyncSession,
    holder: PowerHolder,
    relationship: RelativeKind,
    id_number: str,
    *,
    actor: str,
    config: HouseholdsConfig,
    now: datetime,
    today: date,
) -> PowerHolderRelative:
    """Record a close relative of a live holder, known by their number's keyed hash; checked at once. The same
    number twice for one holder is a Conflict, ended or not (the record stays)."""
    if holder.ended_on is not None:
        raise RuleViolation("This power holder's register entry has ended: record no more relatives.")
    id_hash = _keyed_hash(id_number, config, today)
    if id_hash == holder.id_hash:
        errors = [{"field": "body.id_number", "message": "the holder's own number", "code": "holder_own_number"}]
        raise InvalidInput("A power holder is not their own relative.", errors=errors)
    taken = select(col(PowerHolderRelative.id)).where(
        col(PowerHolderRelative.holder_id) == holder.id, col(PowerHolderRelative.id_hash) == id_hash
    )
    if (await session.scalars(taken)).first() is not None:
        raise Conflict("This relative is already recorded for the power holder.")
    recorded = select(func.count()).where(col(PowerHolderRelative.holder_id) == holder.id)
    if int(await session.scalar(recorded) or 0) >= MAX_RELATIVES:
        raise RuleViolation(f"A power holder has at most {MAX_RELATIVES} relatives recorded; this one has that many.")
    relative = PowerHolderRelative(
        holder_id=holder.id, relationship=relationship.value, id_hash=id_hash, recorded_by=actor, recorded_at=now
    )
    session.add(relative)
    try:
        await session.flush()
    except IntegrityError:  # recorded concurrently; the driver's text would carry the hash
        raise Conflict("This relative is already recorded for the power holder.") from None
    await conflicts.recheck(session, holder, id_hash, now=now, today=today)
    return relative


def end(entry: PowerHolder | PowerHolderRelative, ended_on: date, *, today: date) -> None:
    """End a holder's post or a relative's tie (离任, 关系解除) on a day not after today; ended entries no longer hit
    (an approval the holder made is still judged: whoever approved had the power). Ending twice is a Conflict."""
    ensure_happened(today, {"ended_on": ended_on})
    if entry.ended_on is not None:
        raise Conflict("This entry has already ended.")
    entry.ended_on = ended_on


async def reachable_holder(session: AsyncSession, holder_id: UUID, actor: Principal) -> PowerHolder:
    """The holder, if within the actor's reach (403 otherwise, 404 if unknown)."""
    holder = await session.get(PowerHolder, holder_id)
    if holder is None:
        raise NotFound("No power holder has this id.")
    actor.ensure_reach(holder.area_code)
    return holder


async def relative_of(session: AsyncSession, holder: PowerHolder, relative_id: UUID) -> PowerHolderRelative:
    relative = await session.get(PowerHolderRelative, relative_id)
    if relative is None or relative.holder_id != holder.id:
        raise NotFound("The power holder has no relative with this id.")
    return relative


async def holders_in(
    session: AsyncSession, area_code: str, *, after: tuple[str, UUID] | None, limit: int
) -> list[PowerHolder]:
    """Up to `limit` power holders of posts within `area_code`, in (name, id) order after the cursor key."""
    order = (col(PowerHolder.name), col(PowerHolder.id))
    stmt = select(PowerHolder).where(col(PowerHolder.area_code).startswith(area_code))
    return list((await session.scalars(keyset(stmt, order, after, limit=limit))).all())


async def live_ties(session: AsyncSession, holder_ids: Sequence[UUID]) -> dict[UUID, list[str]]:
    """The kinds of tie of each holder's live relatives, in one query."""
    ties: dict[UUID, list[str]] = defaultdict(list)
    if holder_ids:
        stmt = (
            select(col(PowerHolderRelative.holder_id), col(PowerHolderRelative.relationship))
            .where(
                col(PowerHolderRelative.holder_id).in_(list(holder_ids)), col(PowerHolderRelative.ended_on).is_(None)
            )
            .order_by(col(PowerHolderRelative.relationship))
        )
        for holder_id, relationship in (await session.execute(stmt)).tuples().all():
            ties[holder_id].append(relationship)
    return ties


async def relatives(session: AsyncSession, holder: PowerHolder) -> list[PowerHolderRelative]:
    """Every relative recorded for the holder, ended ones included, in the order they were recorded."""
    stmt = (
        select(PowerHolderRelative)
        .where(col(PowerHolderRelative.holder_id) == holder.id)
        .order_by(col(PowerHolderRelative.recorded_at), col(PowerHolderRelative.id))
    )
    return list((await session.scalars(stmt)).all())
