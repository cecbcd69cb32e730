"""Conflicts of interest (优亲厚友): the power-holder register, its checks against beneficiaries and approvals, and
the hits they keep. ID-card numbers go in and never come out: not in a response, an event or a log line."""

from __future__ import annotations

import csv
import json
import logging
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlmodel import col

from services.audit.models import DisciplineReferral, Finding
from services.households.domain import conflicts
from services.households.domain.imports.importer import HouseholdImporter
from services.households.domain.imports.rows import OPTIONAL, REQUIRED
from services.households.domain.imports.sources import open_table
from services.households.models import ApprovalRecord, Household, IntegrityHit, PowerHolderRelative
from services.households.rules.integrity import (
    FOUND_BY,
    Approval,
    ApprovalSource,
    HitKind,
    Holder,
    Match,
    conflict_hit,
)
from services.households.settings import HouseholdsSettings
from shared.contracts.accountability import ResponsibleRole, Severity
from shared.contracts.households import HouseholdProblemFound, HouseholdStatus, ProblemCategory
from shared.contracts.projects import IncomeDistributionApproved, PayrollApproved, PayrollLine, PlanShare
from shared.contracts.subsidies import CycleApproved, SubsidyPaid
from shared.db import create_engine
from shared.timeutil import district_today, utcnow
from tests.support import apply_event, assert_problem, auth, running_app
from tests.unit.test_households_helpers import (
    OFFICE,
    OTHER_TOWNSHIP_VILLAGE,
    VILLAGE,
    count,
    household,
    households_app,
    make_id,
    member,
    outbox,
    register,
)

CADRE_BORN, SPOUSE_BORN, OTHER_BORN = date(1975, 3, 4), date(1977, 8, 12), date(1990, 1, 1)
CADRE_ID, SPOUSE_ID = make_id(CADRE_BORN, 501), make_id(SPOUSE_BORN, 502)
TOWNSHIP = auth("township_office", area="371523101")
CADRE = {"person_id": "cadre-li", "name": "李支书", "post": "耿店村党支部书记", "role": "village_cadre"}


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with households_app(sqlite_url) as running:
        yield running


async def holder(client: Any, *, id_number: str | None = CADRE_ID, **overrides: Any) -> dict[str, Any]:
    body = {**CADRE, "area_code": VILLAGE, **overrides}
    if id_number:
        body["id_number"] = id_number
    r = await client.post("/v1/power-holders", json=body, headers=OFFICE)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def relative(client: Any, holder_id: str, number: str = SPOUSE_ID, kind: str = "spouse") -> dict[str, Any]:
    body = {"relationship": kind, "id_number": number}
    r = await client.post(f"/v1/power-holders/{holder_id}/relatives", json=body, headers=OFFICE)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def spouse_household(code: str = "YQ-1", area: str = VILLAGE) -> dict[str, Any]:
    return household(
        code,
        area,
        member("张三", "head", date(1950, 1, 1), seq=601),
        {**member("王桂芝", "spouse", SPOUSE_BORN), "id_number": SPOUSE_ID},
    )


async def problems(app: Any) -> list[HouseholdProblemFound]:
    rows = [r for r in await outbox(app) if r.event_type == HouseholdProblemFound.event_type]
    return [HouseholdProblemFound.model_validate_json(r.payload) for r in rows]


async def hits(app: Any) -> list[IntegrityHit]:
    async with app.state.sessions() as s:
        return list((await s.scalars(select(IntegrityHit).order_by(col(IntegrityHit.recorded_at)))).all())


