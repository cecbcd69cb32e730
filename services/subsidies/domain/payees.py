"""Payee accounts (收款账户, 惠民惠农一卡通): recorded sealed, corrected by a new account that replaces the holder's
last, read masked; the accounts in use looked up in bulk for batches and reconciliation."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from uuid import UUID

from sqlalchemy import Uuid, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies.models import HouseholdFacts, MemberFacts, Payee
from services.subsidies.rules.payee_vault import PayeeVault
from services.subsidies.rules.vocabulary import holder_key
from services.subsidies.schemas.payees import PayeeCreate
from shared.db import keyset, one_of
from shared.errors import InvalidInput, NotFound
from shared.ids import uuid7

CHUNK = 5_000
HolderKey = tuple[UUID, str]  # (household id, holder key)


async def add_payee(
    session: AsyncSession, household_id: UUID, data: PayeeCreate, *, vault: PayeeVault, actor: str, now: datetime
) -> Payee:
    """Record the account a household's (or a member's) subsidies are paid into, sealed; the holder's account in
    use until now is replaced (`replaced_at` = now): that is how an account is corrected after the bank refused it."""
    await _locked_household(session, household_id)
    await _ensure_members(session, household_id, data)
    holder = holder_key(data.member_id)
    await session.execute(
        update(Payee)
        .where(
            col(Payee.household_id) == household_id,
            col(Payee.holder_key) == holder,
            col(Payee.replaced_at).is_(None),
        )
        .values(replaced_at=now)
    )
    payee_id = uuid7()
    sealed = vault.seal(data.account_no.get_secret_value(), data.holder_name.get_secret_value(), payee_id=payee_id)
    payee = Payee(
        id=payee_id,
        household_id=household_id,
        member_id=data.member_id,
        holder_key=holder,
        bank_code=data.bank_code,
        account_kid=sealed.kid,
        account_ciphertext=sealed.account_ciphertext,
        account_hash=sealed.account_hash,
        account_masked=sealed.account_masked,
        holder_name_ciphertext=sealed.holder_name_ciphertext,
        holder_name_masked=sealed.holder_name_masked,
        holder_member_id=data.holder_member_id,
        recorded_by=actor,
        recorded_at=now,
    )
    session.add(payee)
    await session.flush()
    return payee


async def _locked_household(session: AsyncSession, household_id: UUID) -> None:
    """The household's row, locked (PostgreSQL) so that two accounts recorded at once for one holder are recorded
    one after the other, each replacing the last: a holder never has two accounts in use."""
    stmt = select(col(HouseholdFacts.household_id)).where(col(HouseholdFacts.household_id) == household_id)
    if (await session.execute(stmt.with_for_update())).first() is None:
        raise NotFound("No registered household (建档立卡户) with this id is known to subsidies.")


async def _ensure_members(session: AsyncSession, household_id: UUID, data: PayeeCreate) -> None:
    named = {"body.member_id": data.member_id, "body.holder_member_id": data.holder_member_id}
    wanted = {member for member in named.values() if member is not None}
    if not wanted:
        return
    stmt = select(col(MemberFacts.member_id)).where(
        col(MemberFacts.household_id) == household_id, col(MemberFacts.member_id).in_(wanted)
    )
    found = set((await session.scalars(stmt)).all())
    errors = [
        {"field": field, "message": "not a member of the household", "code": "unknown_member"}
        for field, member in named.items()
        if member is not None and member not in found
    ]
    if errors:
        raise InvalidInput("A member named is not a member of this household known to subsidies.", errors=errors)


async def list_payees(
    session: AsyncSession,
    household_id: UUID,
    *,
    in_use: bool | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Payee]:
    """A household's accounts, the newest first; `in_use` True: only those not replaced, False: only replaced."""
    await _known_household(session, household_id)
    stmt = select(Payee).where(col(Payee.household_id) == household_id)
    if in_use is not None:
        replaced = col(Payee.replaced_at)
        stmt = stmt.where(replaced.is_(None) if in_use else replaced.is_not(None))
    stmt = keyset(stmt, [col(Payee.recorded_at), col(Payee.id)], after, limit=limit, descending=True)
    return list((await session.scalars(stmt)).all())


async def _known_household(session: AsyncSession, household_id: UUID) -> None:
    if await session.get(HouseholdFacts, household_id) is None:
        raise NotFound("No registered household (建档立卡户) with this id is known to subsidies.")


async def active_payees(session: AsyncSession, holder_keys: Collection[HolderKey]) -> dict[HolderKey, Payee]:
    """The account in use of each holder (household id, holder key) that has one, loaded in chunks."""
    wanted = set(holder_keys)
    found: dict[HolderKey, Payee] = {}
    dialect = session.get_bind().dialect
    households = sorted({household for household, _ in wanted})
    for start in range(0, len(households), CHUNK):
        stmt = (
            select(Payee)
            .where(one_of(dialect, col(Payee.household_id), households[start : start + CHUNK], Uuid()))
            .where(col(Payee.replaced_at).is_(None))
            .order_by(col(Payee.recorded_at))
        )
        for payee in (await session.scalars(stmt)).all():
            key = (payee.household_id, payee.holder_key)
            if key in wanted:
                found[key] = payee  # the latest recorded wins, should two ever be in use
    return found
