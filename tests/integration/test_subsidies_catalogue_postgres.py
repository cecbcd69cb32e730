"""The programme catalogue, the facts and eligibility explained, on real PostgreSQL: the report's programmes seeded,
a programme and its versions entered (bad input and racing versions change nothing), funds, holders' facts in
chunks, the explanation endpoint and a member's payment under the version in force."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from services.subsidies.domain import facts as facts_module
from services.subsidies.domain.catalogue import funds_available, programme_in_force
from services.subsidies.domain.facts import holder_facts
from services.subsidies.models import Cycle, Programme, ProgrammeVersion
from shared.contracts.households import (
    HouseholdRegistered,
    MemberAdded,
    MemberDied,
    MemberSchoolingChanged,
    MinimumAllowance,
    MinimumAllowanceChanged,
)
from tests.support import apply_event, assert_problem, auth, running_app

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]
OFFICE = auth("district_office", sub="policy-clerk")
HOME, HEAD, STUDENT = UUID(int=1), UUID(int=11), UUID(int=12)
VILLAGE = "371523101201"
RAISE = {
    "effective_from": "2021-01-01",
    "amount_fen": 27_000,
    "per_member": True,
    "rule": [
        {"fact": "household.allowance", "op": "eq", "value": "dibao"},
        {"fact": "household.status", "op": "ne", "value": "exited_no_policies"},
    ],
    "reason": "2021 standard",
}


def _member(member_id: UUID, born: date, household_id: UUID = HOME) -> MemberAdded:
    return MemberAdded(household_id=household_id, member_id=member_id, relationship_to_head="son", birth_date=born)


@pytest.fixture
async def api(pg_database: MakeDb) -> Any:
    async with running_app("subsidies", await pg_database("subsidies")) as (app, client):
        await apply_event(
            app, HouseholdRegistered(household_id=HOME, household_code="CP-1", area_code=VILLAGE, member_count=2)
        )
        await apply_event(app, _member(HEAD, date(1970, 5, 1)))
        await apply_event(app, _member(STUDENT, date(2002, 5, 1)))
        yield app, client


SEEDED = 13  # the report's 11 programmes (0008), and the 2 projects decides (0014)


async def _versions(app: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(ProgrammeVersion)) or 0)


async def test_the_report_catalogue_is_seeded_and_read(api: Any) -> None:
    app, client = api
    r = await client.get("/v1/programmes", params={"limit": 500}, headers=auth("auditor"))
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == SEEDED and await _versions(app) == SEEDED
    pension = (await client.get("/v1/programmes/pension_premium_subsidy", headers=auth("auditor"))).json()
    assert (pension["unit"], pension["frequency"], pension["in_force"]["amount_fen"]) == ("member", "yearly", 10_000)
    jobs = (await client.get("/v1/programmes/public_welfare_job_subsidy", headers=auth("auditor"))).json()
    assert (jobs["unit"], jobs["decided_by"], jobs["in_force"]["amount_fen"]) == ("member", "projects", 0)
    assert_problem(await client.get("/v1/programmes/industry_award", headers=auth("auditor")), 404)


async def test_versions_bad_input_and_races_change_nothing_they_should_not(api: Any) -> None:
    app, client = api
    bad = {**RAISE, "rule": [{"fact": "member.age", "op": "gte", "value": 16}, {"fact": "x", "op": "eq", "value": 1}]}
    problem = assert_problem(await client.post("/v1/programmes/dibao/versions", json=bad, headers=OFFICE), 422)
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("body.rule.0", "member_fact"),
        ("body.rule.1", "unknown_fact"),
    ]
    assert await _versions(app) == SEEDED
    racing = [{**RAISE, "effective_from": f"2021-0{n}-01"} for n in range(1, 5)]
    answers = await asyncio.gather(
        *(client.post("/v1/programmes/dibao/versions", json=body, headers=OFFICE) for body in racing)
    )
    assert any(a.status_code == 201 for a in answers)
    assert all(a.status_code in {201, 409, 422} for a in answers), [a.text for a in answers]
    async with app.state.sessions() as s:
        numbers = (
            await s.scalars(
                select(col(ProgrammeVersion.version))
                .where(col(ProgrammeVersion.programme_code) == "dibao")
                .order_by(col(ProgrammeVersion.version))
            )
        ).all()
    assert list(numbers) == list(range(1, len(numbers) + 1))  # never two versions with one number
    assert len(numbers) == 1 + sum(a.status_code == 201 for a in answers)
    async with app.state.sessions() as s:
        _, version = await programme_in_force(s, "dibao", "2021-06")
    assert version.version == len(numbers)


async def test_funds_and_the_cycles_they_commit(api: Any) -> None:
    app, client = api
    r = await client.post(
        "/v1/programmes/rain_and_dew_education_aid/funds",
        json={"year": 2020, "amount_fen": 15_750_000, "source": "雨露计划 2020: 105 students"},
        headers=OFFICE,
    )
    assert r.status_code == 201, r.text
    async with app.state.sessions() as s, s.begin():
        s.add(
            Cycle(
                programme_code="rain_and_dew_education_aid",
                period="2020-S1",
                status="approved",
                total_fen=7_875_000,
                created_by="clerk",
                created_at=datetime(2020, 3, 1, tzinfo=UTC),
            )
        )
    funds = await client.get(
        "/v1/programmes/rain_and_dew_education_aid/funds", params={"year": 2020}, headers=auth("finance_officer")
    )
    assert (funds.json()["allocated_fen"], funds.json()["committed_fen"], funds.json()["available_fen"]) == (
        15_750_000,
        7_875_000,
        7_875_000,
    )
    async with app.state.sessions() as s:
        assert await funds_available(s, "rain_and_dew_education_aid", 2020) == 7_875_000


async def test_holder_facts_load_in_chunks_as_of_the_first_day(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = api
    monkeypatch.setattr(facts_module, "CHUNK", 3)
    for n in range(7):
        household_id = UUID(int=100 + n)
        await apply_event(
            app,
            HouseholdRegistered(
                household_id=household_id, household_code=f"CP-{n + 100}", area_code=VILLAGE, member_count=1
            ),
        )
        await apply_event(app, _member(UUID(int=200 + n), date(1990, 1, 1), household_id))
    await apply_event(app, MemberDied(household_id=HOME, member_id=HEAD, died_on=date(2020, 3, 1)))
    async with app.state.sessions() as s:
        programme = await s.get(Programme, "pension_premium_subsidy")
        assert programme is not None
        chunks = [chunk async for chunk in holder_facts(s, programme, "2020")]
    assert [len({h.household_id for h in c}) for c in chunks] == [3, 3, 2]
    holders = {h.member_id: h.values for c in chunks for h in c}
    assert len(holders) == 9
    assert (holders[HEAD]["member.alive"], holders[HEAD]["household.member_count"]) == (True, 2)  # died in March
    assert holders[STUDENT]["member.age"] == 17


async def test_an_explanation_and_a_members_payment(api: Any) -> None:
    app, client = api
    await apply_event(
        app,
        MemberSchoolingChanged(household_id=HOME, member_id=STUDENT, enrolment="enrolled", school_stage="higher"),
        at=datetime(2020, 6, 20, tzinfo=UTC),  # announced in June: enrolled for the autumn term
    )
    await apply_event(
        app, MinimumAllowanceChanged(household_id=HOME, status=MinimumAllowance.DIBAO, effective_on=date(2020, 7, 1))
    )
    rain = await client.get(
        f"/v1/households/{HOME}/eligibility",
        params={"programme": "rain_and_dew_education_aid", "period": "2020-S2"},
        headers=auth("township_office", area="371523101"),
    )
    holders = {h["member_id"]: h for h in rain.json()["holders"]}
    assert (holders[str(STUDENT)]["entitled"], holders[str(HEAD)]["entitled"]) == (True, False)
    june = await client.get(
        f"/v1/households/{HOME}/eligibility",
        params={"programme": "dibao", "period": "2020-06"},
        headers=auth("auditor"),
    )
    [household] = june.json()["holders"]
    assert household["entitled"] is False and household["checks"][1]["actual"] == "none"  # after the living check
    body = {
        "household_id": str(HOME),
        "member_id": str(STUDENT),
        "policy_code": "rain_and_dew_education_aid",
        "period": "2020-S2",
        "amount_fen": 150_000,
    }
    headers = {**auth("finance_officer"), "Idempotency-Key": "rain-2020-s2-1"}
    paid = await client.post("/v1/payments", json=body, headers=headers)
    assert paid.status_code == 201, paid.text
    assert paid.json()["version_id"] == rain.json()["version"]["id"]
    refused = await client.post(
        "/v1/payments", json={**body, "member_id": str(UUID(int=999))}, headers={**headers, "Idempotency-Key": "r-2"}
    )
    assert [e["code"] for e in assert_problem(refused, 422)["errors"]] == ["not_a_member"]
