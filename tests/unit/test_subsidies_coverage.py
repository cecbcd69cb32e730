"""Coverage checks (政策落实覆盖核查): entitlements kept from households' events, unpaid ones found and published."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col

from services.subsidies.models import CoverageCheck, CoverageGap, Entitlement
from services.subsidies.rules.coverage import Entitled, find_gaps
from services.subsidies.rules.entitlements import (
    allowance_entitlements,
    disability_entitlements,
    monitoring_entitlements,
    schooling_entitlements,
)
from shared.contracts.households import (
    EpisodeDecision,
    HouseholdRegistered,
    MemberDisabilityRecorded,
    MemberSchoolingChanged,
    MinimumAllowance,
    MinimumAllowanceChanged,
    MonitoringEpisodeClosed,
    RiskFlagRaised,
    RiskKind,
)
from shared.db import create_engine
from shared.errors import NotFound
from shared.messaging.outbox import OutboxMessage
from shared.timeutil import district_today
from tests.support import apply_event, assert_problem, auth, migrate_over, running_app

TOWNSHIP, OTHER_TOWNSHIP = "371523101", "371523105"
HOUSEHOLD_A, HOUSEHOLD_B, HOUSEHOLD_C, HOUSEHOLD_FAR = (UUID(int=n) for n in (1, 2, 3, 4))
MEMBER_1, MEMBER_2 = UUID(int=11), UUID(int=12)
EPISODE = UUID(int=21)
CLOSED_ON = date(2020, 9, 1)
THIS_MONTH = district_today().strftime("%Y-%m")
AREAS = {
    HOUSEHOLD_A: f"{TOWNSHIP}201",
    HOUSEHOLD_B: f"{TOWNSHIP}202",
    HOUSEHOLD_C: f"{TOWNSHIP}201",
    HOUSEHOLD_FAR: f"{OTHER_TOWNSHIP}203",
}
FINANCE = auth("finance_officer", sub="cashier-1")
INSPECTOR = auth("inspector", sub="inspector-3")
UNKNOWN = "6f1d1bb0-0000-4000-8000-000000000000"


# --- the rules, without a database -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "policies"),
    [
        (MinimumAllowance.DIBAO, {"dibao"}),
        (MinimumAllowance.EXTREME_POVERTY, {"extreme_poverty_support"}),
        (MinimumAllowance.NONE, set()),
    ],
)
def test_the_allowance_status_decides_the_household_policy(status: MinimumAllowance, policies: set[str]) -> None:
    assert allowance_entitlements(status) == policies


@pytest.mark.parametrize(
    ("grade", "policies"),
    [
        (1, {"disability_living_subsidy", "disability_nursing_subsidy"}),
        (2, {"disability_living_subsidy", "disability_nursing_subsidy"}),
        (3, {"disability_living_subsidy"}),
        (4, {"disability_living_subsidy"}),
    ],
)
def test_every_disabled_member_gets_the_living_subsidy_and_the_severely_disabled_nursing(
    grade: int, policies: set[str]
) -> None:
    assert disability_entitlements(grade) == policies


@pytest.mark.parametrize(
    ("enrolment", "policies"), [("enrolled", {"education_aid"}), ("dropped_out", set()), ("exempt", set())]
)
def test_only_an_enrolled_member_gets_education_aid(enrolment: str, policies: set[str]) -> None:
    assert schooling_entitlements(enrolment) == policies


def test_a_payment_to_the_household_covers_it_and_each_of_its_members() -> None:
    entitled = [
        Entitled(HOUSEHOLD_C, MEMBER_2, "c"),
        Entitled(HOUSEHOLD_A, MEMBER_1, "a"),
        Entitled(HOUSEHOLD_B, None, "b"),
        Entitled(HOUSEHOLD_C, MEMBER_1, "c"),
    ]
    assert find_gaps(entitled, {HOUSEHOLD_A}) == [
        Entitled(HOUSEHOLD_B, None, "b"),
        Entitled(HOUSEHOLD_C, MEMBER_1, "c"),
        Entitled(HOUSEHOLD_C, MEMBER_2, "c"),
    ]
    assert find_gaps(entitled, {HOUSEHOLD_A, HOUSEHOLD_B, HOUSEHOLD_C}) == []
    assert find_gaps([], {HOUSEHOLD_A}) == []


# --- entitlements kept from households' events --------------------------------------------------------------


def _allowance(household_id: UUID, status: MinimumAllowance) -> MinimumAllowanceChanged:
    return MinimumAllowanceChanged(household_id=household_id, status=status, effective_on=date(2020, 1, 1))


def _disability(household_id: UUID, member_id: UUID, grade: int) -> MemberDisabilityRecorded:
    return MemberDisabilityRecorded(
        household_id=household_id,
        member_id=member_id,
        disability_type="physical",
        grade=grade,
        certified_on=date(2019, 6, 1),
    )


def _schooling(household_id: UUID, member_id: UUID, enrolment: str) -> MemberSchoolingChanged:
    return MemberSchoolingChanged(
        household_id=household_id, member_id=member_id, enrolment=enrolment, school_stage="primary"
    )


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, client):
        for household_id, area_code in AREAS.items():
            registered = HouseholdRegistered(
                household_id=household_id, household_code=f"CP-{household_id.int}", area_code=area_code, member_count=3
            )
            await apply_event(app, registered)
        yield app, client


async def _entitlements(app: Any) -> set[tuple[UUID, UUID | None, str]]:
    """The entitlements held now (not ended)."""
    async with app.state.sessions() as s:
        rows = (await s.scalars(select(Entitlement).where(col(Entitlement.ends_on).is_(None)))).all()
    return {(e.household_id, e.member_id, e.policy_code) for e in rows}


async def _count(app: Any, model: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)))


async def _outbox(app: Any) -> list[dict[str, Any]]:
    async with app.state.sessions() as s:
        rows = (await s.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    return [{"type": m.event_type, "key": m.key, "source": m.source, **json.loads(m.payload)} for m in rows]


async def test_the_allowance_status_is_kept_as_the_household_entitlement(api: Any) -> None:
    app, _ = api
    for _ in range(2):  # the second time re-sent under a new event id
        await apply_event(app, _allowance(HOUSEHOLD_A, MinimumAllowance.DIBAO))
    assert await _entitlements(app) == {(HOUSEHOLD_A, None, "dibao")}
    await apply_event(app, _allowance(HOUSEHOLD_A, MinimumAllowance.EXTREME_POVERTY))
    assert await _entitlements(app) == {(HOUSEHOLD_A, None, "extreme_poverty_support")}
    await apply_event(app, _allowance(HOUSEHOLD_A, MinimumAllowance.NONE))
    assert await _entitlements(app) == set()


def _flag(household_id: UUID, kind: RiskKind) -> RiskFlagRaised:
    return RiskFlagRaised(
        household_id=household_id,
        flag_id=uuid4(),
        episode_id=EPISODE,
        area_code=AREAS[household_id],
        kind=kind,
        raised_on=date(2020, 6, 1),
    )


@pytest.mark.parametrize(
    ("kind", "policies"),
    [
        (RiskKind.LARGE_MEDICAL_EXPENSE, {"temporary_assistance", "medical_aid"}),
        (RiskKind.JOB_LOSS, {"temporary_assistance"}),
        (RiskKind.INCOME_BELOW_MARGIN, {"temporary_assistance"}),
    ],
)
def test_a_relapse_risk_flag_entitles_the_household_to_prompt_help(kind: RiskKind, policies: set[str]) -> None:
    assert monitoring_entitlements(kind) == policies


async def test_monitoring_help_lasts_while_the_episode_is_open_and_each_flag_adds_its_own(api: Any) -> None:
    app, _ = api
    await apply_event(app, _allowance(HOUSEHOLD_A, MinimumAllowance.DIBAO))
    for _ in range(2):  # the second time re-sent under a new event id
        await apply_event(app, _flag(HOUSEHOLD_A, RiskKind.JOB_LOSS))
    assert await _entitlements(app) == {(HOUSEHOLD_A, None, "dibao"), (HOUSEHOLD_A, None, "temporary_assistance")}
    await apply_event(app, _flag(HOUSEHOLD_A, RiskKind.LARGE_MEDICAL_EXPENSE))
    await apply_event(app, _flag(HOUSEHOLD_A, RiskKind.DISASTER))  # takes nothing away
    assert await _entitlements(app) == {
        (HOUSEHOLD_A, None, "dibao"),
        (HOUSEHOLD_A, None, "temporary_assistance"),
        (HOUSEHOLD_A, None, "medical_aid"),
    }
    closed = MonitoringEpisodeClosed(
        household_id=HOUSEHOLD_A, episode_id=EPISODE, decision=EpisodeDecision.RISK_ELIMINATED, closed_on=CLOSED_ON
    )
    await apply_event(app, closed)
    assert await _entitlements(app) == {(HOUSEHOLD_A, None, "dibao")}  # 低保 is civil affairs' to end


async def test_a_disability_grade_keeps_the_member_subsidies_and_a_new_grade_replaces_them(api: Any) -> None:
    app, _ = api
    for _ in range(2):
        await apply_event(app, _disability(HOUSEHOLD_A, MEMBER_1, 2))
    both = {(HOUSEHOLD_A, MEMBER_1, "disability_living_subsidy"), (HOUSEHOLD_A, MEMBER_1, "disability_nursing_subsidy")}
    assert await _entitlements(app) == both
    await apply_event(app, _disability(HOUSEHOLD_A, MEMBER_2, 4))
    await apply_event(app, _disability(HOUSEHOLD_A, MEMBER_1, 3))  # re-assessed: no longer severe
    assert await _entitlements(app) == {
        (HOUSEHOLD_A, MEMBER_1, "disability_living_subsidy"),
        (HOUSEHOLD_A, MEMBER_2, "disability_living_subsidy"),
    }


async def test_enrolment_keeps_education_aid_and_dropping_out_removes_it(api: Any) -> None:
    app, _ = api
    await apply_event(app, _allowance(HOUSEHOLD_A, MinimumAllowance.DIBAO))
    for _ in range(2):
        await apply_event(app, _schooling(HOUSEHOLD_A, MEMBER_1, "enrolled"))
    assert await _entitlements(app) == {(HOUSEHOLD_A, None, "dibao"), (HOUSEHOLD_A, MEMBER_1, "education_aid")}
    await apply_event(app, _schooling(HOUSEHOLD_A, MEMBER_1, "dropped_out"))
    assert await _entitlements(app) == {(HOUSEHOLD_A, None, "dibao")}  # other facts' entitlements stay


@pytest.mark.parametrize(
    "event",
    [
        _allowance(UUID(UNKNOWN), MinimumAllowance.DIBAO),
        _disability(UUID(UNKNOWN), MEMBER_1, 1),
        _schooling(UUID(UNKNOWN), MEMBER_1, "enrolled"),
    ],
)
async def test_entitlements_of_a_household_never_registered_fail_loudly(api: Any, event: Any) -> None:
    app, _ = api
    with pytest.raises(NotFound):
        await apply_event(app, event)
    assert await _entitlements(app) == set()


# --- the check ---------------------------------------------------------------------------------------------


def _check(**changes: Any) -> dict[str, Any]:
    return {"policy_code": "dibao", "period": "2020-06", "area_code": TOWNSHIP, **changes}


async def _pay(client: Any, household_id: UUID, policy_code: str = "dibao", period: str = "2020-06") -> None:
    body = {
        "household_id": str(household_id),
        "policy_code": policy_code,
        "period": period,
        "amount_fen": 52_000,
    }
    key = {**FINANCE, "Idempotency-Key": f"{household_id}-{policy_code}-{period}"}
    r = await client.post("/v1/payments", json=body, headers=key)
    assert r.status_code == 201, r.text


async def _gaps(client: Any, check: dict[str, Any], headers: dict[str, str] = FINANCE) -> list[dict[str, Any]]:
    """Every gap of a check, read a page at a time (two gaps a page) from its gaps' list."""
    gaps: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(f"/v1/coverage-checks/{check['id']}/gaps", params=params, headers=headers)
        assert r.status_code == 200, r.text
        gaps, cursor = gaps + r.json()["items"], r.json()["next_cursor"]
        if cursor is None:
            return gaps


