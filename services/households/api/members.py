"""Routes for members: add, change, and the recorded reveal of a full ID-card number."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response, status

from services.households.api.deps import Config, Registrar, RevealAuditor, Revealer, member_read
from services.households.domain import idnumbers, members
from services.households.domain.access import reachable_household
from services.households.schemas.households import (
    MemberCreate,
    MemberRead,
    MemberUpdate,
    RevealLogRead,
    RevealRead,
    RevealRequest,
)
from shared.api.clock import Today
from shared.http import Transaction

router = APIRouter(prefix="/households/{household_id}", tags=["members"])


def _values(body: MemberCreate | MemberUpdate) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True)
    if body.id_number is not None:
        values["id_number"] = body.id_number.get_secret_value()
    return values


@router.post("/members", status_code=status.HTTP_201_CREATED)
async def add_member(
    household_id: UUID, body: MemberCreate, session: Transaction, actor: Registrar, config: Config, today: Today
) -> MemberRead:
    """Add a member (家庭成员) to the household."""
    household = await reachable_household(session, household_id, actor, for_update=True)
    values = {**body.model_dump(), "id_number": body.id_number.get_secret_value() if body.id_number else None}
    member = await members.add_member(session, household, values, actor=actor.subject, vault=config.vault, today=today)
    return member_read(member)


@router.patch("/members/{member_id}")
async def change_member(
    household_id: UUID,
    member_id: UUID,
    body: MemberUpdate,
    session: Transaction,
    actor: Registrar,
    config: Config,
    today: Today,
) -> MemberRead:
    """Change a member's facts; only the fields sent change."""
    household = await reachable_household(session, household_id, actor, for_update=True)
    member = await idnumbers.member_of(session, household, member_id)
    await members.change_member(
        session, household, member, _values(body), actor=actor.subject, vault=config.vault, today=today
    )
    return member_read(member)


@router.post("/members/{member_id}/id-number/reveal")
async def reveal_id_number(
    household_id: UUID,
    member_id: UUID,
    body: RevealRequest,
    session: Transaction,
    actor: Revealer,
    config: Config,
    response: Response,
) -> RevealRead:
    """The member's full ID-card number; who asked and why is recorded (reveal log, history, event)."""
    household = await reachable_household(session, household_id, actor)
    member = await idnumbers.member_of(session, household, member_id)
    entry, number = idnumbers.reveal(
        session, household, member, reason=body.reason, actor=actor.subject, vault=config.vault
    )
    response.headers["Cache-Control"] = "no-store"
    return RevealRead(reveal_id=entry.id, member_id=member.id, id_number=number)


@router.get("/id-number-reveals")
async def reveal_log(household_id: UUID, session: Transaction, actor: RevealAuditor) -> list[RevealLogRead]:
    """Who saw this household's ID-card numbers, when and why."""
    household = await reachable_household(session, household_id, actor)
    return [RevealLogRead(**r.model_dump()) for r in await idnumbers.reveal_log(session, household)]
