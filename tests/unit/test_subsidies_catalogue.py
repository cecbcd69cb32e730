"""The programme catalogue (政策目录) as versioned data, over REST on a migrated SQLite file: the report's programmes
seeded, a programme entered with its first version, new standards as new versions, funds, and the programme in
force for a period."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Column, MetaData, Table, func, select

from services.subsidies.domain import catalogue
from services.subsidies.models import Cycle, Programme, ProgrammeFund, ProgrammeVersion
from services.subsidies.rules.report_catalogue import REPORT_CATALOGUE
from shared.api.clock import request_time
from shared.errors import InvalidInput
from tests.support import assert_problem, auth, migrate_over, running_app

OFFICE = auth("district_office", sub="policy-clerk")
AWARD = {
    "code": "industry_award",
    "name": "产业奖补",
    "unit": "household",
    "frequency": "yearly",
    "funding_source": "区级专项扶贫资金",
    "effective_from": "2020-01-01",
    "amount_fen": 200_000,
    "rule": [{"fact": "household.status", "op": "in", "value": ["in_poverty", "monitored"]}],
    "reason": "产业奖补 of the 2020 plan",
}
RAISE = {
    "effective_from": "2021-01-01",
    "amount_fen": 27_000,
    "per_member": True,
    "rule": [{"fact": "household.allowance", "op": "eq", "value": "dibao"}],
    "reason": "2021 standard",
}


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, client):
        yield app, client


async def _rows(app: Any) -> tuple[int, int, int]:
    async with app.state.sessions() as s:
        counts = [
            await s.scalar(select(func.count()).select_from(m)) for m in (Programme, ProgrammeVersion, ProgrammeFund)
        ]
    return counts[0], counts[1], counts[2]


# The report's 11 programmes, and the two projects decides (migration 0014): a plan's share, a post's allowance.
DECIDED_BY_PROJECTS = {"project_income_share": "household", "public_welfare_job_subsidy": "member"}
SEEDED = (13, 13, 0)


def _on(app: Any, day: str) -> None:
    moment = datetime.fromisoformat(f"{day}T04:00:00+00:00")
    app.dependency_overrides[request_time] = lambda: moment


# --- the seeded catalogue ------------------------------------------------------------------------------------------


async def test_the_report_programmes_are_in_the_catalogue_with_their_standards(api: Any) -> None:
    app, client = api
    r = await client.get("/v1/programmes", headers=auth("township_office", area="371523101"))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [p["code"] for p in items] == sorted([*(p.code.value for p in REPORT_CATALOGUE), *DECIDED_BY_PROJECTS])
    assert {p["code"] for p in items if p["decided_by"] == "projects"} == set(DECIDED_BY_PROJECTS)
    dibao = next(p for p in items if p["code"] == "dibao")
    assert (dibao["unit"], dibao["frequency"], dibao["created_by"]) == ("household", "monthly", "catalogue-seed")
    version = dibao["in_force"]
    assert (version["version"], version["amount_fen"], version["per_member"]) == (1, 25_800, True)
    assert version["effective_from"] == "2020-01-01" and version["created_at"] == "2020-01-01T00:00:00Z"
    assert version["rule"] == [
        {"fact": "household.allowance", "op": "eq", "value": "dibao"},
        {"fact": "household.status", "op": "ne", "value": "exited_no_policies"},
    ]
    rain = next(p for p in items if p["code"] == "rain_and_dew_education_aid")
    assert (rain["unit"], rain["frequency"], rain["in_force"]["amount_fen"]) == ("member", "termly", 150_000)
    assert await _rows(app) == SEEDED


async def test_a_programme_is_read_with_its_change_history(api: Any) -> None:
    app, client = api
    assert (await client.post("/v1/programmes/dibao/versions", json=RAISE, headers=OFFICE)).status_code == 201
    _on(app, "2020-12-31")
    detail = (await client.get("/v1/programmes/dibao", headers=auth("auditor"))).json()
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    assert detail["in_force"]["version"] == 1  # the new standard is not in force yet
    newest = detail["versions"][0]
    assert (newest["created_by"], newest["reason"], newest["amount_fen"]) == ("policy-clerk", "2021 standard", 27_000)
    _on(app, "2021-01-01")
    assert (await client.get("/v1/programmes/dibao", headers=auth("auditor"))).json()["in_force"]["version"] == 2
    page = await client.get("/v1/programmes/dibao/versions", params={"limit": 1}, headers=auth("inspector"))
    assert [v["version"] for v in page.json()["items"]] == [2]
    rest = await client.get(
        "/v1/programmes/dibao/versions", params={"cursor": page.json()["next_cursor"]}, headers=auth("inspector")
    )
    assert [v["version"] for v in rest.json()["items"]] == [1] and rest.json()["next_cursor"] is None


async def test_programmes_are_paged_and_filtered(api: Any) -> None:
    _, client = api
    reader = auth("discipline_commission")
    first = (await client.get("/v1/programmes", params={"limit": 4}, headers=reader)).json()
    second = (await client.get("/v1/programmes", params={"cursor": first["next_cursor"]}, headers=reader)).json()
    codes = [p["code"] for p in first["items"] + second["items"]]
    assert len(first["items"]) == 4 and codes == sorted(codes) and len(set(codes)) == 13
    members = (await client.get("/v1/programmes", params={"unit": "member"}, headers=reader)).json()["items"]
    assert {p["code"] for p in members} == {p.code.value for p in REPORT_CATALOGUE if p.unit == "member"} | {
        "public_welfare_job_subsidy"
    }
    termly = (await client.get("/v1/programmes", params={"frequency": "termly"}, headers=reader)).json()["items"]
    assert {p["code"] for p in termly} == {"education_aid", "rain_and_dew_education_aid"}


@pytest.mark.parametrize(("path", "status"), [("/v1/programmes/industry_award", 404), ("/v1/programmes/pocket", 422)])
async def test_a_programme_not_in_the_catalogue_is_404(api: Any, path: str, status: int) -> None:
    _, client = api
    assert_problem(await client.get(path, headers=auth("finance_officer")), status)
    assert_problem(await client.get(f"{path}/versions", headers=auth("finance_officer")), status)
    assert_problem(await client.get(f"{path}/funds", params={"year": 2020}, headers=auth("finance_officer")), status)


@pytest.mark.parametrize("role", ["helper_cadre", "village_cadre", "dept_civil_affairs"])
async def test_other_roles_cannot_read_the_catalogue(api: Any, role: str) -> None:
    _, client = api
    assert_problem(await client.get("/v1/programmes", headers=auth(role, area="371523101")), 403)


# --- entering a programme ------------------------------------------------------------------------------------------


async def test_the_district_office_enters_a_programme_with_its_first_version(api: Any) -> None:
    app, client = api
    _on(app, "2020-03-01")
    r = await client.post("/v1/programmes", json=AWARD, headers=OFFICE)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["code"], body["unit"], body["frequency"], body["created_by"]) == (
        "industry_award",
        "household",
        "yearly",
        "policy-clerk",
    )
    [version] = body["versions"]
    assert body["in_force"] == version and version["version"] == 1 and version["per_member"] is False
    assert version["rule"] == AWARD["rule"]
    assert await _rows(app) == (14, 14, 0)
    async with app.state.sessions() as s:
        programme, in_force = await catalogue.programme_in_force(s, "industry_award", "2020")
    assert (programme.name, in_force.id) == ("产业奖补", UUID(version["id"]))


async def test_a_programme_entered_twice_is_409_and_a_retry_with_its_key_is_replayed(api: Any) -> None:
    app, client = api
    keyed = {**OFFICE, "Idempotency-Key": "award-1"}
    first = await client.post("/v1/programmes", json=AWARD, headers=keyed)
    again = await client.post("/v1/programmes", json=AWARD, headers=keyed)
    assert (first.status_code, again.status_code, again.headers["Idempotency-Replayed"]) == (201, 200, "true")
    assert again.json() == first.json()
    assert_problem(await client.post("/v1/programmes", json=AWARD, headers=OFFICE), 409)
    assert_problem(await client.post("/v1/programmes", json={**AWARD, "code": "dibao"}, headers=OFFICE), 409)
    assert await _rows(app) == (14, 14, 0)


def _rule_errors(problem: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in problem["errors"]]


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"rule": []}, [("body.rule", "no_fact_source")]),
        ({"rule": [{"fact": "member.age", "op": "gte", "value": 16}]}, [("body.rule.0", "member_fact")]),
        ({"rule": [{"fact": "household.income", "op": "gte", "value": 1}]}, [("body.rule.0", "unknown_fact")]),
        (
            {
                "rule": [
                    {"fact": "household.status", "op": "lt", "value": "in_poverty"},
                    {"fact": "household.member_count", "op": "gte", "value": 2},
                    {"fact": "household.monitoring_open", "op": "eq", "value": "yes"},
                ]
            },
            [("body.rule.0", "op_not_allowed"), ("body.rule.2", "value_type")],
        ),
        ({"unit": "member", "per_member": True}, [("body.per_member", "per_member_unit")]),
        ({"code": "Industry Award"}, None),
        ({"unit": "village"}, None),
        ({"frequency": "weekly"}, None),
        ({"amount_fen": 0}, None),
        ({"amount_fen": 2000.5}, None),
        ({"effective_from": 1577836800}, None),
        ({"reason": ""}, None),
        ({"name": "张三 370102199001011234"}, None),
        ({"rule": [{"fact": "household.status", "op": "ne", "value": "exited_no_policies", "x": 1}]}, None),
        ({"surprise": True}, None),
    ],
)
async def test_a_bad_programme_is_422_and_changes_nothing(
    api: Any, changes: dict[str, Any], errors: list[tuple[str, str]] | None
) -> None:
    app, client = api
    problem = assert_problem(await client.post("/v1/programmes", json={**AWARD, **changes}, headers=OFFICE), 422)
    assert all(set(e) == {"field", "message", "code"} for e in problem["errors"])
    if errors is not None:
        assert _rule_errors(problem) == errors
    assert await _rows(app) == SEEDED


@pytest.mark.parametrize("role", ["finance_officer", "auditor", "township_office", "inspector"])
async def test_only_the_district_office_keeps_the_catalogue(api: Any, role: str) -> None:
    app, client = api
    headers = auth(role, area="371523101")
    assert_problem(await client.post("/v1/programmes", json=AWARD, headers=headers), 403)
    assert_problem(await client.post("/v1/programmes/dibao/versions", json=RAISE, headers=headers), 403)
    fund = {"year": 2020, "amount_fen": 100, "source": "x"}
    assert_problem(await client.post("/v1/programmes/dibao/funds", json=fund, headers=headers), 403)
    assert await _rows(app) == SEEDED


# --- new standards -------------------------------------------------------------------------------------------------


async def test_a_new_standard_is_a_new_version_after_the_latest(api: Any) -> None:
    app, client = api
    r = await client.post("/v1/programmes/dibao/versions", json=RAISE, headers=OFFICE)
    assert r.status_code == 201, r.text
    assert (r.json()["version"], r.json()["programme_code"], r.json()["amount_fen"]) == (2, "dibao", 27_000)
    for day in ("2021-01-01", "2020-06-01"):  # on or before the latest version's day
        late = await client.post("/v1/programmes/dibao/versions", json={**RAISE, "effective_from": day}, headers=OFFICE)
        assert _rule_errors(assert_problem(late, 422)) == [("body.effective_from", "not_after_latest_version")]
    assert await _rows(app) == (13, 14, 0)
    async with app.state.sessions() as s:
        _, before = await catalogue.programme_in_force(s, "dibao", "2020-12")
        _, after = await catalogue.programme_in_force(s, "dibao", "2021-01")
    assert (before.version, after.version) == (1, 2)


@pytest.mark.parametrize(
    ("code", "changes", "status", "errors"),
    [
        ("industry_award", {}, 404, None),
        (
            "dibao",
            {"rule": [{"fact": "member.alive", "op": "eq", "value": True}]},
            422,
            [("body.rule.0", "member_fact")],
        ),
        (
            "pension_premium_subsidy",
            {"per_member": True, "rule": [{"fact": "member.age", "op": "gte", "value": 16}]},
            422,
            [("body.per_member", "per_member_unit")],
        ),
        (
            "dibao",
            {"rule": [{"fact": "household.allowance", "op": "eq", "value": "low"}]},
            422,
            [("body.rule.0", "unknown_value")],
        ),
        ("dibao", {"amount_fen": -1}, 422, None),
    ],
)
async def test_a_bad_version_is_refused_and_changes_nothing(
    api: Any, code: str, changes: dict[str, Any], status: int, errors: list[tuple[str, str]] | None
) -> None:
    app, client = api
    problem = assert_problem(
        await client.post(f"/v1/programmes/{code}/versions", json={**RAISE, **changes}, headers=OFFICE), status
    )
    if errors is not None:
        assert _rule_errors(problem) == errors
    assert await _rows(app) == SEEDED


async def test_a_member_programme_takes_member_facts(api: Any) -> None:
    _, client = api
    body = {
        **RAISE,
        "per_member": False,
        "amount_fen": 12_000,
        "rule": [
            {"fact": "member.age", "op": "gte", "value": 16},
            {"fact": "member.age", "op": "lt", "value": 60},
            {"fact": "household.status", "op": "ne", "value": "exited_no_policies"},
        ],
    }
    r = await client.post("/v1/programmes/pension_premium_subsidy/versions", json=body, headers=OFFICE)
    assert r.status_code == 201, r.text


# --- funds ---------------------------------------------------------------------------------------------------------


async def _cycle(app: Any, period: str, status: str, total_fen: int, code: str = "dibao") -> None:
    async with app.state.sessions() as s, s.begin():
        s.add(
            Cycle(
                programme_code=code,
                period=period,
                status=status,
                total_fen=total_fen,
                created_by="clerk",
                created_at=datetime(2020, 6, 1, tzinfo=UTC),
            )
        )


async def test_funds_allocated_less_those_committed_by_approved_cycles_are_available(api: Any) -> None:
    app, client = api
    for amount in (5_000_000, 3_000_000):
        body = {"year": 2020, "amount_fen": amount, "source": "鲁财社〔2020〕1号"}
        r = await client.post("/v1/programmes/dibao/funds", json=body, headers=OFFICE)
        assert r.status_code == 201 and r.json()["recorded_by"] == "policy-clerk", r.text
    await client.post(
        "/v1/programmes/dibao/funds", json={"year": 2021, "amount_fen": 1, "source": "next year"}, headers=OFFICE
    )
    await _cycle(app, "2020-05", "approved", 2_000_000)
    await _cycle(app, "2020-04", "paid", 1_000_000)
    await _cycle(app, "2020-03", "closed", 500_000)
    await _cycle(app, "2020-06", "submitted", 9_000_000)  # not approved: nothing committed yet
    await _cycle(app, "2019-12", "paid", 7_000_000)  # another year's
    await _cycle(app, "2020-07", "approved", 4_000_000, code="medical_aid")  # another programme's
    r = await client.get("/v1/programmes/dibao/funds", params={"year": 2020}, headers=auth("finance_officer"))
    assert r.json() == {
        "programme_code": "dibao",
        "year": 2020,
        "allocated_fen": 8_000_000,
        "committed_fen": 3_500_000,
        "by_hand_fen": 0,
        "available_fen": 4_500_000,
    }
    async with app.state.sessions() as s:
        assert await catalogue.funds_available(s, "dibao", 2020) == 4_500_000
        assert await catalogue.funds_available(s, "dibao", 2019) == -7_000_000
        assert await catalogue.funds_available(s, "education_aid", 2020) == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"year": 2020, "amount_fen": 0, "source": "x"}, 422),
        ({"year": 1800, "amount_fen": 10, "source": "x"}, 422),
        ({"year": 2020, "amount_fen": 10.0, "source": "x"}, 422),
        ({"year": 2020, "amount_fen": 10}, 422),
    ],
)
async def test_a_bad_allocation_is_422_and_changes_nothing(api: Any, body: dict[str, Any], status: int) -> None:
    app, client = api
    assert_problem(await client.post("/v1/programmes/dibao/funds", json=body, headers=OFFICE), status)
    assert_problem(
        await client.post(
            "/v1/programmes/industry_award/funds",
            json={**body, "amount_fen": 1, "source": "x", "year": 2020},
            headers=OFFICE,
        ),
        404,
    )
    assert await _rows(app) == SEEDED


async def test_the_funds_year_is_required_and_within_the_calendar(api: Any) -> None:
    _, client = api
    assert_problem(await client.get("/v1/programmes/dibao/funds", headers=OFFICE), 422)
    assert_problem(await client.get("/v1/programmes/dibao/funds", params={"year": 9999}, headers=OFFICE), 422)


# --- the programme in force for a period ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "period", "field", "error"),
    [
        ("industry_award", "2020", "body.policy_code", "unknown_policy"),
        ("temporary_price_subsidy", "2020-06", "body.policy_code", "unknown_policy"),
        ("dibao", "2020", "body.period", "period_format"),
        ("dibao", "2020-S1", "body.period", "period_format"),
        ("education_aid", "2020-06", "body.period", "period_format"),
        ("pension_premium_subsidy", "2020-06", "body.period", "period_format"),
        ("dibao", "2019-12", "body.period", "no_version_in_force"),
        ("education_aid", "2019-S2", "body.period", "no_version_in_force"),
    ],
)
async def test_only_a_catalogued_programme_with_a_version_in_force_decides_a_period(
    api: Any, code: str, period: str, field: str, error: str
) -> None:
    app, _ = api
    async with app.state.sessions() as s:
        with pytest.raises(InvalidInput) as refused:
            await catalogue.programme_in_force(s, code, period)
    assert [(e["field"], e["code"]) for e in refused.value.extensions["errors"]] == [(field, error)]


async def test_each_frequency_finds_its_version(api: Any) -> None:
    app, _ = api
    async with app.state.sessions() as s:
        for code, period in [("dibao", "2020-01"), ("education_aid", "2020-S1"), ("pension_premium_subsidy", "2020"),
                             ("temporary_assistance", "2020-11")]:  # fmt: skip
            programme, version = await catalogue.programme_in_force(s, code, period)
            assert (programme.code, version.version) == (code, 1)
        with pytest.raises(InvalidInput) as refused:
            await catalogue.programme_in_force(s, "cycle_code", "2020-06", field="body.programme_code")
    assert refused.value.extensions["errors"][0]["field"] == "body.programme_code"


async def test_the_seed_leaves_a_programme_already_entered_and_seeds_the_same_rows_everywhere(sqlite_url: Any) -> None:
    url = await sqlite_url("subsidies")
    async with running_app("subsidies", url) as (app, _), app.state.sessions() as s:
        seeded = {v.programme_code: v.id for v in (await s.scalars(select(ProgrammeVersion))).all()}
    entered = {
        "code": "dibao",
        "name": "低保 (entered by hand)",
        "unit": "household",
        "frequency": "monthly",
        "funding_source": "民政",
        "created_by": "policy-clerk",
        "created_at": datetime(2019, 12, 1, tzinfo=UTC),
    }
    as_in_0007 = Table("programme", MetaData(), *(Column(name) for name in entered))  # before later columns
    await migrate_over("subsidies", url, "0007", {as_in_0007: [entered]})
    async with running_app("subsidies", url) as (app, _), app.state.sessions() as s:
        programmes = {p.code: p for p in (await s.scalars(select(Programme))).all()}
        versions = {v.programme_code: v.id for v in (await s.scalars(select(ProgrammeVersion))).all()}
    assert programmes["dibao"].created_by == "policy-clerk" and len(programmes) == 13
    assert versions == {code: id_ for code, id_ in seeded.items() if code != "dibao"}