def test_a_conflict_is_a_severe_conduct_problem_naming_the_holder_and_the_tie_only() -> None:
    cadre = Holder(uuid.uuid4(), "cadre-li", "李支书", "耿店村党支部书记", VILLAGE)
    match = Match(uuid.uuid4(), uuid.uuid4(), VILLAGE, cadre, uuid.uuid4(), "spouse")
    found = conflict_hit(match, today=date(2020, 6, 30), now=datetime(2020, 6, 30, 4, tzinfo=UTC))
    assert found.row["kind"] == HitKind.RELATIVE_BENEFICIARY and found.row["ref"] == str(cadre.id)
    assert {e["type"] for e in found.row["evidence"]} == {"power_holder", "relative"}
    problem = HouseholdProblemFound.model_validate_json(found.event.model_dump_json())  # as audit reads it
    assert (problem.category, problem.severity, problem.code) == (
        ProblemCategory.CONDUCT,
        Severity.SEVERE,
        "relative_beneficiary",
    )
    assert problem.responsible is not None and problem.responsible.role is ResponsibleRole.POWER_HOLDER
    assert (problem.responsible.person_id, problem.responsible.unit) == ("cadre-li", f"耿店村党支部书记 ({VILLAGE})")
    assert "spouse" in problem.description and "耿店村党支部书记" in problem.description
    assert (
        problem.found_on == date(2020, 6, 30)
        and problem.found_by == FOUND_BY
        and problem.problem_id == found.row["problem_id"]
    )
    order = Approval(uuid.uuid4(), ApprovalSource.SUBSIDIES_CYCLE, "cadre-li", "dibao", "2020-06")
    approval = conflict_hit(
        match, approval=order, payments=[uuid.uuid4()], today=date(2020, 6, 30), now=datetime.now(UTC)
    )
    assert approval.row["kind"] == HitKind.APPROVAL_OF_RELATIVE and approval.row["ref"] == str(order.order_id)
    assert [e["type"] for e in approval.row["evidence"]] == ["power_holder", "relative", "subsidies_cycle", "payment"]


async def test_a_cadres_relative_registered_in_a_household_is_one_severe_problem_once(api: Any) -> None:
    app, client = api
    cadre = await holder(client)
    await relative(client, cadre["id"])
    assert await problems(app) == []  # no beneficiary holds the number yet
    registered = await register(client, spouse_household())
    [problem] = await problems(app)
    assert problem.household_id == uuid.UUID(registered["id"]) and problem.code == "relative_beneficiary"
    assert problem.severity is Severity.SEVERE and problem.responsible is not None
    assert problem.responsible.person_id == "cadre-li" and problem.responsible.name == "李支书"
    [hit] = await hits(app)
    spouse = next(m for m in registered["members"] if m["name"] == "王桂芝")
    assert (str(hit.member_id), str(hit.holder_id), hit.problem_id) == (spouse["id"], cadre["id"], problem.problem_id)
    async with app.state.sessions() as s, s.begin():  # the same check again finds nothing new
        spouse_hash = (await s.scalars(select(col(PowerHolderRelative.id_hash)))).one()
        await conflicts.check_members(s, [spouse_hash], now=utcnow(), today=district_today())
    assert len(await problems(app)) == 1 and await count(app, IntegrityHit) == 1
    again = await client.post(
        f"/v1/power-holders/{cadre['id']}/relatives",
        json={"relationship": "spouse", "id_number": SPOUSE_ID},
        headers=OFFICE,
    )
    assert_problem(again, 409)
    assert len(await problems(app)) == 1


async def test_audit_refers_the_conflict_at_once_naming_the_holder(api: Any, sqlite_url: Any) -> None:
    app, client = api
    cadre = await holder(client)
    await relative(client, cadre["id"])
    await register(client, spouse_household())
    [problem] = await problems(app)
    async with running_app("audit", await sqlite_url("audit")) as (audit, _):
        await apply_event(audit, problem)
        async with audit.state.sessions() as s:
            finding = (await s.scalars(select(Finding))).one()
            referrals = (await s.scalars(select(DisciplineReferral))).all()
    assert (finding.category, finding.code, finding.severity) == ("conduct", "relative_beneficiary", "severe")
    assert (finding.responsible_person_id, finding.responsible_role) == ("cadre-li", "power_holder")
    assert [r.finding_id for r in referrals] == [finding.id]