async def _entitle_to_dibao(app: Any, *households: UUID) -> None:
    for household_id in households:
        await apply_event(app, _allowance(household_id, MinimumAllowance.DIBAO))


async def test_a_check_finds_exactly_the_unpaid_entitled_households_of_its_area(api: Any) -> None:
    app, client = api
    await _entitle_to_dibao(app, HOUSEHOLD_A, HOUSEHOLD_B, HOUSEHOLD_FAR)  # C is not entitled
    await apply_event(app, _allowance(HOUSEHOLD_C, MinimumAllowance.EXTREME_POVERTY))
    await _pay(client, HOUSEHOLD_A)
    await _pay(client, HOUSEHOLD_B, period="2020-05")  # another month does not cover June
    r = await client.post("/v1/coverage-checks", json=_check(), headers=INSPECTOR)
    assert r.status_code == 201, r.text
    check = r.json()
    assert (check["policy_code"], check["period"], check["area_code"], check["checked_by"]) == (
        "dibao",
        "2020-06",
        TOWNSHIP,
        "inspector-3",
    )
    assert (check["entitled_count"], check["paid_count"], check["gap_count"]) == (2, 1, 1)
    assert "gaps" not in check  # a list of its own: the check's body stays one record's size
    gaps = await _gaps(client, check, headers=auth("auditor"))
    assert gaps == [{"household_id": str(HOUSEHOLD_B), "member_id": None, "area_code": AREAS[HOUSEHOLD_B]}]
    again = await client.get(f"/v1/coverage-checks/{check['id']}", headers=auth("auditor"))
    assert again.status_code == 200 and again.json() == check


