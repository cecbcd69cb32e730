"""Responsible people (责任人) on SQLite: who a finding names from its source, the areas' officers, hand-overs,
the deadline from the day a problem was found, late reporting (迟报), named decisions, statistics by person and unit,
and the publishers that name them (a household's helper cadre, through a visit and an import)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain import findings
from services.audit.handlers import build_handlers
from services.audit.models import (
    AreaOfficer,
    Finding,
    Notification,
    RectificationTask,
    ResponsibilityChange,
)
from services.audit.rules.findings import DeadlinePolicy, ProblemFacts
from services.audit.rules.responsibility import (
    LATE_REPORTING,
    Responsibility,
    areas_holding,
    days_late,
    deadline,
    end_of_day,
    late_reporting,
    officer_for,
    person_held_to_account,
    responsibility,
)
from services.audit.settings import AuditSettings
from shared.api.clock import request_time
from shared.contracts.accountability import ResponsiblePerson, ResponsibleRole, Severity
from shared.contracts.audit import SubjectKind
from shared.contracts.households import HouseholdProblemFound, ProblemCategory
from shared.contracts.projects import ProjectProblemFound
from shared.contracts.subsidies import LeakKind, SubsidyCoverageGap, SubsidyLeakFound
from shared.db import create_engine, unit_of_work
from shared.errors import InvalidInput
from shared.messaging.outbox import OutboxMessage
from shared.timeutil import DISTRICT_TZ, district_today
from tests.support import apply_event, assert_problem, auth, envelope_of, household_problem, running_app

NOW = datetime(2020, 6, 1, 2, tzinfo=UTC)  # Monday 10:00 in the district
TODAY = date(2020, 6, 1)
VILLAGE, TOWNSHIP, DISTRICT_AREA = "371523101201", "371523101", "371523"
FAR_VILLAGE = "371523105201"  # a village of another township
POLICY = DeadlinePolicy()
CADRE = ResponsiblePerson(person_id="cadre-li", name="李明", unit="区农业农村局", role=ResponsibleRole.HELPER_CADRE)
OFFICER = ResponsiblePerson(
    person_id="jiazhai-zhang", name="张卫东", unit="贾寨镇扶贫办", role=ResponsibleRole.TOWNSHIP_OFFICER
)
DISTRICT = auth("district_office", sub="district-officer-1")
INSPECTOR = auth("inspector", sub="inspector-1")
COMMISSION = auth("discipline_commission", sub="commission-1")
TOWNSHIP_OFFICE = auth("township_office", area=TOWNSHIP, sub="township-officer-1")
FAR_TOWNSHIP_OFFICE = auth("township_office", area="371523105", sub="township-officer-9")


@pytest.fixture
async def sessions(sqlite_url: Any) -> Any:
    engine = create_engine(await sqlite_url("audit"))
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("audit", await sqlite_url("audit")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW
        yield app, client


def problem(found_on: date = TODAY, responsible: ResponsiblePerson | None = CADRE, **changes: Any) -> Any:
    """A child out of school found at a household on `found_on`, naming `responsible`."""
    event = household_problem(uuid.uuid4())
    return HouseholdProblemFound.model_validate(
        {**event.model_dump(), "found_on": found_on, "responsible": responsible, **changes}
    )


async def consume(sessions: async_sessionmaker[AsyncSession], event: Any, *, at: datetime = NOW) -> None:
    """Apply `event`, published at `at`, as audit's consumer does, its clock at NOW."""
    application = build_handlers(AuditSettings(database_url="-"), clock=lambda: NOW).bind(
        event.topic, envelope_of(event, at=at)
    )
    assert application is not None
    async with unit_of_work(sessions) as s:
        await application(s)


async def rows(sessions: async_sessionmaker[AsyncSession], model: Any, *where: Any) -> list[Any]:
    async with sessions() as s:
        return list((await s.scalars(select(model).where(*where))).all())


async def set_officer(sessions: async_sessionmaker[AsyncSession], area: str, person: ResponsiblePerson) -> None:
    async with unit_of_work(sessions) as s:
        s.add(AreaOfficer(area_code=area, person_id=person.person_id, name=person.name, unit=person.unit,
                          set_by="district-officer-1", set_at=NOW))  # fmt: skip


# --- the rules ----------------------------------------------------------------------------------------------------


def test_the_deadline_runs_from_the_day_found_to_the_end_of_the_terms_last_day() -> None:
    reported = datetime(2020, 5, 13, 2, tzinfo=UTC)
    due = deadline(POLICY, Severity.SERIOUS, found_on=date(2020, 5, 12), reported_at=reported)
    assert due == datetime(2020, 5, 27, 23, 59, 59, tzinfo=DISTRICT_TZ)  # 12 May + 15 days, to the day's end
    assert end_of_day(date(2020, 5, 27)).astimezone(UTC) == datetime(2020, 5, 27, 15, 59, 59, tzinfo=UTC)
    # Found longer ago than its term: due the moment it is reported, so overdue at once.
    assert deadline(POLICY, Severity.SEVERE, found_on=date(2020, 5, 12), reported_at=NOW) == NOW