async def test_a_relative_recorded_after_the_household_hits_at_once_and_so_does_the_holder(api: Any) -> None:
    app, client = api
    await register(client, spouse_household())
    await register(client, household("YQ-2", VILLAGE, {**member("李支书", "head", CADRE_BORN), "id_number": CADRE_ID}))
    cadre = await holder(client)
    await relative(client, cadre["id"])
    assert sorted(p.code for p in await problems(app)) == ["holder_beneficiary", "relative_beneficiary"]
    listed = (await client.get("/v1/power-holders", headers=OFFICE)).json()["items"]
    assert [(h["live_relatives"], h["relationships"], h["id_number_given"]) for h in listed] == [(1, ["spouse"], True)]
    assert not ({"id_hash", "id_number"} & set(listed[0]))


async def test_ended_relatives_and_holders_do_not_hit(api: Any) -> None:
    app, client = api
    cadre = await holder(client)
    spouse = await relative(client, cadre["id"])
    ending = {"ended_on": "2019-12-31"}
    r = await client.post(f"/v1/power-holders/{cadre['id']}/relatives/{spouse['id']}/end", json=ending, headers=OFFICE)
    assert r.status_code == 200 and r.json()["ended_on"] == "2019-12-31"
    assert_problem(
        await client.post(f"/v1/power-holders/{cadre['id']}/relatives/{spouse['id']}/end", json=ending, headers=OFFICE),
        409,
    )
    await register(client, spouse_household())
    other = await holder(client, id_number=make_id(date(1980, 1, 1), 503), person_id="cadre-zhao")
    await relative(client, other["id"], make_id(OTHER_BORN, 504), "child")
    assert (await client.post(f"/v1/power-holders/{other['id']}/end", json=ending, headers=OFFICE)).status_code == 200
    await register(client, household("YQ-3", VILLAGE, member("赵小", "head", OTHER_BORN, seq=504)))
    assert await problems(app) == [] and await count(app, IntegrityHit) == 0
    detail = (await client.get(f"/v1/power-holders/{cadre['id']}", headers=OFFICE)).json()
    assert detail["live_relatives"] == 0 and [r["ended_on"] for r in detail["relatives"]] == ["2019-12-31"]
    r = await client.post(
        f"/v1/power-holders/{other['id']}/relatives",
        json={"relationship": "spouse", "id_number": SPOUSE_ID},
        headers=OFFICE,
    )
    assert_problem(r, 409)  # no relatives for a holder whose post has ended


async def test_a_household_out_of_poverty_without_policies_or_a_dead_member_is_no_beneficiary(api: Any) -> None:
    app, client = api
    exited = await register(client, spouse_household())
    async with app.state.sessions() as s, s.begin():
        hid = uuid.UUID(exited["id"])
        await s.execute(
            update(Household).where(col(Household.id) == hid).values(status=HouseholdStatus.EXITED_NO_POLICIES.value)
        )
    dead = await register(
        client, household("YQ-4", VILLAGE, {**member("李支书", "head", CADRE_BORN), "id_number": CADRE_ID})
    )
    death = {"died_on": "2020-01-02", "source": "村委会证明"}
    r = await client.post(
        f"/v1/households/{dead['id']}/members/{dead['members'][0]['id']}/death", json=death, headers=OFFICE
    )
    assert r.status_code in (200, 201), r.text
    cadre = await holder(client)
    await relative(client, cadre["id"])
    assert await problems(app) == []