async def test_the_outbox_holds_one_gap_event_per_gap(api: Any) -> None:
    app, client = api
    await _entitle_to_dibao(app, HOUSEHOLD_A, HOUSEHOLD_B)
    await apply_event(app, _disability(HOUSEHOLD_C, MEMBER_1, 1))
    await apply_event(app, _disability(HOUSEHOLD_C, MEMBER_2, 3))
    r = await client.post("/v1/coverage-checks", json=_check(policy_code="disability_living_subsidy"), headers=FINANCE)
    assert r.status_code == 201, r.text
    check = r.json()
    assert (check["entitled_count"], check["gap_count"]) == (2, 2)
    events = await _outbox(app)
    assert events == [
        {
            "type": "gov.poverty.subsidies.coverage_gap_found.v1",
            "key": str(HOUSEHOLD_C),
            "source": "/services/subsidies",
            "household_id": str(HOUSEHOLD_C),
            "member_id": str(member),
            "check_id": check["id"],
            "area_code": AREAS[HOUSEHOLD_C],
            "policy_code": "disability_living_subsidy",
            "period": "2020-06",
        }
        for member in (MEMBER_1, MEMBER_2)
    ]
    assert (await _count(app, CoverageCheck), await _count(app, CoverageGap)) == (1, 2)


