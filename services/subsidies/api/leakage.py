"""Routes of leakage checks (资金安全核查)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from services.subsidies.api.deps import LeakChecker
from services.subsidies.domain import leakage
from services.subsidies.schemas.leakage import LeakageCheckCreate, LeakageCheckRead, LeakRead
from services.subsidies.schemas.payments import AnyPeriod
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, text_key, uuid_key
from shared.areas import AreaCode
from shared.contracts.subsidies import LeakKind, PolicyCode
from shared.http import Reading, Transaction

router = APIRouter(prefix="/leakage-checks", tags=["leakage checks"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def check_leakage(
    body: LeakageCheckCreate, session: Transaction, actor: LeakChecker, idem: Idempotency, now: Now, today: Today
) -> LeakageCheckRead:
    """Check the payments of a period for leaks (资金安全核查): money that should not have been paid as it was

    Judges every paid payment of the period (of the programme named, or of every programme of the catalogue that
    paid for it) by the programme version in force on the period's first day and the holder's facts as of that day:
    `paid_not_entitled` (the rule did not hold, or no such holder), `wrong_amount` (entitled, but not the version's
    amount, per living member where it pays per member), `paid_after_death` (the member paid had died before the
    period), `paid_after_exit` (the household had exited without policies before it), `shared_account` (the account
    paid into is the active account of another household too), `holder_outside_household` (the account is in the
    name of no member of the household). A payment recorded by hand is judged like one paid by the bank. Each leak
    is kept once per payment and kind and published as `SubsidyLeakFound`, from which audit opens a finding (serious,
    severe for a shared account); a later check finds it again without repeating it. The leaks are listed by
    `GET /v1/leakage-checks/{id}/leaks`. Paid and closed cycles are also checked on a schedule (`scheduler`).

    Refused: a programme the catalogue does not hold (422, `unknown_policy`) or one paid from projects' approved
    plans and payrolls (422, `decided_by_projects`; unnamed, such programmes are not judged); no version in force
    on the period's first day (422, `no_version_in_force`); a period not written as the programme's frequency
    requires (422, `period_format`) or not begun (422, `period_not_begun`).
    """
    if (earlier := await idem.replay(body, LeakageCheckRead)) is not None:
        return earlier
    check = await leakage.check_leakage(
        session, policy_code=body.policy_code, period=body.period, checked_by=actor.subject, today=today, now=now
    )
    return idem.remember(LeakageCheckRead(**check.model_dump()))


@router.get("")
async def list_leakage_checks(
    session: Reading,
    actor: LeakChecker,
    paging: Paging,
    policy_code: PolicyCode | None = None,
    period: Annotated[AnyPeriod | None, Query()] = None,
) -> Page[LeakageCheckRead]:
    """List leakage checks (资金安全核查) as they were run, the newest first, with their counts

    Filter by programme or period; a check's leaks are listed by `GET /v1/leakage-checks/{id}/leaks`. Pass
    `next_cursor` on for the next page.
    """
    rows = await leakage.list_leakage_checks(
        session,
        policy_code=policy_code,
        period=period,
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda c: [c.checked_at.isoformat(), str(c.id)])
    return Page(items=[LeakageCheckRead(**c.model_dump()) for c in items], next_cursor=next_cursor)


@router.get("/{check_id}")
async def get_leakage_check(check_id: UUID, session: Reading, actor: LeakChecker) -> LeakageCheckRead:
    """Read a leakage check as it was run, with its counts (payments judged, leaks found first)

    Its leaks are listed by `GET /v1/leakage-checks/{check_id}/leaks`.
    """
    return LeakageCheckRead(**(await leakage.get_leakage_check(session, check_id)).model_dump())


@router.get("/{check_id}/leaks")
async def list_leaks(
    check_id: UUID,
    session: Reading,
    actor: LeakChecker,
    paging: Paging,
    kind: LeakKind | None = None,
    area_code: Annotated[AreaCode | None, Query(description="a township or village: the leaks within it")] = None,
) -> Page[LeakRead]:
    """List the leaks a leakage check found first (资金安全问题): payments that should not have been made as they were

    By household id, payment id, then kind: the order never changes, since a check's leaks do not. Filter by kind or
    area (the household's area when paid). Pass `next_cursor` on for the next page.
    """
    rows = await leakage.list_leaks(
        session,
        check_id,
        kind=kind,
        area_code=area_code,
        after=paging.after(uuid_key, uuid_key, text_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda leak: [str(part) for part in leakage.leak_key(leak)])
    return Page(items=[LeakRead(**leak.model_dump()) for leak in items], next_cursor=next_cursor)