async def test_a_holder_approving_a_cycle_that_pays_their_relatives_household_is_a_hit(api: Any) -> None:
    app, client = api
    cadre = await holder(
        client, person_id="approver-sun", role="payment_approver", post="区民政局审批科长", area_code="371523"
    )
    await relative(client, cadre["id"])
    paid = await register(client, spouse_household())
    other = await register(client, household("YQ-5", VILLAGE, member("钱五", "head", date(1955, 1, 1), seq=605)))
    cycle = uuid.uuid4()
    approved = CycleApproved(
        cycle_id=cycle, programme_code="dibao", period="2020-06", version_id=uuid.uuid4(), entitled_count=2,
        total_fen=100_000, submitted_by="clerk-1", approved_by="approver-sun",
    )  # fmt: skip
    await apply_event(app, approved)
    await apply_event(app, approved)  # sent again: recorded once
    before = len(await problems(app))  # the spouse as a beneficiary
    payments = {}
    for h in (paid, other):
        payments[h["id"]] = uuid.uuid4()
        await apply_event(
            app,
            SubsidyPaid(
                household_id=uuid.UUID(h["id"]),
                payment_id=payments[h["id"]],
                policy_code="dibao",
                period="2020-06",
                amount_fen=50_000,
                cycle_id=cycle,
            ),
        )
    [problem] = (await problems(app))[before:]
    assert problem.code == "approval_of_relative" and problem.household_id == uuid.UUID(paid["id"])
    assert problem.responsible is not None and problem.responsible.person_id == "approver-sun"
    assert str(cycle) in problem.description
    [hit] = [h for h in await hits(app) if h.kind == HitKind.APPROVAL_OF_RELATIVE]
    assert hit.ref == str(cycle)
    assert {"type": "payment", "id": str(payments[paid["id"]])} in hit.evidence
    assert await count(app, ApprovalRecord) == 1


@pytest.mark.parametrize("kind", ["plan", "payroll"])
async def test_a_plan_or_payroll_approved_by_a_holder_with_a_relative_among_its_households_is_a_hit(
    api: Any, kind: str
) -> None:
    app, client = api
    cadre = await holder(
        client, person_id="finance-qian", role="payment_approver", post="区财政局科长", area_code="371523"
    )
    await relative(client, cadre["id"])
    paid = await register(client, spouse_household())
    others = [
        await register(client, household(f"PL-{i}", VILLAGE, member("孙", "head", date(1950, 1, 1), seq=700 + i)))
        for i in range(3)
    ]
    ids = [uuid.UUID(h["id"]) for h in [*others, paid]]
    order = uuid.uuid4()
    if kind == "plan":
        shares = [PlanShare(household_id=h, amount_fen=1000) for h in ids]
        approved: Any = IncomeDistributionApproved(
            project_id=uuid.uuid4(), plan_id=order, income_id=uuid.uuid4(), period="2020-06",
            owner_area_code=VILLAGE, approved_by="finance-qian", shares=shares,
        )  # fmt: skip
    else:
        lines = [
            PayrollLine(household_id=h, member_id=uuid.uuid4(), post_id=uuid.uuid4(), amount_fen=90_000) for h in ids
        ]
        approved = PayrollApproved(payroll_id=order, period="2020-06", approved_by="finance-qian", lines=lines)
    await apply_event(app, approved)
    [hit] = [h for h in await hits(app) if h.kind == HitKind.APPROVAL_OF_RELATIVE]
    assert (hit.household_id, hit.ref) == (uuid.UUID(paid["id"]), str(order))
    assert {"type": f"projects_{kind}", "id": str(order)} in hit.evidence
    await apply_event(app, approved)  # the same approval again (a replay): nothing new
    assert await count(app, IntegrityHit, col(IntegrityHit.kind) == HitKind.APPROVAL_OF_RELATIVE) == 1


async def test_a_relative_registered_after_the_payment_is_checked_against_the_holders_approvals(api: Any) -> None:
    app, client = api
    paid = await register(client, spouse_household())
    cycle, payment = uuid.uuid4(), uuid.uuid4()
    approved = CycleApproved(
        cycle_id=cycle, programme_code="dibao", period="2020-06", version_id=uuid.uuid4(), entitled_count=1,
        total_fen=50_000, submitted_by="clerk-1", approved_by="approver-sun",
    )  # fmt: skip
    await apply_event(app, approved)
    await apply_event(
        app,
        SubsidyPaid(
            household_id=uuid.UUID(paid["id"]),
            payment_id=payment,
            policy_code="dibao",
            period="2020-06",
            amount_fen=50_000,
            cycle_id=cycle,
        ),
    )
    other_period = uuid.uuid4()  # a cycle of another month the household was not paid in
    await apply_event(app, approved.model_copy(update={"cycle_id": other_period, "period": "2020-07"}))
    assert await count(app, IntegrityHit) == 0  # the approver is nobody's relative yet
    cadre = await holder(
        client,
        person_id="approver-sun",
        role="payment_approver",
        post="区民政局审批科长",
        area_code="371523",
        id_number=None,
    )
    await relative(client, cadre["id"])
    found = {(h.kind, h.ref) for h in await hits(app)}
    assert found == {(HitKind.RELATIVE_BENEFICIARY, cadre["id"]), (HitKind.APPROVAL_OF_RELATIVE, str(cycle))}
    [approval] = [h for h in await hits(app) if h.kind == HitKind.APPROVAL_OF_RELATIVE]
    assert {"type": "payment", "id": str(payment)} in approval.evidence