@pytest.mark.parametrize(
    ("found_on", "reported_on", "allowed", "late"),
    [
        (date(2020, 5, 25), TODAY, 7, None),  # 7 days: in time
        (date(2020, 5, 24), TODAY, 7, 8),
        (TODAY, TODAY, 0, None),
        (date(2020, 5, 31), TODAY, 0, 1),  # a district that allows no delay
        (date(2020, 5, 12), TODAY, 7, 20),
    ],
)
def test_a_problem_reported_more_days_after_it_was_found_than_allowed_is_late(
    found_on: date, reported_on: date, allowed: int, late: int | None
) -> None:
    policy = replace(POLICY, late_report_days=allowed)
    assert days_late(policy, found_on=found_on, reported_on=reported_on) == late


def test_the_most_specific_area_holding_the_problem_has_its_officer() -> None:
    assert areas_holding(VILLAGE) == [VILLAGE, TOWNSHIP, DISTRICT_AREA]
    assert areas_holding(TOWNSHIP) == [TOWNSHIP, DISTRICT_AREA]
    district = OFFICER.model_copy(update={"person_id": "district-wang"})
    officers = {DISTRICT_AREA: district, TOWNSHIP: OFFICER}
    assert officer_for(officers, VILLAGE) == OFFICER
    assert officer_for(officers, FAR_VILLAGE) == district
    assert officer_for({"371523102": OFFICER}, VILLAGE) is None  # another township's officer is no one's here


def test_who_answers_the_source_then_the_inspector_then_the_officer_then_the_township_office() -> None:
    assert responsibility(area_code=VILLAGE, named=CADRE, officer=OFFICER) == Responsibility.of(CADRE)
    written = responsibility(area_code=VILLAGE, person="李四", officer=OFFICER)
    assert written == Responsibility(person_id=None, person="李四", unit=None, role=None)
    assert written.named is None  # no login: no notification can reach them
    assert responsibility(area_code=VILLAGE, officer=OFFICER).named == OFFICER
    nobody = responsibility(area_code=VILLAGE)
    assert nobody == Responsibility(person_id=None, person=None, unit="township_office:371523101", role=None)


def test_a_decision_names_the_person_given_else_the_findings() -> None:
    assert person_held_to_account(None, None, finding_person="李明", finding_unit="王庄村") == ("李明", "王庄村")
    assert person_held_to_account("王五", None, finding_person="李明", finding_unit="王庄村") == ("王五", "王庄村")
    with pytest.raises(InvalidInput):
        person_held_to_account(None, None, finding_person=None, finding_unit="township_office:371523101")


def test_late_reporting_is_a_serious_conduct_finding_on_the_same_subject_never_of_itself() -> None:
    facts = ProblemFacts(
        subject_kind=SubjectKind.HOUSEHOLD, subject_id="h1", area_code=VILLAGE, category=ProblemCategory.HOUSING,
        code="housing_unsafe", description="d", source_ref="p",
    )  # fmt: skip
    finding_id = uuid.uuid4()
    late = late_reporting(
        facts, Responsibility.of(CADRE), finding_id=finding_id, found_on=date(2020, 5, 12), reported_on=TODAY,
        policy=POLICY,
    )  # fmt: skip
    assert late is not None
    assert (late.code, late.category, late.stated_severity, late.subject_id, late.responsible) == (
        LATE_REPORTING, ProblemCategory.CONDUCT, Severity.SERIOUS, "h1", CADRE,
    )  # fmt: skip
    assert (late.source_ref, late.found_on) == (str(finding_id), TODAY)
    assert "2020-05-12" in late.description and "2020-06-01" in late.description
    again = late_reporting(
        late, Responsibility.of(CADRE), finding_id=uuid.uuid4(), found_on=date(2020, 1, 1), reported_on=TODAY,
        policy=POLICY,
    )  # fmt: skip
    assert again is None


# --- who a finding names, from its source -------------------------------------------------------------------------


