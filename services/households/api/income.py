"""Routes for income records, the per-capita figure against the line, and the poverty line per year."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, status

from services.households.api.deps import HOUSEHOLD_REACH, District, Helper, Reader
from services.households.domain import assessment, income, transfers
from services.households.domain.access import reachable_household
from services.households.rules.guarantees import members_counted_on, per_capita_fen
from services.households.rules.vocabulary import TransferKind
from services.households.schemas.common import Year
from services.households.schemas.guarantees import (
    IncomeRecordCreate,
    IncomeRecorded,
    IncomeRecordRead,
    IncomeSummary,
    PovertyLineRead,
    PovertyLineSet,
    TransferReceiptRead,
)
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, int_key, uuid_key
from shared.http import Reading, Transaction
from shared.openapi import AREA_RULE_KEY

router = APIRouter(tags=["income"])


@router.put("/poverty-lines/{year}")
async def set_poverty_line(
    year: Annotated[Year, Path()],
    body: PovertyLineSet,
    session: Transaction,
    actor: District,
    now: Now,
    today: Today,
) -> PovertyLineRead:
    """Set a year's poverty line and monitoring margin (贫困线, 监测线)

    Per person per year, integer fen (the 2020 report's 4,500 yuan is `450000`); setting a year again corrects
    it. Publishes `PovertyLineSet`. For this year, every exited or monitored household whose per-capita income
    is now under line + margin is flagged for relapse risk.
    """
    line = await income.set_poverty_line(
        session,
        year=year,
        line_fen=body.line_fen,
        margin_fen=body.monitoring_margin_fen,
        actor=actor.subject,
        now=now,
        today=today,
    )
    return PovertyLineRead(**line.model_dump())


@router.get(
    "/poverty-lines",
    openapi_extra={
        AREA_RULE_KEY: "**Area rule:** none: the poverty lines are the district's, the same for every area, and "
        "every role allowed reads all of them, whatever the token's `area`."
    },
)
async def list_poverty_lines(session: Reading, _: Reader, paging: Paging) -> Page[PovertyLineRead]:
    """List the poverty lines set, per year

    In year order, each with its monitoring margin and who set it when.
    """
    after = paging.after(int_key)
    rows = await income.poverty_lines(session, after_year=after[0] if after else None, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda line: [line.year])
    return Page(items=[PovertyLineRead(**line.model_dump()) for line in items], next_cursor=next_cursor)


@router.post(
    "/households/{household_id}/income-records",
    status_code=status.HTTP_201_CREATED,
    responses=REPLAY_RESPONSE,
    openapi_extra=HOUSEHOLD_REACH,
)
async def record_income(
    household_id: UUID,
    body: IncomeRecordCreate,
    session: Transaction,
    actor: Helper,
    now: Now,
    today: Today,
    idem: Idempotency,
) -> IncomeRecorded:
    """Record household income (家庭收入) for a year and source

    Answers the record and the year's per-capita income after it. Publishes `IncomeRecorded`; an exited or
    monitored household now under the year's line + margin is flagged for relapse risk. A household holds at most
    100 records per year: one more is a 409, recording nothing.
    """
    household = await reachable_household(session, household_id, actor, for_update=True)
    if (earlier := await idem.replay(body, IncomeRecorded)) is not None:
        return earlier
    record, per_capita = await income.record_income(
        session,
        household,
        year=body.year,
        source=body.source,
        amount_fen=body.amount_fen,
        note=body.note,
        actor=actor.subject,
        now=now,
        today=today,
    )
    recorded = IncomeRecorded(record=IncomeRecordRead(**record.model_dump()), per_capita_income_fen=per_capita)
    return idem.remember(recorded)


@router.get("/households/{household_id}/income", openapi_extra=HOUSEHOLD_REACH)
async def income_summary(
    household_id: UUID,
    session: Reading,
    actor: Reader,
    today: Today,
    year: Annotated[Year | None, Query()] = None,
) -> IncomeSummary:
    """Summarise the household's income for a year (人均收入)

    For a year (default this year): the total and its parts (the records officers entered, subsidies paid as
    transfer income, project-income shares as asset income, public-welfare posts' allowances and workshops' wages
    as wage income), the per-capita income (total ÷ the members alive at
    the year's end or today, rounded down), how it compares with the year's line and monitoring threshold, and the
    records entered.
    """
    household = await reachable_household(session, household_id, actor)
    year = year or today.year
    income_of = await assessment.income_of(session, household.id, year)
    members = len(await assessment.member_facts(session, household.id, on=members_counted_on(year, today)))
    per_capita = per_capita_fen(income_of.total_fen, members)
    line = await assessment.poverty_line(session, year)
    return IncomeSummary(
        year=year,
        total_fen=income_of.total_fen,
        recorded_income_fen=income_of.recorded_fen,
        transfer_income_fen=income_of.transfer_fen,
        asset_income_fen=income_of.asset_fen,
        wage_income_fen=income_of.wage_fen,
        member_count=members,
        per_capita_income_fen=per_capita,
        line_fen=line.line_fen if line else None,
        monitoring_margin_fen=line.margin_fen if line else None,
        below_line=per_capita < line.line_fen if line else None,
        below_monitoring_threshold=per_capita < line.monitoring_threshold_fen if line else None,
        records=[IncomeRecordRead(**r.model_dump()) for r in await income.income_records(session, household, year)],
    )


@router.get("/households/{household_id}/transfer-receipts", openapi_extra=HOUSEHOLD_REACH)
async def list_transfer_receipts(
    household_id: UUID,
    session: Reading,
    actor: Reader,
    paging: Paging,
    year: Annotated[Year | None, Query()] = None,
    kind: TransferKind | None = None,
) -> Page[TransferReceiptRead]:
    """List the money that reached the household from the other services (转移性收入, 资产收益, 工资性收入)

    Subsidies paid, project-income shares and posts' allowances as subsidies published them (`kind` subsidy,
    project_income, wage), and workshops' wages as projects recorded them (`wage`), in the order they arrived, each
    with the year whose income counts it and what it counts: a payment reversed or recovered counts what is left of
    it (usually nothing). Filters: `year`, `kind`.
    """
    household = await reachable_household(session, household_id, actor)
    after = paging.after(datetime_key, uuid_key)
    rows = await transfers.receipts_of(session, household.id, year=year, kind=kind, after=after, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda r: [r.received_at.isoformat(), str(r.receipt_id)])
    return Page(items=[TransferReceiptRead(**r.model_dump()) for r in items], next_cursor=next_cursor)