async def test_id_numbers_never_appear_in_a_response_an_event_or_a_log_line(
    api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app, client = api
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # the SQL and its parameters, too
    try:
        cadre = await holder(client)
        answers = [json.dumps(cadre), json.dumps(await relative(client, cadre["id"]))]
        answers.append(json.dumps(await register(client, spouse_household())))
        for path in ("/v1/power-holders", f"/v1/power-holders/{cadre['id']}", "/v1/integrity-hits"):
            r = await client.get(path, headers=OFFICE)
            assert r.status_code == 200, r.text
            answers.append(r.text)
        bad = await client.post(
            f"/v1/power-holders/{cadre['id']}/relatives",
            json={"relationship": "child", "id_number": SPOUSE_ID[:-1] + "0"},
            headers=OFFICE,
        )
        answers.append(bad.text)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert assert_problem(bad, 422)["errors"][0]["field"] == "body.id_number"
    assert "sqlalchemy.engine" in {rec.name.rsplit(".", 1)[0] for rec in caplog.records}  # logging did happen
    payloads = [row.payload for row in await outbox(app)]
    assert len(await problems(app)) == 1
    for number in (CADRE_ID, SPOUSE_ID, SPOUSE_ID[:-1] + "0"):
        assert not any(number in text for text in [*answers, *payloads]), number
        assert number not in caplog.text
    async with app.state.sessions() as s:
        stored = (await s.scalars(select(col(PowerHolderRelative.id_hash)))).one()
    assert stored not in "".join(answers) and stored not in "".join(payloads)


async def test_registering_is_for_district_and_township_offices_within_reach(api: Any) -> None:
    _, client = api
    r = await client.post("/v1/power-holders", json={**CADRE, "area_code": OTHER_TOWNSHIP_VILLAGE}, headers=TOWNSHIP)
    assert_problem(r, 403)
    r = await client.post(
        "/v1/power-holders", json={**CADRE, "area_code": VILLAGE}, headers=auth("village_cadre", area=VILLAGE)
    )
    assert_problem(r, 403)
    r = await client.post("/v1/power-holders", json={**CADRE, "area_code": VILLAGE}, headers=TOWNSHIP)
    assert r.status_code == 201, r.text
    assert_problem(await client.post("/v1/power-holders", json={**CADRE, "area_code": VILLAGE}, headers=OFFICE), 409)
    assert (await client.get("/v1/power-holders", headers=auth("auditor"))).json()["items"][0][
        "person_id"
    ] == "cadre-li"
    far = auth("township_office", area="371523105")
    assert_problem(await client.get(f"/v1/power-holders/{r.json()['id']}", headers=far), 403)
    assert (await client.get("/v1/power-holders", headers=far)).json()["items"] == []
    cadre = r.json()["id"]
    own = {"relationship": "sibling", "id_number": CADRE_ID}
    await client.post(
        "/v1/power-holders",
        json={**CADRE, "person_id": "cadre-2", "area_code": VILLAGE, "id_number": CADRE_ID},
        headers=OFFICE,
    )
    listed = (await client.get("/v1/power-holders", headers=OFFICE)).json()["items"]
    second = next(h["id"] for h in listed if h["person_id"] == "cadre-2")
    assert (
        assert_problem(await client.post(f"/v1/power-holders/{second}/relatives", json=own, headers=OFFICE), 422)[
            "errors"
        ][0]["code"]
        == "holder_own_number"
    )
    future = {"ended_on": date(district_today().year + 1, 1, 1).isoformat()}
    assert_problem(await client.post(f"/v1/power-holders/{cadre}/end", json=future, headers=OFFICE), 422)


async def test_hits_are_listed_by_kind_and_area_for_those_who_oversee_conduct(api: Any) -> None:
    _, client = api
    cadre = await holder(client)
    await relative(client, cadre["id"])
    await register(client, spouse_household())
    await register(
        client,
        household("YQ-9", OTHER_TOWNSHIP_VILLAGE, {**member("李支书", "head", CADRE_BORN), "id_number": CADRE_ID}),
    )
    everything = (await client.get("/v1/integrity-hits", headers=auth("discipline_commission"))).json()["items"]
    assert sorted(h["kind"] for h in everything) == ["holder_beneficiary", "relative_beneficiary"]
    assert all(h["holder_id"] == cadre["id"] and h["found_on"] for h in everything)
    r = await client.get("/v1/integrity-hits", params={"kind": "holder_beneficiary"}, headers=OFFICE)
    assert [h["kind"] for h in r.json()["items"]] == ["holder_beneficiary"]
    r = await client.get("/v1/integrity-hits", headers=TOWNSHIP)  # 贾寨镇: only its village's hit
    assert [h["kind"] for h in r.json()["items"]] == ["relative_beneficiary"]
    assert_problem(await client.get("/v1/integrity-hits", params={"area_code": "371523105"}, headers=TOWNSHIP), 403)
    assert_problem(await client.get("/v1/integrity-hits", headers=auth("helper_cadre", area=VILLAGE)), 403)
    first = await client.get("/v1/integrity-hits", params={"limit": 1}, headers=OFFICE)
    rest = await client.get(
        "/v1/integrity-hits", params={"limit": 1, "cursor": first.json()["next_cursor"]}, headers=OFFICE
    )
    assert {first.json()["items"][0]["id"], rest.json()["items"][0]["id"]} == {h["id"] for h in everything}
    assert_problem(await client.get("/v1/integrity-hits", params={"kind": "nonsense"}, headers=OFFICE), 422)


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    header = [*REQUIRED, *OPTIONAL]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([[r.get(c, "") for c in header] for r in rows])
    return path


async def test_the_bulk_import_checks_each_chunk_in_one_query(api: Any, tmp_path: Path) -> None:
    app, client = api
    cadre = await holder(client)
    await relative(client, cadre["id"])
    rows = [
        {"household_code": f"IM-{i}", "area_code": VILLAGE, "head_name": f"户主{i}", "member_name": f"户主{i}",
         "relationship_to_head": "head", "birth_date": "1950-01-01", "id_number": make_id(date(1950, 1, 1), 800 + i)}
        for i in range(4)
    ]  # fmt: skip
    rows.append(
        {
            **rows[3],
            "member_name": "王桂芝",
            "relationship_to_head": "spouse",
            "birth_date": SPOUSE_BORN.isoformat(),
            "id_number": SPOUSE_ID,
        }
    )
    statements: list[str] = []
    engine = create_engine(str(app.state.runtime.settings.database_url))
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        importer = HouseholdImporter(engine, HouseholdsSettings(), actor="t", chunk=2)
        with open_table(_csv(tmp_path / "h.csv", rows)) as table:
            now = utcnow()
            report = await importer.run(table, now=now, today=district_today(now), on_error=lambda e: None)
    finally:
        await engine.dispose()
    assert report.members_added == 5
    assert len([s for s in statements if "powerholder" in s.lower()]) == 2  # two chunks, one check each
    [problem] = await problems(app)
    assert problem.code == "relative_beneficiary" and problem.responsible is not None
    [hit] = await hits(app)
    assert hit.household_id == problem.household_id