async def test_a_household_problem_names_its_helper_cadre_who_is_notified(sessions: Any) -> None:
    event = problem()
    await consume(sessions, event)
    [finding] = await rows(sessions, Finding)
    [task] = await rows(sessions, RectificationTask)
    assert (finding.responsible_person_id, finding.responsible_person, finding.responsible_unit) == (
        "cadre-li",
        "李明",
        "区农业农村局",
    )
    assert (finding.responsible_role, finding.found_on, task.owner) == (
        "helper_cadre",
        TODAY,
        "township_office:371523101",  # the township office works the task; the cadre answers for it
    )
    assert task.deadline == end_of_day(TODAY + timedelta(days=POLICY.serious_days))
    [notice] = await rows(sessions, Notification)
    assert (notice.person_id, notice.kind, notice.finding_id, notice.task_id) == (
        "cadre-li",
        "assigned",
        finding.id,
        task.id,
    )
    async with sessions() as s:
        outbox = (await s.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    recorded = json.loads(next(m.payload for m in outbox if m.event_type.endswith("finding_recorded.v1")))
    assert (recorded["responsible"], recorded["found_on"]) == (CADRE.model_dump(mode="json"), "2020-06-01")


async def test_a_problem_no_one_is_named_for_goes_to_the_officer_of_the_most_specific_area(sessions: Any) -> None:
    await set_officer(sessions, TOWNSHIP, OFFICER)
    district = OFFICER.model_copy(update={"person_id": "district-wang", "name": "王区长", "unit": "区扶贫办"})
    await set_officer(sessions, DISTRICT_AREA, district)
    near, far = problem(responsible=None), problem(responsible=None, area_code=FAR_VILLAGE)
    await consume(sessions, near)
    await consume(sessions, far)
    named = {f.area_code: (f.responsible_person_id, f.responsible_role) for f in await rows(sessions, Finding)}
    assert named == {VILLAGE: ("jiazhai-zhang", "township_officer"), FAR_VILLAGE: ("district-wang", "township_officer")}
    assert sorted(n.person_id for n in await rows(sessions, Notification)) == ["district-wang", "jiazhai-zhang"]


async def test_with_no_officer_the_township_office_answers_and_no_one_is_notified(sessions: Any) -> None:
    await consume(sessions, problem(responsible=None))
    [finding] = await rows(sessions, Finding)
    assert (finding.responsible_person_id, finding.responsible_person, finding.responsible_unit) == (
        None,
        None,
        "township_office:371523101",
    )
    assert await rows(sessions, Notification) == []


async def test_a_project_problem_names_its_manager(sessions: Any) -> None:
    manager = ResponsiblePerson(
        person_id="manager-9", name="张伟", unit="项目 XM-2020-001", role=ResponsibleRole.PROJECT_MANAGER
    )
    await consume(
        sessions,
        ProjectProblemFound(
            project_id=uuid.uuid4(), problem_id=uuid.uuid4(), area_code=VILLAGE, code="asset_idle",
            description="大棚闲置", found_on=TODAY, found_by="inspector-2", responsible=manager,
        ),
    )  # fmt: skip
    [finding] = await rows(sessions, Finding)
    assert (finding.subject_kind, finding.responsible_person_id, finding.responsible_unit, finding.found_on) == (
        "project",
        "manager-9",
        "项目 XM-2020-001",
        TODAY,
    )


async def test_a_leak_names_the_approver_of_its_payment(sessions: Any) -> None:
    approver = ResponsiblePerson(
        person_id="director", name="director", unit="财政所 dibao", role=ResponsibleRole.PAYMENT_APPROVER
    )
    leak = SubsidyLeakFound(
        household_id=uuid.uuid4(), leak_id=uuid.uuid4(), check_id=uuid.uuid4(), kind=LeakKind.PAID_AFTER_DEATH,
        payment_id=uuid.uuid4(), area_code=VILLAGE, policy_code="dibao", period="2020-05", detail="died 2020-04-02",
        found_on=date(2020, 5, 30), responsible=approver,
    )  # fmt: skip
    await consume(sessions, leak)
    [finding] = await rows(sessions, Finding)
    assert (finding.code, finding.responsible_person_id, finding.responsible_role, finding.found_on) == (
        "subsidy_paid_after_death",
        "director",
        "payment_approver",
        date(2020, 5, 30),
    )


async def test_an_older_publishers_gap_is_found_the_day_it_was_published(sessions: Any) -> None:
    gap = SubsidyCoverageGap(
        household_id=uuid.uuid4(), check_id=uuid.uuid4(), area_code=VILLAGE, policy_code="dibao", period="2020-05"
    )
    await consume(sessions, gap, at=datetime(2020, 5, 31, 17, tzinfo=UTC))  # 1 June 01:00 in the district
    [finding] = await rows(sessions, Finding)
    assert finding.found_on == TODAY


# --- when it was found, and late reporting (迟报) ------------------------------------------------------------------


async def test_a_problem_found_weeks_before_it_was_reported_is_overdue_at_once_and_a_late_reporting(
    sessions: Any,
) -> None:
    event = problem(found_on=date(2020, 5, 12), found_by="cadre-li")  # the cadre's own visit, entered on 1 June
    await consume(sessions, event)
    found = {f.code: f for f in await rows(sessions, Finding)}
    assert sorted(found) == [LATE_REPORTING, "school_dropout"]
    original, late = found["school_dropout"], found[LATE_REPORTING]
    tasks = {t.finding_id: t for t in await rows(sessions, RectificationTask)}
    assert (original.found_on, tasks[original.id].deadline) == (date(2020, 5, 12), NOW)  # 15 days were up by 27 May
    assert (late.category, late.severity, late.subject_id, late.source_ref) == (
        "conduct",
        "serious",
        original.subject_id,
        str(original.id),
    )
    assert (late.responsible_person_id, late.found_on) == ("cadre-li", TODAY)
    assert "found on 2020-05-12 and reported on 2020-06-01, 20 days later" in late.description
    assert sorted(n.finding_id for n in await rows(sessions, Notification)) == sorted([original.id, late.id])
    await consume(sessions, event)  # the same problem again: an occurrence, not another late report
    late_ones = col(Finding.code) == LATE_REPORTING
    assert [f.occurrences for f in await rows(sessions, Finding, late_ones)] == [1]
    other = problem(
        found_on=date(2020, 5, 20),
        household_id=event.household_id,
        problem_id=uuid.uuid4(),
        code="no_medical_insurance",
    )
    await consume(sessions, other)  # another problem of the household kept back: the open late report recurs
    assert [f.occurrences for f in await rows(sessions, Finding, late_ones)] == [2]


async def test_audits_own_delay_makes_no_one_late(sessions: Any) -> None:
    # Published the day after it was found; audit's consumer only catches up weeks later.
    await consume(sessions, problem(found_on=date(2020, 5, 12)), at=datetime(2020, 5, 13, 2, tzinfo=UTC))
    [finding] = await rows(sessions, Finding)
    assert (finding.code, finding.found_on) == ("school_dropout", date(2020, 5, 12))


async def test_a_report_within_the_allowed_days_is_no_late_reporting(sessions: Any) -> None:
    await consume(sessions, problem(found_on=date(2020, 5, 25)))
    assert [(f.code, f.found_on) for f in await rows(sessions, Finding)] == [("school_dropout", date(2020, 5, 25))]


# --- the areas' officers ------------------------------------------------------------------------------------------


OFFICER_BODY = {"person_id": "jiazhai-zhang", "name": "张卫东", "unit": "贾寨镇扶贫办"}


async def test_the_district_office_sets_an_areas_officer_and_readers_list_those_within_reach(api: Any) -> None:
    _, client = api
    r = await client.put(f"/v1/area-officers/{TOWNSHIP}", json=OFFICER_BODY, headers=DISTRICT)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("area_code", "person_id", "name", "unit", "set_by")} == {
        "area_code": TOWNSHIP,
        **OFFICER_BODY,
        "set_by": "district-officer-1",
    }
    replaced = {**OFFICER_BODY, "person_id": "jiazhai-liu", "name": "刘洋"}
    assert (await client.put(f"/v1/area-officers/{TOWNSHIP}", json=replaced, headers=DISTRICT)).status_code == 200
    far = {**OFFICER_BODY, "person_id": "wenchen-sun"}
    assert (await client.put("/v1/area-officers/371523105", json=far, headers=DISTRICT)).status_code == 200
    everyone = (await client.get("/v1/area-officers?limit=1", headers=DISTRICT)).json()
    assert [o["person_id"] for o in everyone["items"]] == ["jiazhai-liu"] and everyone["next_cursor"]
    rest = await client.get(f"/v1/area-officers?cursor={everyone['next_cursor']}", headers=DISTRICT)
    assert [o["person_id"] for o in rest.json()["items"]] == ["wenchen-sun"]
    own = (await client.get("/v1/area-officers", headers=TOWNSHIP_OFFICE)).json()["items"]
    assert [o["person_id"] for o in own] == ["jiazhai-liu"]


