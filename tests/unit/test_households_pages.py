"""Every list of the households service is a page: walked with a small `limit`, each list gives every item once,
in the order of one big page, and ends with a null cursor."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest

from shared.contracts.audit import FindingRecorded, Severity, SubjectKind
from shared.contracts.households import ProblemCategory
from tests.support import apply_event, auth
from tests.unit.test_households_helpers import OFFICE, VILLAGE, household, households_app, member, register

TOWNSHIP = "371523101"
AUDITOR = auth("auditor")


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with households_app(sqlite_url) as running:
        yield running


async def walk(client: Any, url: str, headers: dict[str, str] = OFFICE) -> list[dict[str, Any]]:
    """Every item of a list, two per page; checks the pages against one page of them all."""
    seen: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(url, params=params, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    whole = (await client.get(url, params={"limit": 500}, headers=headers)).json()
    assert whole["next_cursor"] is None and seen == whole["items"] and pages >= 2
    return seen


async def post(client: Any, url: str, body: dict[str, Any], headers: dict[str, str] = OFFICE) -> dict[str, Any]:
    r = await client.post(url, json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    result: dict[str, Any] = r.json()
    return result


async def a_household(client: Any) -> str:
    hid: str = (await register(client, household("PG-1", VILLAGE, member("张三", "head", date(1960, 3, 1), seq=1))))[
        "id"
    ]
    return hid


async def test_visits_page_in_visit_order(api: Any) -> None:
    _, client = api
    hid = await a_household(client)
    days = ["2020-05-03", "2020-05-01", "2020-05-03", "2020-05-02", "2020-05-03"]  # three on one day
    for n, day in enumerate(days, start=1):
        await post(client, f"/v1/households/{hid}/visits", {"round": n, "visited_on": day, "visitor": "王五"})
    visits = await walk(client, f"/v1/households/{hid}/visits")
    assert [v["visited_on"] for v in visits] == sorted(days) and len({v["id"] for v in visits}) == 5


async def test_appraisals_and_water_checks_page_oldest_first(api: Any) -> None:
    _, client = api
    hid = await a_household(client)
    for day, grade in [("2020-03-02", "A"), ("2020-03-01", "B"), ("2020-03-02", "B"), ("2020-03-03", "A")]:
        await post(
            client, f"/v1/households/{hid}/housing-appraisals", {"grade": grade, "appraised_on": day, "appraiser": "x"}
        )
    for day, problems in [("2020-04-02", []), ("2020-04-01", ["bacteria"]), ("2020-04-02", ["turbidity"])]:
        body = {"checked_on": day, "source": "well", "problems": problems, "checked_by": "x"}
        await post(client, f"/v1/households/{hid}/water-checks", body)
    await post(
        client, f"/v1/households/{hid}/water-checks", {"checked_on": "2020-03-01", "source": "piped", "checked_by": "x"}
    )
    appraisals = await walk(client, f"/v1/households/{hid}/housing-appraisals")
    assert [(a["appraised_on"], a["grade"]) for a in appraisals] == [
        ("2020-03-01", "B"),
        ("2020-03-02", "A"),
        ("2020-03-02", "B"),  # the same day, recorded later
        ("2020-03-03", "A"),
    ]
    checks = await walk(client, f"/v1/households/{hid}/water-checks")
    assert [(c["checked_on"], c["problems"]) for c in checks] == [
        ("2020-03-01", []),
        ("2020-04-01", ["bacteria"]),
        ("2020-04-02", []),
        ("2020-04-02", ["turbidity"]),
    ]


async def test_id_number_reveals_page_oldest_first(api: Any) -> None:
    _, client = api
    hid = await a_household(client)
    mid = (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["members"][0]["id"]
    for n in range(5):
        await post(client, f"/v1/households/{hid}/members/{mid}/id-number/reveal", {"reason": f"核对身份 {n}"})
    reveals = await walk(client, f"/v1/households/{hid}/id-number-reveals", AUDITOR)
    assert [r["reason"] for r in reveals] == [f"核对身份 {n}" for n in range(5)]


async def test_open_findings_page_by_their_last_change(api: Any) -> None:
    app, client = api
    hid = await a_household(client)
    times = [datetime(2020, 5, d, tzinfo=UTC) for d in (3, 1, 2, 3, 3)]
    for n, at in enumerate(times):
        finding = FindingRecorded(
            finding_id=uuid4(),
            subject_kind=SubjectKind.HOUSEHOLD,
            subject_id=hid,
            area_code=VILLAGE,
            category=ProblemCategory.SCHOOLING,
            code=f"school_dropout_{n}",
            severity=Severity.GENERAL,
            description="child out of school",
        )
        await apply_event(app, finding, at=at)
    findings = await walk(client, f"/v1/households/{hid}/open-findings")
    assert sorted(f["code"] for f in findings) == [f"school_dropout_{n}" for n in range(5)]
    assert findings[0]["code"] == "school_dropout_1"  # the least recently changed first


async def test_poverty_lines_page_by_year(api: Any) -> None:
    _, client = api
    for year in (2019, 2016, 2018, 2017, 2020):
        r = await client.put(
            f"/v1/poverty-lines/{year}", json={"line_fen": 400_000 + year, "monitoring_margin_fen": 0}, headers=OFFICE
        )
        assert r.status_code == 200, r.text
    assert [line["year"] for line in await walk(client, "/v1/poverty-lines")] == [2016, 2017, 2018, 2019, 2020]


async def test_helper_cadres_page_by_name(api: Any) -> None:
    _, client = api
    for n, name in enumerate(["王五", "李四", "王五", "赵六", "张三"]):  # two cadres share a name
        await post(
            client,
            "/v1/helper-cadres",
            {"subject": f"cadre-{n}", "name": name, "unit": "区财政局", "area_code": TOWNSHIP},
        )
    cadres = await walk(client, "/v1/helper-cadres")
    assert [c["name"] for c in cadres] == sorted(["王五", "李四", "王五", "赵六", "张三"])
    assert len({c["subject"] for c in cadres}) == 5


async def test_monitoring_episodes_page_oldest_first(api: Any) -> None:
    _, client = api
    hid = await a_household(client)
    opened = ["2020-03-01", "2020-04-01", "2020-05-01"]
    for day in opened:
        episode = await post(
            client, f"/v1/households/{hid}/risk-flags", {"kind": "disaster", "detail": "冰雹", "raised_on": day}
        )
        url = f"/v1/monitoring-episodes/{episode['id']}"
        await post(
            client, f"{url}/measures", {"kind": "temporary_assistance", "description": "临时救助", "taken_on": day}
        )
        await post(
            client, f"{url}/close", {"decision": "risk_eliminated", "evidence": "救助到位, 风险消除", "closed_on": day}
        )
    await post(
        client, f"/v1/households/{hid}/risk-flags", {"kind": "job_loss", "detail": "失业", "raised_on": "2020-06-01"}
    )
    episodes = await walk(client, f"/v1/households/{hid}/monitoring-episodes")
    assert await walk(client, "/v1/monitoring-episodes") == episodes  # the district's: this household's alone
    assert [(e["opened_on"], e["status"]) for e in episodes] == [
        *((day, "closed") for day in opened),
        ("2020-06-01", "open"),
    ]
