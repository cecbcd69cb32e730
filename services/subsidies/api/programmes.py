"""Routes of the programme catalogue (政策目录): programmes, their versions (standards) and their funds."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.subsidies.api.deps import CatalogueKeeper, CatalogueReader
from services.subsidies.domain import catalogue
from services.subsidies.models import Programme, ProgrammeVersion
from services.subsidies.rules.vocabulary import Frequency, ProgrammeUnit
from services.subsidies.schemas.programmes import (
    NEWEST_VERSIONS,
    FundCreate,
    FundPosition,
    FundRead,
    ProgrammeCreate,
    ProgrammeDetail,
    ProgrammeRead,
    VersionCreate,
    VersionRead,
)
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, int_key, text_key
from shared.contracts.subsidies import PolicyCode
from shared.http import Reading, Transaction
from shared.openapi import AREA_RULE_KEY
from shared.timeutil import CALENDAR_YEARS

router = APIRouter(prefix="/programmes", tags=["programmes"])

# The catalogue is the district's: a township officer reads all of it, as everyone else does.
DISTRICT_WIDE = {AREA_RULE_KEY: "**Area rule:** none: the catalogue is the district's, read whole by every reader."}
Year = Annotated[int, Query(ge=CALENDAR_YEARS.start, le=CALENDAR_YEARS.stop - 1, description="the funds' year")]


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def create_programme(
    body: ProgrammeCreate, session: Transaction, actor: CatalogueKeeper, idem: Idempotency, now: Now, today: Today
) -> ProgrammeDetail:
    """Enter a programme in the catalogue with its first standard (政策目录)

    The programme's code (a `PolicyCode`), name, unit (per household or per member), frequency and funding source,
    and its first version: the day it takes effect, the amount, whether a household's amount is per living member,
    the eligibility rule and the reason. An optional `Idempotency-Key` makes a retry safe.

    Refused: a programme already in the catalogue (409); an invalid rule (422, one error per condition naming
    `body.rule.<i>`: `unknown_fact`, `unknown_op`, `op_not_allowed`, `value_type`, `unknown_value`, `member_fact`,
    `condition_format`; an empty rule, `no_fact_source`); a per-member amount in a member programme (422,
    `per_member_unit`).
    """
    if (earlier := await idem.replay(body, ProgrammeDetail)) is not None:
        return earlier
    programme, version = await catalogue.create_programme(session, body, actor=actor, now=now)
    in_force = version if version.effective_from <= today else None
    return idem.remember(_detail(programme, in_force, [version]))


@router.get("", openapi_extra=DISTRICT_WIDE)
async def list_programmes(
    session: Reading,
    _: CatalogueReader,
    paging: Paging,
    today: Today,
    unit: ProgrammeUnit | None = None,
    frequency: Frequency | None = None,
) -> Page[ProgrammeRead]:
    """List the programmes of the catalogue (政策目录) by code, each with the version in force today

    Filter by unit or frequency. Pass `next_cursor` on for the next page.
    """
    rows = await catalogue.list_programmes(
        session, unit=unit, frequency=frequency, after=paging.after(text_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda p: [p.code])
    in_force = await catalogue.versions_in_force(session, [p.code for p in items], today)
    return Page(items=[_read(p, in_force.get(p.code)) for p in items], next_cursor=next_cursor)


@router.get("/{code}", openapi_extra=DISTRICT_WIDE)
async def get_programme(code: PolicyCode, session: Reading, _: CatalogueReader, today: Today) -> ProgrammeDetail:
    """Read a programme of the catalogue with its change history (its versions, the newest first)

    Each version says who set it, when and why; the newest are shown here, and every one is listed by
    `GET /v1/programmes/{code}/versions`. Refused: a code not in the catalogue (404).
    """
    return await _programme_detail(session, code, today)


@router.get("/{code}/versions", openapi_extra=DISTRICT_WIDE)
async def list_versions(code: PolicyCode, session: Reading, _: CatalogueReader, paging: Paging) -> Page[VersionRead]:
    """List a programme's versions (its standards over time), the newest first

    The change history: each version's amount, rule, the day it took effect, who set it, when and why. Pass
    `next_cursor` on for the next page. Refused: a code not in the catalogue (404).
    """
    rows = await catalogue.list_versions(session, code, after=paging.after(int_key), limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda v: [v.version])
    return Page(items=[VersionRead(**v.model_dump()) for v in items], next_cursor=next_cursor)


@router.post("/{code}/versions", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def add_version(
    code: PolicyCode, body: VersionCreate, session: Transaction, actor: CatalogueKeeper, idem: Idempotency, now: Now
) -> VersionRead:
    """Set a new standard of a programme from a day (a new version)

    The amount, per-member flag, eligibility rule and reason of the programme from `effective_from`; the versions
    before it stay as they were, and cycles and payments keep naming the version they used. An optional
    `Idempotency-Key` makes a retry safe.

    Refused: a code not in the catalogue (404); a programme paid from projects' approved plans and payrolls, which
    has no standard here (409, `decided_by_projects`); `effective_from` not after the latest version's (422,
    `not_after_latest_version`); `effective_from` on or before the first day of a cycle of the programme approved,
    paid or closed, whose money was committed by the standard then in force (422, `cycle_already_approved`, naming
    the latest such cycle in `cycle_id`); an invalid rule or per-member flag (422, as when entering a programme);
    another version added at the same moment (409).
    """
    if (earlier := await idem.replay(body, VersionRead)) is not None:
        return earlier
    version = await catalogue.add_version(session, code, body, actor=actor, now=now)
    return idem.remember(VersionRead(**version.model_dump()))


@router.post("/{code}/funds", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def record_fund(
    code: PolicyCode, body: FundCreate, session: Transaction, actor: CatalogueKeeper, idem: Idempotency, now: Now
) -> FundRead:
    """Record money allocated to a programme for a year (资金下达)

    A cycle of the programme cannot be approved over what is left of its year's allocations. An optional
    `Idempotency-Key` makes a retry safe. Refused: a code not in the catalogue (404).
    """
    if (earlier := await idem.replay(body, FundRead)) is not None:
        return earlier
    fund = await catalogue.record_fund(session, code, body, actor=actor, now=now)
    return idem.remember(FundRead(**fund.model_dump()))


@router.get("/{code}/funds", openapi_extra=DISTRICT_WIDE)
async def get_fund_position(code: PolicyCode, year: Year, session: Reading, _: CatalogueReader) -> FundPosition:
    """Read a programme's funds for a year: allocated, committed by approved cycles and paid by hand, available

    Committed are the totals of the programme's cycles of that year approved, paid or closed, and the payments of
    the programme for that year's periods recorded by hand (`POST /v1/payments`) and still paid. Refused: a code
    not in the catalogue (404).
    """
    await catalogue.get_programme(session, code)
    funds = await catalogue.fund_position(session, code, year)
    return FundPosition(
        programme_code=code,
        year=year,
        allocated_fen=funds.allocated_fen,
        committed_fen=funds.committed_fen,
        by_hand_fen=funds.by_hand_fen,
        available_fen=funds.available_fen,
    )


async def _programme_detail(session: AsyncSession, code: str, today: date) -> ProgrammeDetail:
    programme = await catalogue.get_programme(session, code)
    versions = await catalogue.list_versions(session, code, after=None, limit=NEWEST_VERSIONS)
    return _detail(programme, await catalogue.version_on(session, code, today), versions)


def _detail(
    programme: Programme, in_force: ProgrammeVersion | None, versions: list[ProgrammeVersion]
) -> ProgrammeDetail:
    return ProgrammeDetail(
        **_read(programme, in_force).model_dump(), versions=[VersionRead(**v.model_dump()) for v in versions]
    )


def _read(programme: Programme, in_force: ProgrammeVersion | None) -> ProgrammeRead:
    version = None if in_force is None else VersionRead(**in_force.model_dump())
    return ProgrammeRead(**programme.model_dump(), in_force=version)
