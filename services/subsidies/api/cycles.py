"""Routes of cycles (发放周期): open, compute the list, post it for public notice (公示), submit, approve, close."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, status

from services.subsidies.api.deps import CycleApprover, CyclePreparer, CycleReader
from services.subsidies.domain import cycles
from services.subsidies.rules.periods import ANY_PERIOD_PATTERN
from services.subsidies.rules.vocabulary import CycleStatus
from services.subsidies.schemas.cycles import ApprovalRead, CycleCreate, CycleRead, NoticeCreate
from services.subsidies.settings import SubsidiesSettings
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.contracts.subsidies import PolicyCode
from shared.http import Reading, Transaction
from shared.openapi import AREA_RULE_KEY

router = APIRouter(prefix="/cycles", tags=["cycles"])
# A cycle is the district's: the generic area rule would not say what a township office sees of it.
CYCLE_REACH = {
    AREA_RULE_KEY: "**Area rule:** a `township_office` reads every cycle; of its entitlements, notice lines and "
    "objections only those of households within its token's area (`area` claim)."
}


def _notice_days(request: Request) -> int:
    settings: SubsidiesSettings = request.app.state.runtime.settings
    return settings.notice_days


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def open_cycle(
    body: CycleCreate, session: Transaction, actor: CyclePreparer, idem: Idempotency, today: Today, now: Now
) -> CycleRead:
    """Open a programme's cycle (发放周期) for a period: a draft whose entitlement list is computed next

    One cycle per programme and period. Refused: a programme not in the catalogue (422, `unknown_policy`); one paid
    from projects' approved distribution plans and payrolls, whose cycles are made approved when projects approves
    them (422, `decided_by_projects`); a
    period not written as the programme's frequency requires (422, `period_format`), one no version of the
    programme covers (422, `no_version_in_force`) or one that has not begun (422, `period_not_begun`); a second
    cycle of the programme for the period (409, `cycle_exists`).
    """
    if (earlier := await idem.replay(body, CycleRead)) is not None:
        return earlier
    cycle = await cycles.open_cycle(session, body, actor=actor, today=today, now=now)
    return idem.remember(CycleRead.model_validate(cycle))


@router.get("", openapi_extra=CYCLE_REACH)
async def list_cycles(
    session: Reading,
    actor: CycleReader,
    paging: Paging,
    programme_code: PolicyCode | None = None,
    period: Annotated[str | None, Query(pattern=ANY_PERIOD_PATTERN, description="YYYY-MM, YYYY-S1/S2 or YYYY")] = None,
    status: CycleStatus | None = None,
) -> Page[CycleRead]:
    """List cycles, the newest first, with their lists' counts

    Filter by programme, period and status. Pass `next_cursor` on for the next page.
    """
    rows = await cycles.list_cycles(
        session,
        programme_code=programme_code,
        period=period,
        status=status,
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda c: [c.created_at.isoformat(), str(c.id)])
    return Page(items=[CycleRead.model_validate(c) for c in items], next_cursor=next_cursor)


@router.get("/{cycle_id}", openapi_extra=CYCLE_REACH)
async def get_cycle(cycle_id: UUID, session: Reading, actor: CycleReader) -> CycleRead:
    """Read a cycle as it stands: its status, its list's counts, its notice window and who did each step

    Its entitlements are listed by `GET /v1/cycles/{cycle_id}/entitlements`.
    """
    return CycleRead.model_validate(await cycles.cycle_of(session, cycle_id))


@router.post("/{cycle_id}/compute")
async def compute_list(cycle_id: UUID, session: Transaction, actor: CyclePreparer, now: Now) -> CycleRead:
    """Compute the cycle's entitlement list (享受对象名单) from the facts, with an explained snapshot for each

    Every holder of the programme (each household, or each member, by the programme's unit) is judged by the rule
    of the version in force on the period's first day, on its facts as of that day; each one entitled is listed
    with the facts, the version, the amount and the rule condition by condition. May be done again until the
    list is submitted: a list on notice computed again goes back to `computed` and is posted again. A holder
    listed before keeps their entitlement's id, and one withdrawn by an upheld objection stays withdrawn.

    Refused: a cycle submitted or later (409, `cycle_state`); the programme's version no longer covering the
    period (422, `no_version_in_force`).
    """
    return CycleRead.model_validate(await cycles.compute(session, cycle_id, actor=actor, now=now))


@router.post("/{cycle_id}/notice")
async def post_notice(
    cycle_id: UUID, body: NoticeCreate, request: Request, session: Transaction, actor: CyclePreparer, today: Today
) -> CycleRead:
    """Post the computed list for public notice (公示), opening its objection window

    The villages post the list (`GET /v1/cycles/{cycle_id}/notice`: masked names and ID numbers) from
    `starts_on`; objections are recorded until `ends_on`. Refused: a cycle not `computed` (409, `cycle_state`); a
    window starting before today (422, `notice_in_past`) or shorter than `SUBSIDIES_NOTICE_DAYS` days, both ends
    included (422, `notice_too_short`); a list entitling nobody (422, `nothing_listed`).
    """
    cycle = await cycles.post_notice(
        session,
        cycle_id,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        today=today,
        notice_days=_notice_days(request),
    )
    return CycleRead.model_validate(cycle)


@router.post("/{cycle_id}/submit")
async def submit_cycle(cycle_id: UUID, session: Transaction, actor: CyclePreparer, today: Today, now: Now) -> CycleRead:
    """Submit the list for approval (提交审批) once its public notice has ended

    Refused: a cycle not on notice (409, `cycle_state`); before the day after the notice's last day (422,
    `notice_not_ended`); while an objection is undecided (422, `objection_undecided`, one error per objection) or
    one upheld for a household left out awaits the list computed again (422, `recompute_needed`).
    """
    return CycleRead.model_validate(await cycles.submit(session, cycle_id, actor=actor, today=today, now=now))


@router.post("/{cycle_id}/approve")
async def approve_cycle(cycle_id: UUID, session: Transaction, actor: CycleApprover, now: Now) -> ApprovalRead:
    """Approve a submitted list (审批), re-checking every entitlement, within the programme's funds

    Approved by someone who neither computed nor submitted the list. Every listed entitlement is first judged
    again on the facts known now, by the version in force for the period: one no longer entitled is withdrawn
    (the failed condition is its reason, `withdrawn_count`), and so is one whose holder was already paid the
    programme and period by hand (`paid by hand: payment <id>`: that money counts against the funds already), one
    whose amount changed is amended (`amended_count`). The list may then cost no more than the programme's funds
    left for the period's year.
    Publishes `CycleApproved`; disbursement batches may then be built.

    Refused: a cycle not submitted (409, `cycle_state`); the approver computed or submitted the list (403,
    `separation_of_duties`); the list costs more than the funds left (422, `insufficient_funds`, with `total_fen`
    and `available_fen`). Nothing is withdrawn when the approval is refused.
    """
    cycle, withdrawn, amended = await cycles.approve(session, cycle_id, actor=actor, now=now)
    return ApprovalRead.model_validate(
        {**CycleRead.model_validate(cycle).model_dump(), "withdrawn_count": withdrawn, "amended_count": amended}
    )


@router.post("/{cycle_id}/close")
async def close_cycle(cycle_id: UUID, session: Transaction, actor: CyclePreparer, now: Now) -> CycleRead:
    """Close a cycle (结束): paid or approved, with no bank line awaiting the bank's result

    What an approved cycle left unpaid stays unpaid in it. Refused: a cycle neither approved nor paid (409,
    `cycle_state`); a bank line of any of its batches still pending (409, `lines_pending`), in a paid cycle too (a
    follow-up of a line the bank returned).
    """
    return CycleRead.model_validate(await cycles.close(session, cycle_id, now=now))
