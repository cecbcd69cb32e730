"""Coverage checks (政策落实覆盖核查): the holders a programme's rule entitles, as of the period's first day, checked
holder by holder against the paid payments; each gap kept and published; a programme outside the catalogue refused."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import delete, func, insert, select
from sqlmodel import col

from services.subsidies.models import CoverageCheck, CoverageGap, Payment, Programme, ProgrammeVersion
from services.subsidies.rules.coverage import Entitled, entitled_holders, find_gaps
from services.subsidies.rules.eligibility import HolderFacts
from services.subsidies.rules.vocabulary import holder_key
from shared.contracts.households import (
    HouseholdRegistered,
    HouseholdStatus,
    HouseholdStatusChanged,
    MemberAdded,
    MemberDied,
    MemberSchoolingChanged,
    MinimumAllowance,
    MinimumAllowanceChanged,
)
from shared.messaging.outbox import OutboxMessage
from shared.timeutil import district_today
from tests.support import apply_event, assert_problem, auth, running_app

TOWNSHIP, OTHER_TOWNSHIP = "371523101", "371523105"
HOUSEHOLD_A, HOUSEHOLD_B, HOUSEHOLD_C, HOUSEHOLD_FAR = (UUID(int=n) for n in (1, 2, 3, 4))
MEMBER_1, MEMBER_2, MEMBER_3 = UUID(int=11), UUID(int=12), UUID(int=13)
AREAS = {
    HOUSEHOLD_A: f"{TOWNSHIP}201",
    HOUSEHOLD_B: f"{TOWNSHIP}202",
    HOUSEHOLD_C: f"{TOWNSHIP}201",
    HOUSEHOLD_FAR: f"{OTHER_TOWNSHIP}203",
}
FINANCE = auth("finance_officer", sub="cashier-1")
INSPECTOR = auth("inspector", sub="inspector-3")
UNKNOWN = "6f1d1bb0-0000-4000-8000-000000000000"
CREATED = datetime(2020, 1, 1, tzinfo=UTC)
DIBAO_FEN = 25_800  # a living member a month
RAIN_AND_DEW_FEN = 150_000  # a student a term
PENSION_FEN = 10_000  # a member a year
Rule = list[dict[str, object]]
IN_POVERTY: dict[str, object] = {"fact": "household.status", "op": "ne", "value": "exited_no_policies"}
DIBAO_RULE: Rule = [{"fact": "household.allowance", "op": "eq", "value": "dibao"}, IN_POVERTY]
RAIN_AND_DEW_RULE: Rule = [
    {"fact": "member.enrolment", "op": "eq", "value": "enrolled"},
    {"fact": "member.school_stage", "op": "in", "value": ["vocational", "higher"]},
    {"fact": "member.alive", "op": "eq", "value": True},
    IN_POVERTY,
]
PENSION_RULE: Rule = [
    {"fact": "member.age", "op": "gte", "value": 16},
    {"fact": "member.alive", "op": "eq", "value": True},
    IN_POVERTY,
]
# The programmes the tests run on, whatever the catalogue's seed holds: (code, unit, frequency, amount, per member,
# rule), every version in force from 2020-01-01.
PROGRAMMES: list[tuple[str, str, str, int, bool, Rule]] = [
    ("dibao", "household", "monthly", DIBAO_FEN, True, DIBAO_RULE),
    ("rain_and_dew_education_aid", "member", "termly", RAIN_AND_DEW_FEN, False, RAIN_AND_DEW_RULE),
    ("pension_premium_subsidy", "member", "yearly", PENSION_FEN, False, PENSION_RULE),
]


async def install_catalogue(app: Any) -> None:
    """The catalogue holds exactly `PROGRAMMES` (a programme not in it, such as `industry_award`, is unknown)."""
    async with app.state.sessions() as s, s.begin():
        await s.execute(delete(ProgrammeVersion))
        await s.execute(delete(Programme))
        for code, unit, frequency, amount, per_member, rule in PROGRAMMES:
            await s.execute(
                insert(Programme).values(
                    code=code, name=code, unit=unit, frequency=frequency, funding_source="区级专项扶贫资金",
                    created_by="tests", created_at=CREATED,
                )
            )  # fmt: skip
            await s.execute(
                insert(ProgrammeVersion).values(
                    id=uuid4(), programme_code=code, version=1, effective_from=date(2020, 1, 1), amount_fen=amount,
                    per_member=per_member, rule=rule, reason="the 2020 standard", created_by="tests",
                    created_at=CREATED,
                )
            )  # fmt: skip


async def register(app: Any, household_id: UUID, area_code: str) -> None:
    """A registered household of its head alone."""
    registered = HouseholdRegistered(
        household_id=household_id, household_code=f"CP-{household_id.int}", area_code=area_code, member_count=1
    )
    await apply_event(app, registered)


async def add_members(app: Any, household_id: UUID, *members: tuple[UUID, date]) -> None:
    """Members added to a household, each with their birth date."""
    for member_id, born in members:
        added = MemberAdded(
            household_id=household_id, member_id=member_id, relationship_to_head="child", birth_date=born
        )
        await apply_event(app, added)


async def on_allowance(app: Any, household_id: UUID, status: MinimumAllowance, since: date = date(2020, 1, 1)) -> None:
    await apply_event(app, MinimumAllowanceChanged(household_id=household_id, status=status, effective_on=since))


async def exit_without_policies(app: Any, household_id: UUID, since: date) -> None:
    await apply_event(
        app,
        HouseholdStatusChanged(
            household_id=household_id,
            area_code=AREAS.get(household_id, f"{TOWNSHIP}201"),
            from_status=HouseholdStatus.IN_POVERTY,
            to_status=HouseholdStatus.EXITED_NO_POLICIES,
            reason="officer_decision",
            effective_on=since,
            changed_by="officer-1",
        ),
    )


async def enrol(app: Any, household_id: UUID, member_id: UUID, stage: str = "vocational") -> None:
    """Enrolled since the register recorded it early in 2020 (the event carries no day: its time dates it)."""
    changed = MemberSchoolingChanged(
        household_id=household_id, member_id=member_id, enrolment="enrolled", school_stage=stage
    )
    await apply_event(app, changed, at=CREATED)


async def died(app: Any, household_id: UUID, member_id: UUID, on: date) -> None:
    await apply_event(app, MemberDied(household_id=household_id, member_id=member_id, died_on=on))


async def pay(
    client: Any, household_id: UUID, amount_fen: int, policy_code: str = "dibao", period: str = "2020-06", **more: Any
) -> dict[str, Any]:
    """A payment recorded by hand (outside a cycle), as the finance office records one."""
    body = {"household_id": str(household_id), "policy_code": policy_code, "period": period, "amount_fen": amount_fen}
    body |= {name: str(value) for name, value in more.items()}
    key = {**FINANCE, "Idempotency-Key": str(uuid4())}
    r = await client.post("/v1/payments", json=body, headers=key)
    assert r.status_code == 201, r.text
    paid: dict[str, Any] = r.json()
    return paid


async def count(app: Any, model: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)))


async def outbox(app: Any, event_type: str) -> list[dict[str, Any]]:
    async with app.state.sessions() as s:
        rows = (await s.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    return [{"key": m.key, **json.loads(m.payload)} for m in rows if m.event_type == event_type]


GAP_FOUND = "gov.poverty.subsidies.coverage_gap_found.v1"


# --- the rules, without a database -------------------------------------------------------------------------


def test_a_payment_covers_its_own_holder_only() -> None:
    entitled = [
        Entitled(HOUSEHOLD_C, MEMBER_2, "c"),
        Entitled(HOUSEHOLD_A, None, "a"),
        Entitled(HOUSEHOLD_B, None, "b"),
        Entitled(HOUSEHOLD_C, MEMBER_1, "c"),
    ]
    paid = {(HOUSEHOLD_A, "-"), (HOUSEHOLD_C, str(MEMBER_1)), (HOUSEHOLD_B, str(MEMBER_3))}
    assert find_gaps(entitled, paid) == [Entitled(HOUSEHOLD_B, None, "b"), Entitled(HOUSEHOLD_C, MEMBER_2, "c")]
    assert find_gaps([], paid) == []
    assert (holder_key(None), holder_key(MEMBER_1)) == ("-", str(MEMBER_1))


def test_the_entitled_holders_are_those_whose_facts_meet_the_rule() -> None:
    rule = DIBAO_RULE
    holders = [
        HolderFacts(HOUSEHOLD_A, None, "a", {"household.allowance": "dibao", "household.status": "in_poverty"}),
        HolderFacts(HOUSEHOLD_B, None, "b", {"household.allowance": "none", "household.status": "in_poverty"}),
        HolderFacts(HOUSEHOLD_C, None, "c", {"household.allowance": "dibao", "household.status": "exited_no_policies"}),
        HolderFacts(HOUSEHOLD_FAR, None, "f", {}),  # nothing known: not entitled
    ]
    assert entitled_holders(rule, holders) == [Entitled(HOUSEHOLD_A, None, "a")]


# --- checks over HTTP ----------------------------------------------------------------------------------------


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, client):
        await install_catalogue(app)
        for household_id, area_code in AREAS.items():
            await register(app, household_id, area_code)
        yield app, client


def _check(**changes: Any) -> dict[str, Any]:
    return {"policy_code": "dibao", "period": "2020-06", "area_code": TOWNSHIP, **changes}


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


async def _on_dibao(app: Any, *households: UUID) -> None:
    for household_id in households:
        await on_allowance(app, household_id, MinimumAllowance.DIBAO)


async def test_a_check_finds_exactly_the_unpaid_entitled_households_of_its_area(api: Any) -> None:
    app, client = api
    await _on_dibao(app, HOUSEHOLD_A, HOUSEHOLD_B, HOUSEHOLD_FAR)
    await on_allowance(app, HOUSEHOLD_C, MinimumAllowance.EXTREME_POVERTY)  # not 低保: not entitled
    await pay(client, HOUSEHOLD_A, DIBAO_FEN)
    await pay(client, HOUSEHOLD_B, DIBAO_FEN, period="2020-05")  # another month does not cover June
    r = await client.post("/v1/coverage-checks", json=_check(), headers=INSPECTOR)
    assert r.status_code == 201, r.text
    check = r.json()
    assert (check["policy_code"], check["period"], check["area_code"], check["checked_by"], check["cycle_id"]) == (
        "dibao",
        "2020-06",
        TOWNSHIP,
        "inspector-3",
        None,
    )
    assert (check["entitled_count"], check["paid_count"], check["gap_count"]) == (2, 1, 1)
    assert "gaps" not in check  # a list of its own: the check's body stays one record's size
    gaps = await _gaps(client, check, headers=auth("auditor"))
    assert gaps == [{"household_id": str(HOUSEHOLD_B), "member_id": None, "area_code": AREAS[HOUSEHOLD_B]}]
    again = await client.get(f"/v1/coverage-checks/{check['id']}", headers=auth("auditor"))
    assert again.status_code == 200 and again.json() == check


async def test_a_reversed_payment_no_longer_covers_its_holder(api: Any) -> None:
    app, client = api
    await _on_dibao(app, HOUSEHOLD_A)
    paid = await pay(client, HOUSEHOLD_A, DIBAO_FEN)
    async with app.state.sessions() as s, s.begin():
        payment = await s.get(Payment, UUID(paid["id"]))
        assert payment is not None
        payment.status = "recovered"
    r = await client.post("/v1/coverage-checks", json=_check(), headers=FINANCE)
    assert (r.json()["entitled_count"], r.json()["gap_count"]) == (1, 1)


async def test_a_member_programme_is_checked_member_by_member_and_each_gap_published(api: Any) -> None:
    app, client = api
    await add_members(app, HOUSEHOLD_C, (MEMBER_1, date(2001, 3, 1)), (MEMBER_2, date(2002, 5, 1)))
    for member in (MEMBER_1, MEMBER_2):
        await enrol(app, HOUSEHOLD_C, member)
    await enrol(app, HOUSEHOLD_A, MEMBER_3, stage="primary")  # not a stage 雨露计划 pays for
    term = "2020-S2"
    await pay(client, HOUSEHOLD_C, RAIN_AND_DEW_FEN, policy_code="rain_and_dew_education_aid", period=term,
              member_id=MEMBER_1)  # fmt: skip
    r = await client.post(
        "/v1/coverage-checks", json=_check(policy_code="rain_and_dew_education_aid", period=term), headers=FINANCE
    )
    assert r.status_code == 201, r.text
    check = r.json()
    assert (check["entitled_count"], check["paid_count"], check["gap_count"]) == (2, 1, 1)
    assert await _gaps(client, check) == [
        {"household_id": str(HOUSEHOLD_C), "member_id": str(MEMBER_2), "area_code": AREAS[HOUSEHOLD_C]}
    ]
    assert await outbox(app, GAP_FOUND) == [
        {
            "key": str(HOUSEHOLD_C),
            "household_id": str(HOUSEHOLD_C),
            "member_id": str(MEMBER_2),
            "check_id": check["id"],
            "area_code": AREAS[HOUSEHOLD_C],
            "policy_code": "rain_and_dew_education_aid",
            "period": term,
            # The check's day; no cycle was checked, so no preparer answers for it (audit names the area's officer).
            "found_on": district_today(datetime.fromisoformat(check["checked_at"])).isoformat(),
            "responsible": None,
        }
    ]
    assert (await count(app, CoverageCheck), await count(app, CoverageGap)) == (1, 1)


async def test_a_member_dead_before_the_year_is_no_gap_and_one_dead_during_it_still_is(api: Any) -> None:
    app, client = api
    await add_members(app, HOUSEHOLD_A, (MEMBER_1, date(1960, 1, 1)), (MEMBER_2, date(1962, 1, 1)))
    await died(app, HOUSEHOLD_A, MEMBER_1, date(2019, 11, 2))
    await died(app, HOUSEHOLD_A, MEMBER_2, date(2020, 3, 2))
    r = await client.post(
        "/v1/coverage-checks", json=_check(policy_code="pension_premium_subsidy", period="2020"), headers=FINANCE
    )
    assert r.status_code == 201, r.text
    assert [g["member_id"] for g in await _gaps(client, r.json())] == [str(MEMBER_2)]


@pytest.mark.parametrize(
    ("period", "gap"),
    [
        ("2020-01", True),  # 低保 from 2020-01-01
        ("2020-06", True),  # withdrawn from 2020-07-01: June was still owed
        ("2020-07", False),
    ],
)
async def test_a_period_is_judged_by_the_facts_of_its_first_day(api: Any, period: str, gap: bool) -> None:
    app, client = api
    await _on_dibao(app, HOUSEHOLD_A)
    await on_allowance(app, HOUSEHOLD_A, MinimumAllowance.NONE, since=date(2020, 7, 1))
    r = await client.post("/v1/coverage-checks", json=_check(period=period), headers=FINANCE)
    assert r.status_code == 201, r.text
    assert [g["household_id"] for g in await _gaps(client, r.json())] == ([str(HOUSEHOLD_A)] if gap else [])


async def test_a_household_exited_without_policies_is_not_entitled(api: Any) -> None:
    app, client = api
    await _on_dibao(app, HOUSEHOLD_A, HOUSEHOLD_B)
    await exit_without_policies(app, HOUSEHOLD_A, since=date(2020, 3, 1))
    r = await client.post("/v1/coverage-checks", json=_check(), headers=FINANCE)
    assert [g["household_id"] for g in await _gaps(client, r.json())] == [str(HOUSEHOLD_B)]


async def test_a_district_wide_check_covers_every_township(api: Any) -> None:
    app, client = api
    await _on_dibao(app, HOUSEHOLD_A, HOUSEHOLD_FAR)
    r = await client.post("/v1/coverage-checks", json=_check(area_code=None), headers=auth("district_office"))
    assert r.status_code == 201, r.text
    assert r.json()["area_code"] is None
    assert [g["household_id"] for g in await _gaps(client, r.json())] == [str(HOUSEHOLD_A), str(HOUSEHOLD_FAR)]


async def test_a_village_check_leaves_the_rest_of_the_township_out(api: Any) -> None:
    app, client = api
    await _on_dibao(app, HOUSEHOLD_A, HOUSEHOLD_B, HOUSEHOLD_C)
    r = await client.post("/v1/coverage-checks", json=_check(area_code=f"{TOWNSHIP}201"), headers=FINANCE)
    assert r.status_code == 201, r.text
    assert [g["household_id"] for g in await _gaps(client, r.json())] == [str(HOUSEHOLD_A), str(HOUSEHOLD_C)]


async def test_a_township_officer_checks_their_own_township(api: Any) -> None:
    app, client = api
    await _on_dibao(app, HOUSEHOLD_B, HOUSEHOLD_FAR)
    officer = auth("township_office", area=OTHER_TOWNSHIP)
    r = await client.post("/v1/coverage-checks", json=_check(area_code=None), headers=officer)  # their area implied
    assert r.status_code == 201, r.text
    assert (r.json()["area_code"], r.json()["gap_count"]) == (OTHER_TOWNSHIP, 1)
    assert (await client.get(f"/v1/coverage-checks/{r.json()['id']}", headers=officer)).status_code == 200
    assert [g["household_id"] for g in await _gaps(client, r.json(), headers=officer)] == [str(HOUSEHOLD_FAR)]
    district_wide = await client.post("/v1/coverage-checks", json=_check(area_code=None), headers=FINANCE)
    assert_problem(await client.get(f"/v1/coverage-checks/{district_wide.json()['id']}", headers=officer), 403)
    assert_problem(await client.get(f"/v1/coverage-checks/{district_wide.json()['id']}/gaps", headers=officer), 403)


async def test_checks_are_listed_by_programme_period_and_cycle(api: Any) -> None:
    _, client = api
    for body in (_check(), _check(period="2020-05"), _check(policy_code="pension_premium_subsidy", period="2020")):
        assert (await client.post("/v1/coverage-checks", json=body, headers=FINANCE)).status_code == 201
    r = await client.get("/v1/coverage-checks", params={"period": "2020"}, headers=auth("auditor"))
    assert [c["policy_code"] for c in r.json()["items"]] == ["pension_premium_subsidy"]
    r = await client.get("/v1/coverage-checks", params={"policy_code": "dibao"}, headers=auth("auditor"))
    assert [c["period"] for c in r.json()["items"]] == ["2020-05", "2020-06"]  # the newest first
    r = await client.get("/v1/coverage-checks", params={"cycle_id": str(uuid4())}, headers=auth("auditor"))
    assert r.json()["items"] == []


def _next_month() -> str:
    today = district_today()
    return f"{today.year + today.month // 12}-{today.month % 12 + 1:02d}"


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (_check(policy_code="industry_award"), FINANCE, 422, "unknown_policy"),  # no source of facts: never "0 gaps"
        (_check(period="2019-12"), FINANCE, 422, "no_version_in_force"),
        (_check(period="2020"), FINANCE, 422, "period_format"),  # 低保 is monthly
        (_check(policy_code="pension_premium_subsidy"), FINANCE, 422, "period_format"),  # yearly: 2020
        (_check(period=_next_month()), FINANCE, 422, "period_not_begun"),
        (_check(policy_code="pocket_money"), FINANCE, 422, None),
        (_check(period="2020-6"), FINANCE, 422, None),
        (_check(period="2020-S3"), FINANCE, 422, None),
        (_check(area_code="3715231"), FINANCE, 422, None),
        (_check(area_code="37152310120x"), FINANCE, 422, None),
        (_check(unexpected=1), FINANCE, 422, None),
        (_check(area_code=TOWNSHIP), auth("township_office", area=OTHER_TOWNSHIP), 403, None),
        (_check(area_code="371523"), auth("township_office", area=OTHER_TOWNSHIP), 403, None),
        (_check(), auth("helper_cadre", area=TOWNSHIP), 403, None),
        (_check(), auth("auditor"), 403, None),
        (_check(), {}, 401, None),
    ],
)
async def test_a_bad_check_is_a_problem_and_writes_nothing(
    api: Any, body: dict[str, Any], headers: dict[str, str], status: int, code: str | None
) -> None:
    app, client = api
    await _on_dibao(app, HOUSEHOLD_A, HOUSEHOLD_FAR)
    problem = assert_problem(await client.post("/v1/coverage-checks", json=body, headers=headers), status)
    if code is not None:
        assert code in [e["code"] for e in problem["errors"]]
    assert (await count(app, CoverageCheck), await count(app, CoverageGap), await outbox(app, GAP_FOUND)) == (0, 0, [])


async def test_an_unknown_policy_names_the_field(api: Any) -> None:
    _, client = api
    for code in ("dibao2", "industry_award"):
        problem = assert_problem(
            await client.post("/v1/coverage-checks", json=_check(policy_code=code), headers=FINANCE), 422
        )
        assert [e["field"] for e in problem["errors"]] == ["body.policy_code"]


async def test_an_unknown_check_is_404(api: Any) -> None:
    _, client = api
    assert_problem(await client.get(f"/v1/coverage-checks/{UNKNOWN}", headers=FINANCE), 404)
    assert_problem(await client.get(f"/v1/coverage-checks/{UNKNOWN}/gaps", headers=FINANCE), 404)
    assert_problem(await client.get(f"/v1/coverage-checks/{uuid4()}", headers=auth("helper_cadre", area=TOWNSHIP)), 403)