async def test_one_payment_to_the_household_covers_its_members(api: Any) -> None:
    app, client = api
    await apply_event(app, _schooling(HOUSEHOLD_A, MEMBER_1, "enrolled"))  # enrolled from today, as recorded
    await apply_event(app, _schooling(HOUSEHOLD_A, MEMBER_2, "enrolled"))
    await _pay(client, HOUSEHOLD_A, policy_code="education_aid", period=THIS_MONTH)
    check = _check(policy_code="education_aid", period=THIS_MONTH)
    r = await client.post("/v1/coverage-checks", json=check, headers=FINANCE)
    assert r.status_code == 201, r.text
    assert (r.json()["entitled_count"], r.json()["paid_count"], r.json()["gap_count"]) == (2, 2, 0)
    assert await _gaps(client, r.json()) == []
    assert len(await _outbox(app)) == 1  # the payment's own SubsidyPaid only


@pytest.mark.parametrize(
    ("period", "gap"),
    [
        ("2019-12", False),  # before 低保 began (2020-01-01)
        ("2020-01", True),
        ("2020-06", True),  # withdrawn from 2020-07-01: June was still owed
        ("2020-07", False),
    ],
)
async def test_a_month_is_checked_against_the_entitlements_of_that_month(api: Any, period: str, gap: bool) -> None:
    app, client = api
    await _entitle_to_dibao(app, HOUSEHOLD_A)
    withdrawn = MinimumAllowanceChanged(
        household_id=HOUSEHOLD_A, status=MinimumAllowance.NONE, effective_on=date(2020, 7, 1)
    )
    await apply_event(app, withdrawn)
    r = await client.post("/v1/coverage-checks", json=_check(period=period), headers=FINANCE)
    assert r.status_code == 201, r.text
    assert [g["household_id"] for g in await _gaps(client, r.json())] == ([str(HOUSEHOLD_A)] if gap else [])


async def test_a_district_wide_check_covers_every_township(api: Any) -> None:
    app, client = api
    await _entitle_to_dibao(app, HOUSEHOLD_A, HOUSEHOLD_FAR)
    r = await client.post("/v1/coverage-checks", json=_check(area_code=None), headers=auth("district_office"))
    assert r.status_code == 201, r.text
    assert r.json()["area_code"] is None
    assert [g["household_id"] for g in await _gaps(client, r.json())] == [str(HOUSEHOLD_A), str(HOUSEHOLD_FAR)]


async def test_a_village_check_leaves_the_rest_of_the_township_out(api: Any) -> None:
    app, client = api
    await _entitle_to_dibao(app, HOUSEHOLD_A, HOUSEHOLD_B, HOUSEHOLD_C)
    r = await client.post("/v1/coverage-checks", json=_check(area_code=f"{TOWNSHIP}201"), headers=FINANCE)
    assert r.status_code == 201, r.text
    assert [g["household_id"] for g in await _gaps(client, r.json())] == [str(HOUSEHOLD_A), str(HOUSEHOLD_C)]


