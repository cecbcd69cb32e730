"""Demo data from the district's half-year report: households in five townships, visits, June 2020 of the
report's subsidy programmes paid end to end (`demo_subsidies.py`), and the report's industrial projects, their
funds, income, jobs and 双提升 plan (`demo_projects.py`)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.auth import issue_token
from shared.local import demo_projects, demo_subsidies
from shared.local.demo_subsidies import DemoError
from shared.settings import DEV_JWT_SECRET

# 贾寨镇, 冯屯镇, 博平镇, 胡屯镇, 温陈街道: the townships the report names (codes are illustrative).
TOWNSHIPS = {
    "371523101": "贾寨镇",
    "371523102": "冯屯镇",
    "371523103": "博平镇",
    "371523104": "胡屯镇",
    "371523105": "温陈街道",
}
HEADS = ["王秀英", "李桂兰", "张玉珍", "刘凤英", "陈淑珍", "杨建国", "赵德明", "黄志强", "周海燕", "吴春梅"]
INSURED = {"medical_insured": True}  # 参保: every member of the report's households is insured
VOCATIONAL = {**INSURED, "enrolment": "enrolled", "school_stage": "vocational", "school_name": "茌平区职业教育中心"}
DISABLED = {**INSURED, "disability_type": "physical", "disability_grade": 2, "disability_certified_on": "2018-05-10"}
# Each head's household beyond the head: (name, relationship, birth date, facts); and civil affairs' status from a
# date. The programmes they make the household entitled to in June 2020 are demo_subsidies.RUNS'. The two vocational
# students (雨露计划) get nothing in 2020: education's enrolment data carries no date, so subsidies knows them
# enrolled from the day it hears of it (today), and born in 2004 they are too young for 2020's pension premium.
MEMBERS: dict[int, list[tuple[str, str, str, dict[str, Any]]]] = {
    0: [("李建国", "spouse", "1948-11-20", INSURED)],
    1: [("张伟", "son", "1979-06-12", INSURED), ("张小军", "grandchild", "2008-09-01", INSURED)],
    3: [("赵强", "son", "1984-02-15", DISABLED)],
    4: [("陈静", "grandchild", "2004-09-08", VOCATIONAL)],
    5: [("杨磊", "son", "1983-04-21", INSURED)],
    6: [("赵丽", "daughter", "2004-05-30", VOCATIONAL)],
    7: [("孙美玲", "spouse", "1975-08-09", INSURED)],
}
ALLOWANCES = {
    0: ("dibao", "2020-01-01"),
    1: ("dibao", "2019-07-01"),
    2: ("extreme_poverty", "2019-01-01"),
    3: ("dibao", "2020-03-01"),
}


@dataclass
class Loaded:
    """What a load did: the households it registered now, the subsidy cycles it ran (or found run), and the
    projects' summary."""

    households: list[str] = field(default_factory=list)
    cycles: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"demo data: {len(self.households)} households registered (0 means loaded earlier)"]
        return "\n".join(lines + self.cycles + self.projects)


