"""Views for the district: open tasks by township/owner/unit, overdue tasks, rectification rates,
referrals and accountability by month."""

from __future__ import annotations

from fastapi import APIRouter

from services.audit.api.deps import CommissionReader, FindingFacets, From, Reader, To
from services.audit.domain import overviews
from services.audit.schemas.tasks import RectificationTaskRead
from services.audit.schemas.views import OpenTaskGroupRead, PeriodActivityRead, RectificationRateRead
from shared.api.clock import Now
from shared.api.pagination import Page, Paging, datetime_key, text_key, uuid_key
from shared.http import Reading

router = APIRouter(prefix="/views", tags=["views"])


@router.get("/open-tasks")
async def open_tasks(
    session: Reading,
    actor: Reader,
    now: Now,
    paging: Paging,
    facets: FindingFacets,
    group_by: overviews.GroupBy = "township",
) -> Page[OpenTaskGroupRead]:
    """Count the open rectification tasks (未销号整改任务) by township, owner or responsible unit

    Tasks not yet verified (open, in progress, submitted, reopened) within the caller's area: per group, how many,
    how many overdue, how many in each status; optionally of findings in an area (`area_code`, a prefix; outside a
    township office's own, 403), of a category or severity, of a responsible person or a campaign. Pages run in
    group key order (tasks without a responsible unit count under `-`); each page is counted anew, so counts on two
    pages may be from different moments.
    """
    groups = await overviews.open_task_summary(
        session,
        actor,
        group_by=group_by,
        facets=facets,
        now=now,
        after=paging.after(text_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(groups, lambda g: [g.key])
    return Page(items=[OpenTaskGroupRead.model_validate(g) for g in items], next_cursor=next_cursor)


@router.get("/overdue-tasks")
async def overdue_tasks(
    session: Reading, actor: Reader, now: Now, paging: Paging, facets: FindingFacets
) -> Page[RectificationTaskRead]:
    """List the overdue rectification tasks (逾期未整改), longest overdue first

    Tasks still with their owner (open, in progress, reopened) past their deadline, within the caller's area;
    optionally of findings in an area (`area_code`, a prefix; outside a township office's own, 403), of a category
    or severity, of a responsible person (`responsible_person_id`: whose overdue tasks) or a campaign.
    Pages run in (`deadline`, `id`) order: a task whose deadline is moved while paging moves in that order too.
    """
    rows = await overviews.overdue_tasks(
        session, actor, facets=facets, now=now, after=paging.after(datetime_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda t: [t.deadline.isoformat(), str(t.id)])
    return Page(items=[RectificationTaskRead.model_validate(t) for t in items], next_cursor=next_cursor)


@router.get("/rectification-rates")
async def rectification_rates(
    session: Reading, actor: Reader, paging: Paging, start: From, to: To, facets: FindingFacets
) -> Page[RectificationRateRead]:
    """Rectification rates (整改率) of a period's findings, by township and category

    Of the findings opened from `from` to `to` (district calendar, inclusive) within the caller's area: how many,
    how many closed, the rate (exact to four places) and the average days to close; optionally of findings in an
    area (`area_code`, a prefix; outside a township office's own, 403), of a category or severity, of a responsible
    person or a campaign. Pages run in (township, category) order.
    """
    rates = await overviews.rectification_rates(
        session,
        actor,
        facets=facets,
        start=start,
        end=to,
        after=paging.after(text_key, text_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rates, lambda r: [r.township, r.category])
    return Page(items=[RectificationRateRead.model_validate(r) for r in items], next_cursor=next_cursor)


@router.get("/referrals-and-accountability")
async def referrals_and_accountability(
    session: Reading, _: CommissionReader, paging: Paging, start: From, to: To, facets: FindingFacets
) -> Page[PeriodActivityRead]:
    """Count referrals (线索移交) by reason and accountability decisions (问责) by kind, month by month

    Referrals made and decisions dated from `from` to `to` (district calendar, inclusive), optionally on findings
    in an area (`area_code`, a prefix), of a category, a severity (a referral's as referred), a responsible person
    or a campaign; months with neither are left out. Pages run in month order (`2020-05`).
    """
    activity = await overviews.referrals_and_accountability(
        session, facets=facets, start=start, end=to, after=paging.after(text_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(activity, lambda a: [a.month])
    return Page(items=[PeriodActivityRead.model_validate(a) for a in items], next_cursor=next_cursor)
