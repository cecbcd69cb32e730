"""ID-card numbers of members: sealing, uniqueness through the keyed hash, search and the permission-checked
reveal that records who and why (查看身份证号留痕). The number is never logged, published or echoed.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import history
from services.households.events import publish
from services.households.models import Household, IdCardReveal, Member
from services.households.rules.idcard import IdCardVault, birth_date_of
from shared.contracts.households import IdCardRevealed
from shared.db import keyset
from shared.errors import Conflict, InvalidInput, NotFound

DUPLICATE = "This ID-card number is already registered to another member."


def check_birth_date(number: str, birth_date: date) -> None:
    """The birth date a member is registered with must be the one their ID-card number carries."""
    if birth_date_of(number) != birth_date:
        raise InvalidInput("The birth date does not match the one in the ID-card number.")


def seal_into(member: Member, number: str, vault: IdCardVault) -> None:
    """Store the number on the member: ciphertext under the active key, keyed hash, masked form."""
    sealed = vault.seal(number, member_id=member.id)
    member.id_kid, member.id_ciphertext = sealed.kid, sealed.ciphertext
    member.id_hash, member.id_masked = sealed.keyed_hash, sealed.masked


async def ensure_free(session: AsyncSession, hashes: Collection[str], *, except_member: UUID | None = None) -> None:
    """Conflict if any of these keyed hashes belongs to a member (other than `except_member`)."""
    if not hashes:
        return
    stmt = select(col(Member.id)).where(col(Member.id_hash).in_(list(hashes)))
    if except_member is not None:
        stmt = stmt.where(col(Member.id) != except_member)
    if (await session.scalars(stmt)).first() is not None:
        raise Conflict(DUPLICATE)


async def flush_checked(session: AsyncSession) -> None:
    """Flush; a concurrent registration of the same number (unique keyed hash) becomes a 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        if "id_hash" in str(exc.orig):
            raise Conflict(DUPLICATE) from None  # the driver's text holds the statement's parameters
        raise


async def find_members(session: AsyncSession, number: str, vault: IdCardVault) -> list[Member]:
    """The member registered with this number (at most one), found by its keyed hash."""
    rows = await session.scalars(select(Member).where(col(Member.id_hash) == vault.keyed_hash(number)))
    return list(rows.all())


async def member_of(session: AsyncSession, household: Household, member_id: UUID) -> Member:
    member = await session.get(Member, member_id)
    if member is None or member.household_id != household.id:
        raise NotFound("The household has no member with this id.")
    return member


def reveal(
    session: AsyncSession,
    household: Household,
    member: Member,
    *,
    reason: str,
    actor: str,
    vault: IdCardVault,
    now: datetime,
) -> tuple[IdCardReveal, str]:
    """The member's full number, with the reveal recorded at `now` (reveal log, history, event without the
    number)."""
    if member.id_kid is None or member.id_ciphertext is None:
        raise NotFound("This member has no ID-card number on record.")
    number = vault.open(member.id_kid, member.id_ciphertext, member_id=member.id)
    entry = IdCardReveal(
        member_id=member.id, household_id=household.id, revealed_by=actor, reason=reason, revealed_at=now
    )
    session.add(entry)
    history.note(
        session,
        household.id,
        actor=actor,
        action="id_number.revealed",
        changes={"member_id": member.id, "reason": reason},
        now=now,
    )
    publish(
        session,
        IdCardRevealed(
            household_id=household.id, member_id=member.id, reveal_id=entry.id, revealed_by=actor, reason=reason
        ),
    )
    return entry, number


async def reveal_log(
    session: AsyncSession, household: Household, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[IdCardReveal]:
    """Up to `limit` reveals of the household's numbers in (revealed_at, id) order after the cursor key."""
    order = (col(IdCardReveal.revealed_at), col(IdCardReveal.id))
    stmt = select(IdCardReveal).where(col(IdCardReveal.household_id) == household.id)
    return list((await session.scalars(keyset(stmt, order, after, limit=limit))).all())