class Patient(httpx.HTTPTransport):
    """Sends a request again while the service answers 503: on SQLite a request's write can meet the service's own
    consumer writing. Not one with an Idempotency-Key: its refused attempt may have kept its claim of the key (on
    SQLite a savepoint's release commits what came before it), so the caller sends it again under another key."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "Idempotency-Key" in request.headers:
            return super().handle_request(request)
        for attempt in range(1, 10):
            response = super().handle_request(request)
            if response.status_code != 503:
                return response
            response.close()
            time.sleep(0.2 * attempt)
        return super().handle_request(request)


def _headers(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(DEV_JWT_SECRET, 'demo-loader', [role])}"}


def code_of(n: int) -> str:
    return f"DEMO-{n + 1:04d}"


def load(base_urls: dict[str, str], *, subsidies_database_url: str | None = None) -> Loaded:
    """Register ten households, record visits (one D-grade house, one dropout) and civil affairs' 低保 / 特困供养;
    with the subsidies service's address and database, pay June 2020 of the report's programmes; with the projects
    service's address, load the report's projects (and with subsidies', pay their plan and payroll). Loading again
    changes nothing."""
    office = _headers("district_office")
    loaded = Loaded()
    with httpx.Client(base_url=base_urls["households"], timeout=10, transport=Patient()) as client:
        registered: dict[str, dict[str, Any]] = {}
        for n, head in enumerate(HEADS):
            response = client.post("/v1/households", json=_household(n, head), headers=office)
            if response.status_code == 409:
                continue  # loaded on an earlier start
            response.raise_for_status()
            registered[code_of(n)] = response.json()
            loaded.households.append(response.json()["id"])
        households = _existing(client, office) | registered
        if stale := _stale(households):
            loaded.cycles = [f"June 2020 not paid: {stale} registered by an earlier demo (start on empty databases)"]
            return loaded
        # Before the visits, whose findings come back to households while it would be applying civil affairs' rows.
        _allowances(client, households)
        if code_of(0) in registered and code_of(1) in registered:
            _visits(client, registered[code_of(0)]["id"], registered[code_of(1)]["id"], office)
    paying = subsidies_database_url if "subsidies" in base_urls else None
    if paying is not None:
        loaded.cycles = demo_subsidies.replay_june_2020(base_urls["subsidies"], paying, households)
    if "projects" in base_urls:
        try:
            loaded.projects = demo_projects.load(base_urls["projects"], households, subsidies_database_url=paying)
        except DemoError as exc:  # the households and the month stand: the summary says what is missing
            loaded.projects = [f"projects of the report not loaded: {exc}"]
    return loaded


def _stale(households: dict[str, dict[str, Any]]) -> str:
    """The demo households (codes) registered with other members than the demo's now, by an earlier version."""
    expected = {code_of(n): len(_household(n, head)["members"]) for n, head in enumerate(HEADS)}
    return ", ".join(code for code, h in sorted(households.items()) if len(h["members"]) != expected.get(code))


def _household(n: int, head: str) -> dict[str, Any]:
    township = list(TOWNSHIPS)[n % len(TOWNSHIPS)]
    members = [{"name": head, "relationship_to_head": "head", "birth_date": f"19{50 + n}-03-01", **INSURED}]
    members += [
        {"name": name, "relationship_to_head": relationship, "birth_date": born, **facts}
        for name, relationship, born, facts in MEMBERS.get(n, [])
    ]
    return {"household_code": code_of(n), "area_code": f"{township}201", "head_name": head, "members": members}


def _existing(client: httpx.Client, office: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The demo households registered on an earlier start, by code (found in the demo's villages)."""
    found: dict[str, dict[str, Any]] = {}
    for village in sorted({_household(n, head)["area_code"] for n, head in enumerate(HEADS)}):
        cursor: str | None = None
        while True:
            params = {"area_code": village, "limit": 100} | ({"cursor": cursor} if cursor else {})
            page = client.get("/v1/households", params=params, headers=office).raise_for_status().json()
            found |= {h["household_code"]: h for h in page["items"] if h["household_code"].startswith("DEMO-")}
            if not (cursor := page["next_cursor"]):
                break
    return found


def _allowances(client: httpx.Client, households: dict[str, dict[str, Any]]) -> None:
    """Civil affairs puts households on 低保 / 特困供养 (民政 data), those not on it yet."""
    rows = [
        {"household_code": code_of(n), "status": status, "effective_on": since}
        for n, (status, since) in ALLOWANCES.items()
        if households.get(code_of(n), {}).get("minimum_allowance", status) != status
    ]
    if not rows:
        return
    key = "demo-allowances-" + hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]
    for attempt in range(1, 10):  # a refused attempt may keep its key (see Patient): the next one takes another
        response = client.post(
            "/v1/department-data/minimum_allowance",
            json={"rows": rows},
            headers={**_headers("dept_civil_affairs"), "Idempotency-Key": f"{key}-{attempt}"},
        )
        if response.status_code < 500:
            break
        time.sleep(0.2 * attempt)
    response.raise_for_status()


def _visits(client: httpx.Client, first: str, second: str, office: dict[str, str]) -> None:
    client.post(
        f"/v1/households/{first}/visits",
        headers=office,
        json={
            "round": 2,
            "visited_on": "2020-05-12",
            "visitor": "区扶贫办 王科长",
            "housing_grade": "D",
            "observations": "房屋墙体开裂, 鉴定为D级危房",
        },
    ).raise_for_status()
    client.post(
        f"/v1/households/{second}/visits",
        headers=office,
        json={
            "round": 2,
            "visited_on": "2020-05-14",
            "visitor": "镇扶贫专干 李明",
            "problems": [{"category": "schooling", "code": "school_dropout", "description": "适龄儿童辍学 (控辍保学)"}],
        },
    ).raise_for_status()