@pytest.mark.parametrize(
    ("area", "body", "headers", "status"),
    [
        (TOWNSHIP, OFFICER_BODY, TOWNSHIP_OFFICE, 403),
        (TOWNSHIP, OFFICER_BODY, INSPECTOR, 403),
        ("3715231", OFFICER_BODY, DISTRICT, 422),
        (TOWNSHIP, {**OFFICER_BODY, "name": "身份证11010519491231002X"}, DISTRICT, 422),
        (TOWNSHIP, {**OFFICER_BODY, "person_id": "11010519491231002X"}, DISTRICT, 422),  # it would be published
        (TOWNSHIP, {**OFFICER_BODY, "role": "helper_cadre"}, DISTRICT, 422),
        (TOWNSHIP, {"person_id": "x", "name": "x"}, DISTRICT, 422),
    ],
)
async def test_a_bad_or_forbidden_officer_is_refused_and_changes_nothing(
    api: Any, area: str, body: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    app, client = api
    assert_problem(await client.put(f"/v1/area-officers/{area}", json=body, headers=headers), status)
    async with app.state.sessions() as s:
        assert (await s.scalars(select(AreaOfficer))).all() == []


# --- handing a finding over ---------------------------------------------------------------------------------------


MANUAL = {
    "subject_kind": "household",
    "subject_id": str(uuid.UUID(int=7)),
    "area_code": VILLAGE,
    "category": "policy_delivery",
    "code": "file_incomplete",
    "description": "identification file missing the income page",
    "evidence": [{"kind": "photo", "reference": "archive://2020/05/h1.jpg"}],
}
HANDOVER = {
    "person_id": "wangzhuang-li",
    "name": "李明",
    "unit": "贾寨镇王庄村",
    "role": "helper_cadre",
    "reason": "帮扶责任人调整",
}


async def manual_finding(client: Any, **changes: Any) -> dict[str, Any]:
    r = await client.post("/v1/findings", json={**MANUAL, **changes}, headers=INSPECTOR)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def notices(app: Any) -> list[tuple[str, str]]:
    async with app.state.sessions() as s:
        found = (await s.scalars(select(Notification).order_by(col(Notification.created_at)))).all()
    return [(n.person_id, n.kind) for n in found]


async def test_a_finding_is_handed_to_another_person_recorded_published_and_notified(api: Any) -> None:
    app, client = api
    assert (await client.put(f"/v1/area-officers/{TOWNSHIP}", json=OFFICER_BODY, headers=DISTRICT)).status_code == 200
    finding = await manual_finding(client)
    assert (finding["responsible_person_id"], finding["responsible_role"]) == ("jiazhai-zhang", "township_officer")
    r = await client.post(f"/v1/findings/{finding['id']}/responsible", json=HANDOVER, headers=TOWNSHIP_OFFICE)
    assert r.status_code == 201, r.text
    change = r.json()
    assert {k: change[k] for k in ("from_person_id", "from_person", "to_person_id", "to_role", "changed_by")} == {
        "from_person_id": "jiazhai-zhang",
        "from_person": "张卫东",
        "to_person_id": "wangzhuang-li",
        "to_role": "helper_cadre",
        "changed_by": "township-officer-1",
    }
    now = (await client.get(f"/v1/findings/{finding['id']}", headers=DISTRICT)).json()
    assert (now["responsible_person_id"], now["responsible_person"], now["responsible_unit"]) == (
        "wangzhuang-li",
        "李明",
        "贾寨镇王庄村",
    )
    assert await notices(app) == [("jiazhai-zhang", "assigned"), ("wangzhuang-li", "assigned")]
    async with app.state.sessions() as s:
        [published] = (
            await s.scalars(
                select(OutboxMessage).where(col(OutboxMessage.event_type).endswith("finding_reassigned.v1"))
            )
        ).all()
    assert json.loads(published.payload)["responsible"]["person_id"] == "wangzhuang-li"
    assert "帮扶责任人调整" not in published.payload  # the reason stays in audit
    history = (await client.get(f"/v1/findings/{finding['id']}/responsibility", headers=DISTRICT)).json()
    assert [(c["id"], c["reason"]) for c in history["items"]] == [(change["id"], "帮扶责任人调整")]


async def test_a_hand_over_that_cannot_be_made_is_refused_and_changes_nothing(api: Any) -> None:
    app, client = api
    finding = await manual_finding(client)
    path = f"/v1/findings/{finding['id']}/responsible"
    assert (await client.post(path, json=HANDOVER, headers=DISTRICT)).status_code == 201
    refused = [
        (path, HANDOVER, DISTRICT, 409),  # the person already answers for it
        (path, {**HANDOVER, "person_id": "x", "role": "mayor"}, DISTRICT, 422),
        (path, {**HANDOVER, "person_id": "x", "reason": "身份证11010519491231002X"}, DISTRICT, 422),
        (path, {**HANDOVER, "person_id": "x"}, FAR_TOWNSHIP_OFFICE, 403),
        (path, {**HANDOVER, "person_id": "x"}, INSPECTOR, 403),
        (f"/v1/findings/{uuid.uuid4()}/responsible", HANDOVER, DISTRICT, 404),
    ]
    for target, body, headers, status in refused:
        assert_problem(await client.post(target, json=body, headers=headers), status)
    async with app.state.sessions() as s:
        await s.execute(update(Finding).values(status="closed"))
        await s.commit()
    assert_problem(await client.post(path, json={**HANDOVER, "person_id": "x"}, headers=DISTRICT), 409)
    async with app.state.sessions() as s:
        assert len((await s.scalars(select(ResponsibilityChange))).all()) == 1
    assert_problem(await client.get(f"/v1/findings/{finding['id']}/responsibility", headers=FAR_TOWNSHIP_OFFICE), 403)


# --- an inspector's finding: when found; decisions and leads start from the names ----------------------------------


async def test_an_inspectors_finding_takes_the_day_found_and_a_late_one_is_late_reporting(api: Any) -> None:
    app, client = api
    assert_problem(await client.post("/v1/findings", json={**MANUAL, "found_on": "2020-06-02"}, headers=INSPECTOR), 422)
    async with app.state.sessions() as s:
        assert (await s.scalars(select(Finding))).all() == []
    today = await manual_finding(client)
    assert today["found_on"] == "2020-06-01"
    kept_back = await manual_finding(client, code="income_page_missing", found_on="2020-05-12")
    assert kept_back["found_on"] == "2020-05-12"
    listed = (await client.get(f"/v1/findings?subject_id={MANUAL['subject_id']}", headers=DISTRICT)).json()["items"]
    assert sorted(f["code"] for f in listed) == ["file_incomplete", "income_page_missing", LATE_REPORTING]


async def test_a_decision_without_a_name_holds_the_findings_responsible_person_to_account(api: Any) -> None:
    _, client = api
    assert (await client.put(f"/v1/area-officers/{TOWNSHIP}", json=OFFICER_BODY, headers=DISTRICT)).status_code == 200
    named = await manual_finding(client, severity="severe")  # severe: referred at once
    nobody = await manual_finding(client, severity="severe", subject_id=str(uuid.UUID(int=8)), area_code=FAR_VILLAGE)
    referrals = (await client.get("/v1/referrals", headers=COMMISSION)).json()["items"]
    by_finding = {r["finding_id"]: r for r in referrals}
    lead = by_finding[named["id"]]
    assert (lead["responsible_person_id"], lead["responsible_person"], lead["responsible_role"]) == (
        "jiazhai-zhang",
        "张卫东",
        "township_officer",
    )
    assert (by_finding[nobody["id"]]["responsible_person"], by_finding[nobody["id"]]["responsible_unit"]) == (
        None,
        "township_office:371523105",
    )
    decision = {"kind": "talk", "decided_on": "2020-06-01"}
    r = await client.post(f"/v1/referrals/{lead['id']}/accountability-actions", json=decision, headers=COMMISSION)
    assert r.status_code == 201, r.text
    assert (r.json()["person_name"], r.json()["person_unit"]) == ("张卫东", "贾寨镇扶贫办")
    unnamed = by_finding[nobody["id"]]["id"]
    path = f"/v1/referrals/{unnamed}/accountability-actions"
    assert_problem(await client.post(path, json=decision, headers=COMMISSION), 422)
    given = await client.post(
        path, json={**decision, "person_name": "王五", "person_unit": "温陈街道"}, headers=COMMISSION
    )
    assert (given.status_code, given.json()["person_name"]) == (201, "王五")


# --- statistics by person and unit --------------------------------------------------------------------------------


STATS_AT = datetime(2020, 7, 15, 2, tzinfo=UTC)


def person(login: str, unit: str) -> ResponsiblePerson:
    return ResponsiblePerson(person_id=login, name=login.upper(), unit=unit, role=ResponsibleRole.HELPER_CADRE)


async def record(
    sessions: async_sessionmaker[AsyncSession],
    code: str,
    opened: date,
    who: ResponsiblePerson | None,
    *,
    area: str = VILLAGE,
    closed: date | None = None,
) -> None:
    """A general finding (30 days) opened and found on `opened` at 10:00, closed on `closed` at 10:00 if given."""
    at = datetime(opened.year, opened.month, opened.day, 2, tzinfo=UTC)
    facts = ProblemFacts(
        subject_kind=SubjectKind.HOUSEHOLD, subject_id=f"h-{code}", area_code=area, category=ProblemCategory.CONDUCT,
        code=code, description=code, source_ref=code, responsible=who, found_on=opened,
    )  # fmt: skip
    async with unit_of_work(sessions) as s:
        finding = await findings.record_finding(s, facts, policy=POLICY, now=at)
        if closed is not None:
            finding.status, finding.closed_at = "closed", datetime(closed.year, closed.month, closed.day, 2, tzinfo=UTC)


async def a_month_of_findings(sessions: async_sessionmaker[AsyncSession]) -> None:
    """June 2020, counted on 15 July: a general finding opened on day d is due at the end of day d + 30."""
    a, b, d = person("cadre-a", "贾寨镇王庄村"), person("cadre-b", "贾寨镇李庄村"), person("cadre-d", "温陈街道")
    await record(sessions, "a-overdue", date(2020, 6, 1), a)  # due 1 July: overdue
    await record(sessions, "a-open", date(2020, 6, 20), a)  # due 20 July
    await record(sessions, "a-on-time", date(2020, 6, 1), a, closed=date(2020, 6, 10))
    await record(sessions, "a-late", date(2020, 6, 1), a, closed=date(2020, 7, 5))
    await record(sessions, "b-overdue-1", date(2020, 6, 2), b)
    await record(sessions, "b-overdue-2", date(2020, 6, 3), b)
    await record(sessions, "c-before", date(2020, 5, 31), person("cadre-c", "贾寨镇王庄村"))  # before the period
    await record(sessions, "d-overdue", date(2020, 6, 5), d, area=FAR_VILLAGE)
    await record(sessions, "nobody", date(2020, 6, 6), None)  # the township office answers


def tally(opened: int, still_open: int, overdue: int, on_time: int, late: int) -> dict[str, int]:
    return {"opened": opened, "open": still_open, "overdue": overdue, "closed_on_time": on_time, "closed_late": late}


EXPECTED_PEOPLE = [
    {"person_id": "cadre-b", "name": "CADRE-B", "unit": "贾寨镇李庄村", **tally(2, 2, 2, 0, 0)},
    {"person_id": "cadre-a", "name": "CADRE-A", "unit": "贾寨镇王庄村", **tally(4, 2, 1, 1, 1)},
    {"person_id": "cadre-d", "name": "CADRE-D", "unit": "温陈街道", **tally(1, 1, 1, 0, 0)},
]
EXPECTED_UNITS = {
    "贾寨镇李庄村": tally(2, 2, 2, 0, 0),
    "贾寨镇王庄村": tally(4, 2, 1, 1, 1),
    "温陈街道": tally(1, 1, 1, 0, 0),
    "township_office:371523101": tally(1, 1, 1, 0, 0),
}
JUNE = {"from": "2020-06-01", "to": "2020-06-30"}


async def walk(client: Any, path: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, a page of one at a time."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 1, **({"cursor": cursor} if cursor else {})}
        r = await client.get(path, params=query, headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        if (cursor := r.json()["next_cursor"]) is None:
            return items


async def check_statistics(app: Any, client: Any) -> None:
    """The statistics of `a_month_of_findings`, exactly (shared with the PostgreSQL test)."""
    await a_month_of_findings(app.state.sessions)
    app.dependency_overrides[request_time] = lambda: STATS_AT
    people = await walk(client, "/v1/statistics/people", COMMISSION, **JUNE)
    assert people == EXPECTED_PEOPLE  # the most overdue first, then by login
    units = await walk(client, "/v1/statistics/units", DISTRICT, **JUNE)
    assert {u.pop("unit"): u for u in units} == EXPECTED_UNITS
    assert [u["overdue"] for u in units] == [2, 1, 1, 1]
    own = (await client.get("/v1/statistics/people", params=JUNE, headers=TOWNSHIP_OFFICE)).json()["items"]
    assert [p["person_id"] for p in own] == ["cadre-b", "cadre-a"]  # a township office: its own area only
    village = {**JUNE, "area_code": FAR_VILLAGE}
    far = (await client.get("/v1/statistics/units", params=village, headers=auth("auditor"))).json()["items"]
    assert [u["unit"] for u in far] == ["温陈街道"]
    assert_problem(await client.get("/v1/statistics/people", params=village, headers=TOWNSHIP_OFFICE), 403)
    assert_problem(await client.get("/v1/statistics/people", params=JUNE, headers=INSPECTOR), 403)
    for bad in ({"from": "2020-06-30", "to": "2020-06-01"}, {"from": "2020-06-01"}, {**JUNE, "area_code": "37"}):
        assert_problem(await client.get("/v1/statistics/units", params=bad, headers=DISTRICT), 422)


async def test_statistics_count_each_persons_and_units_findings_exactly(api: Any) -> None:
    await check_statistics(*api)


# --- the publishers: a household's helper cadre -------------------------------------------------------------------


async def test_a_visit_to_a_household_with_a_helper_cadre_names_the_cadre_on_audits_finding_and_task(
    sqlite_url: Any,
) -> None:
    from tests.unit.test_households_helpers import OFFICE, household, households_app, member, register

    async with households_app(sqlite_url) as (households, client):
        cadre = {"subject": "cadre-li", "name": "李明", "unit": "区农业农村局", "area_code": TOWNSHIP}
        cadre_id = (await client.post("/v1/helper-cadres", json=cadre, headers=OFFICE)).json()["id"]
        helped = await register(client, household("CP-1"))
        alone = await register(client, household("CP-2", VILLAGE, member("李四", "head", date(1961, 3, 1), seq=2)))
        assigned = {"helper_cadre_id": cadre_id}
        r = await client.put(f"/v1/households/{helped['id']}/helper-cadre", json=assigned, headers=OFFICE)
        assert r.status_code == 200, r.text
        visit = {
            "round": 2,
            "visited_on": district_today().isoformat(),
            "visitor": "李明",
            "problems": [{"category": "schooling", "code": "school_dropout", "description": "12岁儿子辍学在家"}],
        }
        for target in (helped, alone):
            r = await client.post(f"/v1/households/{target['id']}/visits", json=visit, headers=OFFICE)
            assert r.status_code == 201, r.text
        async with households.state.sessions() as s:
            outbox = (await s.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    published = [
        HouseholdProblemFound.model_validate_json(m.payload)
        for m in outbox
        if m.event_type == HouseholdProblemFound.event_type
    ]
    assert {str(p.household_id): p.responsible for p in published} == {
        helped["id"]: ResponsiblePerson(
            person_id="cadre-li", name="李明", unit="区农业农村局", role=ResponsibleRole.HELPER_CADRE
        ),
        alone["id"]: None,
    }
    async with running_app("audit", await sqlite_url("audit")) as (audit, audit_client):
        officer = await audit_client.put(f"/v1/area-officers/{TOWNSHIP}", json=OFFICER_BODY, headers=DISTRICT)
        assert officer.status_code == 200
        for event in published:
            await apply_event(audit, event)
        found = (await audit_client.get("/v1/findings", headers=DISTRICT)).json()["items"]
        named = {f["subject_id"]: (f["responsible_person_id"], f["responsible_unit"]) for f in found}
        assert named == {helped["id"]: ("cadre-li", "区农业农村局"), alone["id"]: ("jiazhai-zhang", "贾寨镇扶贫办")}
        cadres_finding = next(f for f in found if f["subject_id"] == helped["id"])
        tasks = await audit_client.get(f"/v1/rectification-tasks?finding_id={cadres_finding['id']}", headers=DISTRICT)
        [task] = tasks.json()["items"]
        async with audit.state.sessions() as s:
            [notice] = (await s.scalars(select(Notification).where(col(Notification.person_id) == "cadre-li"))).all()
    assert (notice.kind, str(notice.finding_id), str(notice.task_id)) == ("assigned", cadres_finding["id"], task["id"])


@contextmanager
def statements_naming(table: str) -> Iterator[list[str]]:
    """The SQL statements any engine runs meanwhile that name `table`."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if table in statement.lower():
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)


async def test_an_import_names_a_registered_households_cadre_read_with_the_households(
    sqlite_url: Any, tmp_path: Path
) -> None:
    from tests.unit.test_households_helpers import OFFICE, households_app, make_id
    from tests.unit.test_households_import import row, run, write

    async with households_app(sqlite_url) as (households, client):
        cadre = {"subject": "cadre-li", "name": "李明", "unit": "区农业农村局", "area_code": TOWNSHIP}
        cadre_id = (await client.post("/v1/helper-cadres", json=cadre, headers=OFFICE)).json()["id"]
        head = {"name": "户主IM-1", "relationship_to_head": "head", "birth_date": "1960-03-01",
                "id_number": make_id(date(1960, 3, 1), 1)}  # fmt: skip
        body = {"household_code": "IM-1", "area_code": VILLAGE, "head_name": "户主IM-1", "members": [head]}
        registered = (await client.post("/v1/households", json=body, headers=OFFICE)).json()
        put = f"/v1/households/{registered['id']}/helper-cadre"
        assert (await client.put(put, json={"helper_cadre_id": cadre_id}, headers=OFFICE)).status_code == 200
        today = district_today()
        born = today.replace(year=today.year - 12, day=1)  # school age whenever the test runs
        child = row("IM-1", "张小明", born, make_id(born, 2), relationship_to_head="son", enrolment="dropped_out")
        fresh = row("IM-2", "王二", date(1970, 1, 5), make_id(date(1970, 1, 5), 3))
        url = str(households.state.runtime.settings.database_url)
        with statements_naming("helpercadre") as cadre_reads:
            report, errors = await run(url, write(tmp_path / "h.csv", [child, fresh]))
        assert (errors, report.members_added) == ([], 2)
        assert len(cadre_reads) == 1  # the chunk's cadres come with its registered households: one query
        async with households.state.sessions() as s:
            outbox = (await s.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    [dropout] = [
        HouseholdProblemFound.model_validate_json(m.payload)
        for m in outbox
        if m.event_type == HouseholdProblemFound.event_type
    ]
    assert (str(dropout.household_id), dropout.responsible) == (
        registered["id"],
        ResponsiblePerson(person_id="cadre-li", name="李明", unit="区农业农村局", role=ResponsibleRole.HELPER_CADRE),
    )