async def test_a_township_officer_checks_their_own_township(api: Any) -> None:
    app, client = api
    await _entitle_to_dibao(app, HOUSEHOLD_B, HOUSEHOLD_FAR)
    officer = auth("township_office", area=OTHER_TOWNSHIP)
    r = await client.post("/v1/coverage-checks", json=_check(area_code=None), headers=officer)  # their area implied
    assert r.status_code == 201, r.text
    assert (r.json()["area_code"], r.json()["gap_count"]) == (OTHER_TOWNSHIP, 1)
    assert (await client.get(f"/v1/coverage-checks/{r.json()['id']}", headers=officer)).status_code == 200
    assert [g["household_id"] for g in await _gaps(client, r.json(), headers=officer)] == [str(HOUSEHOLD_FAR)]
    district_wide = await client.post("/v1/coverage-checks", json=_check(area_code=None), headers=FINANCE)
    assert_problem(await client.get(f"/v1/coverage-checks/{district_wide.json()['id']}", headers=officer), 403)
    assert_problem(await client.get(f"/v1/coverage-checks/{district_wide.json()['id']}/gaps", headers=officer), 403)


def _next_month() -> str:
    today = district_today()
    return f"{today.year + today.month // 12}-{today.month % 12 + 1:02d}"


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (_check(policy_code="pocket_money"), FINANCE, 422),
        (_check(period=_next_month()), FINANCE, 422),
        (_check(period="2020-6"), FINANCE, 422),
        (_check(area_code="3715231"), FINANCE, 422),
        (_check(area_code="37152310120x"), FINANCE, 422),
        (_check(unexpected=1), FINANCE, 422),
        (_check(area_code=TOWNSHIP), auth("township_office", area=OTHER_TOWNSHIP), 403),
        (_check(area_code="371523"), auth("township_office", area=OTHER_TOWNSHIP), 403),
        (_check(), auth("helper_cadre", area=TOWNSHIP), 403),
        (_check(), auth("auditor"), 403),
        (_check(), {}, 401),
    ],
)
async def test_a_bad_check_is_a_problem_and_writes_nothing(
    api: Any, body: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    app, client = api
    await _entitle_to_dibao(app, HOUSEHOLD_A, HOUSEHOLD_FAR)
    assert_problem(await client.post("/v1/coverage-checks", json=body, headers=headers), status)
    assert (await _count(app, CoverageCheck), await _count(app, CoverageGap), await _outbox(app)) == (0, 0, [])


async def test_an_unknown_policy_names_the_field(api: Any) -> None:
    _, client = api
    problem = assert_problem(
        await client.post("/v1/coverage-checks", json=_check(policy_code="dibao2"), headers=FINANCE), 422
    )
    assert [e["field"] for e in problem["errors"]] == ["body.policy_code"]


async def test_an_unknown_check_is_404(api: Any) -> None:
    _, client = api
    assert_problem(await client.get(f"/v1/coverage-checks/{UNKNOWN}", headers=FINANCE), 404)
    assert_problem(await client.get(f"/v1/coverage-checks/{UNKNOWN}/gaps", headers=FINANCE), 404)
    assert_problem(await client.get(f"/v1/coverage-checks/{uuid4()}", headers=auth("helper_cadre", area=TOWNSHIP)), 403)


async def entitlement_kept_before_periods(url: str) -> Entitlement:
    """An entitlement recorded under revision 0004 (current state only), once the database is at head."""
    row = {
        "id": uuid4(),
        "household_id": HOUSEHOLD_A,
        "member_id": None,
        "policy_code": "dibao",
        "recorded_at": datetime(2020, 3, 5, 10, 30, tzinfo=UTC),
    }
    await migrate_over("subsidies", url, "0004", {Entitlement.__table__: [row]})  # type: ignore[attr-defined]
    engine = create_engine(url)
    try:
        async with async_sessionmaker(engine)() as s:
            return (await s.scalars(select(Entitlement))).one()
    finally:
        await engine.dispose()


async def test_an_entitlement_kept_before_periods_begins_the_day_it_was_recorded(sqlite_url: Any) -> None:
    kept = await entitlement_kept_before_periods(await sqlite_url("subsidies"))
    assert (kept.starts_on, kept.ends_on) == (date(2020, 3, 5), None)
