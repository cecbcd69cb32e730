"""Routes for the power-holder register (有审批权或评议权的人员) and their close relatives (近亲属), checked against
the beneficiaries for conflicts of interest (优亲厚友). ID-card numbers come in bodies only, are kept as keyed
hashes and never answered."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.households.api.deps import Approver, AreaFilter, Config, IntegrityReader, numbered
from services.households.domain import power_holders
from services.households.domain.power_holders import HolderFacts
from services.households.models import PowerHolder, PowerHolderRelative
from services.households.rules.integrity import PowerRole, RelativeKind
from services.households.schemas.power_holders import (
    Ending,
    PowerHolderCreate,
    PowerHolderDetail,
    PowerHolderRead,
    RelativeCreate,
    RelativeRead,
)
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, text_key, uuid_key
from shared.http import Reading, Transaction

router = APIRouter(prefix="/power-holders", tags=["power holders"])


def holder_read(holder: PowerHolder, ties: list[str]) -> PowerHolderRead:
    return PowerHolderRead(
        **holder.model_dump(exclude={"id_hash", "role"}),
        role=PowerRole(holder.role),
        id_number_given=holder.id_hash is not None,
        live_relatives=len(ties),
        relationships=[RelativeKind(t) for t in ties],
    )


def relative_read(relative: PowerHolderRelative) -> RelativeRead:
    return RelativeRead(**relative.model_dump(exclude={"id_hash"}))


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def register_power_holder(
    body: PowerHolderCreate,
    session: Transaction,
    actor: Approver,
    config: Config,
    now: Now,
    today: Today,
    idem: Idempotency,
) -> PowerHolderRead:
    """Register a person with power over benefits (有审批权或评议权的人员)

    A village or township cadre, a helper cadre or an officer who approves, by login, of an area of the district
    within the caller's. Their ID-card number, if given, is kept only as a keyed hash (never answered) and checked
    at once: a registered beneficiary holding it is a severe `holder_beneficiary` problem, and a list they approved
    that paid that household an `approval_of_relative` one. A login already registered is a 409; an invalid number
    a 422 (`body.id_number`).
    """
    request = numbered(body, [body.id_number], config)
    if (earlier := await idem.replay(request, PowerHolderRead)) is not None:
        return earlier
    facts = HolderFacts(body.person_id, body.name, body.post, body.role, body.area_code)
    number = body.id_number.get_secret_value() if body.id_number else None
    holder = await power_holders.register_holder(
        session, facts, number, actor=actor, config=config, now=now, today=today
    )
    return idem.remember(holder_read(holder, []))


@router.get("")
async def list_power_holders(
    session: Reading, actor: IntegrityReader, area_code: AreaFilter, paging: Paging
) -> Page[PowerHolderRead]:
    """List the power holders of an area

    The area asked for (default: the caller's own when scoped, else the district), in name order, each with the
    kinds of tie of their live relatives.
    """
    scope = area_code or actor.area or ""
    if actor.is_area_scoped:
        actor.ensure_reach(scope)
    rows = await power_holders.holders_in(
        session, scope, after=paging.after(text_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda h: [h.name, str(h.id)])
    ties = await power_holders.live_ties(session, [h.id for h in items])
    return Page(items=[holder_read(h, ties.get(h.id, [])) for h in items], next_cursor=next_cursor)


@router.get("/{holder_id}")
async def get_power_holder(holder_id: UUID, session: Reading, actor: IntegrityReader) -> PowerHolderDetail:
    """Read a power holder and their relatives

    Every relative recorded, ended ones included, by the kind of tie: never a number or its hash.
    """
    holder = await power_holders.reachable_holder(session, holder_id, actor)
    ties = await power_holders.live_ties(session, [holder.id])
    relatives = [relative_read(r) for r in await power_holders.relatives(session, holder)]
    return PowerHolderDetail(**holder_read(holder, ties.get(holder.id, [])).model_dump(), relatives=relatives)


@router.post("/{holder_id}/end")
async def end_power_holder(
    holder_id: UUID, body: Ending, session: Transaction, actor: Approver, today: Today
) -> PowerHolderRead:
    """End a power holder's post (离任)

    From then on their relatives no longer hit as beneficiaries (a list they approve is still judged). The day is
    not after today (422); ending twice is a 409.
    """
    holder = await power_holders.reachable_holder(session, holder_id, actor)
    power_holders.end(holder, body.ended_on, today=today)
    ties = await power_holders.live_ties(session, [holder.id])
    return holder_read(holder, ties.get(holder.id, []))


@router.post("/{holder_id}/relatives", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def add_relative(
    holder_id: UUID,
    body: RelativeCreate,
    session: Transaction,
    actor: Approver,
    config: Config,
    now: Now,
    today: Today,
    idem: Idempotency,
) -> RelativeRead:
    """Record a close relative (近亲属) of a power holder

    Known only by the keyed hash of their ID-card number (never answered) and checked at once: a registered
    beneficiary holding it is a severe `relative_beneficiary` problem, and a list the holder approved that paid that
    household an `approval_of_relative` one. The same relative twice, a holder whose post has ended, or more than
    50 relatives is a 409; an invalid number, or the holder's own, a 422 (`body.id_number`).
    """
    request = numbered(body, [body.id_number], config)
    if (earlier := await idem.replay(request, RelativeRead)) is not None:
        return earlier
    holder = await power_holders.reachable_holder(session, holder_id, actor)
    number = body.id_number.get_secret_value()
    relative = await power_holders.add_relative(
        session, holder, body.relationship, number, actor=actor.subject, config=config, now=now, today=today
    )
    return idem.remember(relative_read(relative))


@router.post("/{holder_id}/relatives/{relative_id}/end")
async def end_relative(
    holder_id: UUID, relative_id: UUID, body: Ending, session: Transaction, actor: Approver, today: Today
) -> RelativeRead:
    """End a relative's tie (关系解除, e.g. a divorce)

    From then on the relative no longer hits. The day is not after today (422); ending twice is a 409.
    """
    holder = await power_holders.reachable_holder(session, holder_id, actor)
    relative = await power_holders.relative_of(session, holder, relative_id)
    power_holders.end(relative, body.ended_on, today=today)
    return relative_read(relative)
