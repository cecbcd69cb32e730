"""Routes for members: add, change, and the recorded reveal of a full ID-card number."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response, status

from services.households.api.deps import (
    Config,
    DeathRegistrar,
    Registrar,
    RevealAuditor,
    Revealer,
    member_read,
    numbered,
)
from services.households.domain import deaths, idnumbers, members
from services.households.domain.access import reachable_household
from services.households.schemas.households import (
    MemberCreate,
    MemberDeath,
    MemberDeathRead,
    MemberRead,
    MemberUpdate,
    RevealLogRead,
    RevealRead,
    RevealRequest,
)
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.http import Reading, Transaction

router = APIRouter(prefix="/households/{household_id}", tags=["members"])


def _values(body: MemberCreate | MemberUpdate) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True)
    if body.id_number is not None:
        values["id_number"] = body.id_number.get_secret_value()
    return values


@router.post("/members", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def add_member(
    household_id: UUID,
    body: MemberCreate,
    session: Transaction,
    actor: Registrar,
    config: Config,
    now: Now,
    today: Today,
    idem: Idempotency,
) -> MemberRead:
    """Add a member to the household (家庭成员)

    An ID-card number must carry the birth date and be new to the register (409 otherwise, without repeating
    it). Publishes `MemberAdded` and the events the member's facts imply; one more member on the same income may
    put an exited household under the monitoring line (a relapse-risk flag). A household has at most 30 members:
    a 31st is a 409, adding nothing.
    """
    household = await reachable_household(session, household_id, actor, for_update=True)
    if (earlier := await idem.replay(numbered(body, [body.id_number], config), MemberRead)) is not None:
        return earlier
    values = {**body.model_dump(), "id_number": body.id_number.get_secret_value() if body.id_number else None}
    member = await members.add_member(
        session, household, values, actor=actor.subject, vault=config.vault, now=now, today=today
    )
    return idem.remember(member_read(member))


@router.patch("/members/{member_id}")
async def change_member(
    household_id: UUID,
    member_id: UUID,
    body: MemberUpdate,
    session: Transaction,
    actor: Registrar,
    config: Config,
    now: Now,
    today: Today,
) -> MemberRead:
    """Change a member's facts (disability, schooling, medical cover...)

    Only the fields sent change; `null` clears an optional fact. The facts after the change must agree (a
    disability's type, grade and date together; a subsidised premium with insurance), else 422. Publishes
    `MemberUpdated` naming the fields, the events of the facts changed (a dropout of school age and lost cover
    are also problems for audit), and a relapse-risk flag for a newly certified disability.
    """
    household = await reachable_household(session, household_id, actor, for_update=True)
    member = await idnumbers.member_of(session, household, member_id)
    await members.change_member(
        session, household, member, _values(body), actor=actor.subject, vault=config.vault, now=now, today=today
    )
    return member_read(member)


@router.post("/members/{member_id}/death", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def record_death(
    household_id: UUID,
    member_id: UUID,
    body: MemberDeath,
    session: Transaction,
    actor: DeathRegistrar,
    now: Now,
    today: Today,
    idem: Idempotency,
) -> MemberDeathRead:
    """Record a member's death (死亡注销)

    The member is kept in the register, marked dead from `died_on`: they no longer count in the household's
    per-capita income, its exit assessment or its gaps. Publishes `MemberDied` (subsidies ends what was paid for
    them). Civil affairs (`dept_civil_affairs`) may report deaths as well as the registrars; the answer holds only
    the death, not the member. A date after today or before the member's birth is a 422; a member whose death is
    already recorded is a 409; neither changes anything.
    """
    household = await reachable_household(session, household_id, actor, for_update=True)
    if (earlier := await idem.replay(body, MemberDeathRead)) is not None:
        return earlier
    member = await idnumbers.member_of(session, household, member_id)
    await deaths.record_death(
        session,
        household,
        member,
        died_on=body.died_on,
        source=body.source,
        actor=actor.subject,
        now=now,
        today=today,
    )
    recorded = MemberDeathRead(household_id=household.id, member_id=member.id, died_on=body.died_on, source=body.source)
    return idem.remember(recorded)


@router.post("/members/{member_id}/id-number/reveal")
async def reveal_id_number(
    household_id: UUID,
    member_id: UUID,
    body: RevealRequest,
    session: Transaction,
    actor: Revealer,
    config: Config,
    now: Now,
    response: Response,
) -> RevealRead:
    """Reveal a member's full ID-card number (查看身份证号留痕)

    Who asked and why is recorded in the reveal log and the history, and published as `IdCardRevealed` (without
    the number). The answer is not to be cached (`Cache-Control: no-store`).
    """
    household = await reachable_household(session, household_id, actor)
    member = await idnumbers.member_of(session, household, member_id)
    entry, number = idnumbers.reveal(
        session, household, member, reason=body.reason, actor=actor.subject, vault=config.vault, now=now
    )
    response.headers["Cache-Control"] = "no-store"
    return RevealRead(reveal_id=entry.id, member_id=member.id, id_number=number)


@router.get("/id-number-reveals")
async def reveal_log(household_id: UUID, session: Reading, actor: RevealAuditor, paging: Paging) -> Page[RevealLogRead]:
    """List who saw the household's ID-card numbers, when and why

    Oldest first: each entry names the member, who saw the number, when, and the reason they gave; the numbers
    themselves never appear.
    """
    household = await reachable_household(session, household_id, actor)
    after = paging.after(datetime_key, uuid_key)
    rows = await idnumbers.reveal_log(session, household, after=after, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda r: [r.revealed_at.isoformat(), str(r.id)])
    return Page(items=[RevealLogRead(**r.model_dump()) for r in items], next_cursor=next_cursor)
