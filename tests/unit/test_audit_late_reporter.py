"""Late reporting (迟报) is held against whoever reported late: the cadre who entered their own visit late, never
the household's cadre for a department's feed or another's check (then the area's officer, else the township);
and a lead (线索) or a conduct finding changes hands only by the district office or the discipline commission."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import col

from services.audit.models import Finding, Notification
from services.audit.rules.responsibility import LATE_REPORTING, Responsibility, late_reporter
from shared.api.clock import request_time
from shared.contracts.accountability import ResponsiblePerson, ResponsibleRole
from tests.support import assert_problem
from tests.unit.test_audit_people import (
    CADRE,
    COMMISSION,
    DISTRICT,
    HANDOVER,
    INSPECTOR,
    OFFICER,
    OFFICER_BODY,
    TOWNSHIP,
    TOWNSHIP_OFFICE,
    VILLAGE,
    api,
    consume,
    manual_finding,
    problem,
    rows,
    sessions,
    set_officer,
)

__all__ = ["api", "sessions"]


def test_the_reporter_is_the_finder_only_when_the_finder_answers_for_the_finding() -> None:
    cadre = Responsibility.of(CADRE)
    assert late_reporter(cadre, finder="cadre-li", officer=OFFICER, area_code=VILLAGE) == cadre
    assert late_reporter(cadre, finder="zhujian-ju", officer=OFFICER, area_code=VILLAGE).named == OFFICER
    nobody = late_reporter(cadre, finder=None, officer=None, area_code=VILLAGE)
    assert (nobody.person_id, nobody.unit) == (None, "township_office:371523101")


async def test_a_departments_old_appraisal_is_late_against_the_officer_and_the_cadre_hears_nothing_of_it(
    sessions: Any,
) -> None:
    await set_officer(sessions, VILLAGE[:9], OFFICER)
    await consume(sessions, problem(found_on=date(2020, 4, 2), found_by="zhujian-ju", code="housing_unsafe"))
    found = {f.code: f for f in await rows(sessions, Finding)}
    assert found["housing_unsafe"].responsible_person_id == "cadre-li"  # the house is still the cadre's to follow
    assert found[LATE_REPORTING].responsible_person_id == OFFICER.person_id
    late_notes = await rows(sessions, Notification, col(Notification.finding_id) == found[LATE_REPORTING].id)
    assert [n.person_id for n in late_notes] == [OFFICER.person_id]


async def test_a_checks_late_problem_without_an_officer_names_no_one_but_the_township(sessions: Any) -> None:
    await consume(sessions, problem(found_on=date(2020, 4, 2), found_by="integrity_check"))
    [late] = await rows(sessions, Finding, col(Finding.code) == LATE_REPORTING)
    assert (late.responsible_person_id, late.responsible_unit) == (None, "township_office:371523101")
    assert await rows(sessions, Notification, col(Notification.finding_id) == late.id) == []


# --- who hands over a lead (线索) ----------------------------------------------------------------------------------


async def test_a_referred_or_conduct_finding_is_handed_over_only_by_the_district_or_the_commission(api: Any) -> None:
    _, client = api
    for changes in ({"severity": "severe"}, {"category": "conduct", "code": "relative_beneficiary"}):
        finding = await manual_finding(client, **changes)
        path = f"/v1/findings/{finding['id']}/responsible"
        refused = assert_problem(await client.post(path, json=HANDOVER, headers=TOWNSHIP_OFFICE), 403)
        assert refused["code"] == "referred_finding"
        now = (await client.get(f"/v1/findings/{finding['id']}", headers=DISTRICT)).json()
        assert now["responsible_person_id"] != HANDOVER["person_id"]
        assert (await client.post(path, json=HANDOVER, headers=COMMISSION)).status_code == 201
        again = {**HANDOVER, "person_id": "wangzhuang-wang"}
        assert (await client.post(path, json=again, headers=DISTRICT)).status_code == 201


async def test_a_township_office_still_hands_over_an_ordinary_finding(api: Any) -> None:
    _, client = api
    finding = await manual_finding(client)
    path = f"/v1/findings/{finding['id']}/responsible"
    assert (await client.post(path, json=HANDOVER, headers=TOWNSHIP_OFFICE)).status_code == 201


# --- statistics count overdue as the overdue list does ------------------------------------------------------------


async def test_a_rectification_submitted_by_its_deadline_is_not_overdue_and_closes_on_time(api: Any) -> None:
    app, client = api
    assert (await client.put(f"/v1/area-officers/{TOWNSHIP}", json=OFFICER_BODY, headers=DISTRICT)).status_code == 200
    await manual_finding(client)
    [task] = (await client.get("/v1/rectification-tasks", headers=DISTRICT)).json()["items"]
    path = f"/v1/rectification-tasks/{task['id']}"
    assert (await client.post(f"{path}/start", headers=TOWNSHIP_OFFICE)).status_code == 200
    done = {"summary": "已补齐", "evidence": [{"kind": "document", "reference": "档案"}]}
    assert (await client.post(f"{path}/submissions", json=done, headers=TOWNSHIP_OFFICE)).status_code == 201
    later = datetime.fromisoformat(task["deadline"]) + timedelta(days=3)
    app.dependency_overrides[request_time] = lambda: later
    span = {"from": "2020-01-01", "to": "2020-12-31"}
    [mine] = (await client.get("/v1/statistics/people", params=span, headers=DISTRICT)).json()["items"]
    assert (mine["open"], mine["overdue"]) == (1, 0)
    assert (await client.get("/v1/views/overdue-tasks", headers=DISTRICT)).json()["items"] == []
    checked = {"passed": True, "notes": "核实"}
    assert (await client.post(f"{path}/follow-up-checks", json=checked, headers=INSPECTOR)).status_code == 201
    assert (await client.post(f"{path}/close", headers=INSPECTOR)).status_code == 200
    [mine] = (await client.get("/v1/statistics/people", params=span, headers=DISTRICT)).json()["items"]
    assert (mine["closed_on_time"], mine["closed_late"]) == (1, 0)


# --- a power holder (优亲厚友) is not tipped off -------------------------------------------------------------------

POWER_HOLDER = ResponsiblePerson(
    person_id="cadre-zhishu", name="王书记", unit="王庄村党支部", role=ResponsibleRole.POWER_HOLDER
)


async def test_a_lead_against_a_power_holder_tells_the_officer_not_the_suspect(sessions: Any) -> None:
    conflict: dict[str, Any] = {"category": "conduct", "code": "relative_beneficiary", "severity": "severe"}
    await consume(sessions, problem(responsible=POWER_HOLDER, **conflict))  # no officer set: no one is told
    assert await rows(sessions, Notification) == []
    await set_officer(sessions, VILLAGE[:9], OFFICER)
    await consume(sessions, problem(responsible=POWER_HOLDER, **conflict))
    held = await rows(sessions, Finding, col(Finding.responsible_person_id) == POWER_HOLDER.person_id)
    assert len(held) == 2  # both name the power holder: who answers is unchanged
    told = await rows(sessions, Notification)
    assert sorted((n.person_id, n.kind) for n in told) == [
        (OFFICER.person_id, "assigned"),
        (OFFICER.person_id, "referred"),
    ]
