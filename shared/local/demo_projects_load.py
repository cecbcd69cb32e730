"""The report's projects loaded into a running projects service through its API (the demo `poverty up` loads after
the subsidies month): the funding lines, and each project's life up to 30 June 2020, from registration to
operation, with its draws, spending, milestones, acceptance (验收), asset (资产确权), income, contracts and
inspection. The jobs, the payroll and the 双提升 plan follow (`demo_projects_plans`).

Everything goes through the API, signed with the development JWT secret, as its officers would do it: the district
office registers and moves the projects, finance records spending and income, an inspector (never a project's
manager) accepts and inspects. Each record is looked up before it is made, and made under an Idempotency-Key, so
loading again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx

from shared.auth import issue_token
from shared.local import demo_projects_money as money
from shared.local import demo_projects_stock as stock
from shared.local.demo_subsidies import DemoError
from shared.settings import DEV_JWT_SECRET

ROLL_TIMEOUT_S = 120.0
LIFE = ("planned", "approved", "under_construction", "completed", "accepted", "operating", "closed")
BUILDING = ("approved", "under_construction")


def signed(role: str, subject: str, area: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(DEV_JWT_SECRET, subject, [role], area)}"}


class Api:
    """The projects service as the demo calls it: reads whole lists, makes each record under a key of its body
    and counts what it made. A request the service refused with a 503 (on SQLite, its own consumer writing) is
    sent again, a create under another key (the refused attempt may have kept its claim: see demo.Patient)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client, self.created = client, 0

    def get(self, path: str, who: dict[str, str], **params: Any) -> dict[str, Any]:
        return self._answer("GET", path, self._patiently("GET", path, headers=who, params=params))

    def items(self, path: str, who: dict[str, str], **params: Any) -> list[dict[str, Any]]:
        """Every item of a list, page by page."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self.get(path, who, limit=500, **params, **({"cursor": cursor} if cursor else {}))
            found += page["items"]
            if not (cursor := page["next_cursor"]):
                return found

    def create(self, path: str, body: dict[str, Any], who: dict[str, str], *, key: str) -> dict[str, Any]:
        """Make a record (201), once whatever the retries."""
        digest = hashlib.sha256(json.dumps([path, body], sort_keys=True).encode()).hexdigest()[:16]
        for attempt in range(1, 10):
            headers = {**who, "Idempotency-Key": f"demo-{key}-{digest}-{attempt}"}
            response = self.client.post(path, json=body, headers=headers)
            if response.status_code != 503:
                break
            time.sleep(0.2 * attempt)
        answer = self._answer("POST", path, response)
        self.created += 1
        return answer

    def send(self, method: str, path: str, who: dict[str, str], body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Take a step that is no create (an approval, a milestone's progress)."""
        answer = self._answer(method, path, self._patiently(method, path, headers=who, json=body))
        self.created += 1
        return answer

    def _patiently(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response, sent again while it is a 503 (on SQLite the service's own consumer may be writing)."""
        for attempt in range(1, 10):
            response = self.client.request(method, path, **kwargs)
            if response.status_code != 503:
                return response
            time.sleep(0.2 * attempt)
        return response

    @staticmethod
    def _answer(method: str, path: str, response: httpx.Response) -> dict[str, Any]:
        if response.status_code not in (200, 201):
            raise DemoError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        answer: dict[str, Any] = response.json()
        return answer


OFFICE = signed("district_office", "demo-office-zhang")
FINANCE = signed("finance_officer", "demo-cashier-li")
INSPECTOR = signed("inspector", "demo-inspector-zhao")


def await_roll(api: Api, households: dict[str, dict[str, Any]]) -> None:
    """Until the projects service has every demo household on its roll (from households' events)."""
    waiting = sorted(households)
    deadline = time.monotonic() + ROLL_TIMEOUT_S
    while waiting := [code for code in waiting if not _rolled(api, households[code]["id"])]:
        if time.monotonic() > deadline:
            raise DemoError(f"projects did not roll the demo households in {ROLL_TIMEOUT_S:.0f} s: {waiting}")
        time.sleep(0.5)


def _rolled(api: Api, household_id: str) -> bool:
    return api.client.get(f"/v1/households/{household_id}/wages", headers=OFFICE).status_code == 200


def fund_lines(api: Api) -> dict[str, str]:
    """The demo's funding lines (资金下达), by key: their ids."""
    ids: dict[str, str] = {}
    for line in money.FUND_LINES:
        found = api.items("/v1/fund-allocations", OFFICE, year=line.year, source=line.source)
        same = [a["id"] for a in found if a["document_no"] == line.document_no]
        ids[line.key] = same[0] if same else api.create("/v1/fund-allocations", line.body(), OFFICE, key=line.key)["id"]
    return ids


def projects(api: Api, lines: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every project of the demo by code, as registered, with its 2020 income recorded (`income_fen`); each taken
    through its life up to 30 June 2020."""
    registered = {p["project_code"]: p for p in api.items("/v1/projects", OFFICE)}
    return {spec.code: _project(api, spec, registered.get(spec.code), lines) for spec in stock.PROJECTS}


def _project(api: Api, spec: stock.Project, found: dict[str, Any] | None, lines: dict[str, str]) -> dict[str, Any]:
    project = found or api.create("/v1/projects", spec.registration(), OFFICE, key=f"project-{spec.code}")
    path = f"/v1/projects/{project['id']}"
    draws = _draws(api, spec, path, lines)
    status, moves = project["status"], {body["to_status"]: body for body in spec.transitions()}
    for step in spec.life:
        if LIFE.index(step) <= LIFE.index(status):
            continue
        if step == "completed":
            _milestones(api, spec, path)
        if step == "operating":
            _asset(api, spec, path)
        if step == "accepted":
            api.create(f"{path}/acceptances", spec.acceptance(), INSPECTOR, key=f"acceptance-{spec.code}")
        else:
            api.create(f"{path}/transitions", moves[step], OFFICE, key=f"{step}-{spec.code}")
        status = step
    if status in BUILDING:
        _milestones(api, spec, path)
    _spending(api, spec, path, draws)
    _contracts(api, spec, path)
    _inspection(api, spec, path)
    return project | {"income_fen": _income(api, spec, path)}  # the summary's figure, beside the project


def _draws(api: Api, spec: stock.Project, path: str, lines: dict[str, str]) -> dict[str, str]:
    """The project's draw on each of its lines (drawn unless it was): their ids, by line key."""
    drawn = {d["allocation_id"]: d["id"] for d in api.items(f"{path}/funding", OFFICE)}
    for key, yuan in spec.draws:
        if lines[key] not in drawn:
            body = {"allocation_id": lines[key], "amount_fen": yuan * stock.YUAN}
            drawn[lines[key]] = api.create(f"{path}/funding", body, OFFICE, key=f"draw-{spec.code}-{key}")["id"]
    return {key: drawn[lines[key]] for key, _ in spec.draws}


def _milestones(api: Api, spec: stock.Project, path: str) -> None:
    """Its milestones planned, and their progress as at 30 June 2020 reported, where not yet."""
    planned = {m["name"]: m for m in api.items(f"{path}/milestones", OFFICE)}
    for milestone in spec.milestones:
        found = planned.get(milestone.name)
        if found is None:
            found = api.create(f"{path}/milestones", milestone.body(), OFFICE, key=f"milestone-{spec.code}")
        progress = milestone.progress()
        if progress is not None and found["completed_on"] is None and found["progress_pct"] < progress["progress_pct"]:
            api.send("PATCH", f"{path}/milestones/{found['id']}", OFFICE, progress)


def _asset(api: Api, spec: stock.Project, path: str) -> None:
    body = spec.asset_body()
    if body is not None and not api.items(f"{path}/assets", OFFICE):
        api.create(f"{path}/assets", body, OFFICE, key=f"asset-{spec.code}")


def _spending(api: Api, spec: stock.Project, path: str, draws: dict[str, str]) -> None:
    recorded = {s["voucher_no"] for s in api.items(f"{path}/spending", OFFICE)} if spec.spent_on else set()
    for key, funding_id in draws.items():
        for body in spec.spending(key):
            if body["voucher_no"] not in recorded:
                api.create(f"{path}/spending", {**body, "funding_id": funding_id}, FINANCE, key=f"spent-{spec.code}")


def _contracts(api: Api, spec: stock.Project, path: str) -> None:
    kinds = {c["kind"] for c in api.items(f"{path}/contracts", OFFICE)}
    for body in money.contracts(spec):
        if body["kind"] not in kinds:
            api.create(f"{path}/contracts", body, OFFICE, key=f"contract-{spec.code}")


def _inspection(api: Api, spec: stock.Project, path: str) -> None:
    body = spec.inspection()
    if body is not None and not api.items(f"{path}/inspections", OFFICE):
        api.create(f"{path}/inspections", body, INSPECTOR, key=f"inspection-{spec.code}")


def _income(api: Api, spec: stock.Project, path: str) -> int:
    """The income recorded for the project's asset in 2020 (fen), recorded now if it was not."""
    income = money.INCOMES.get(spec.code)
    if income is None:
        return 0
    if recorded := api.items(f"{path}/income", OFFICE):
        return sum(i["amount_fen"] for i in recorded if i["period"].startswith("2020-"))
    [asset] = api.items(f"{path}/assets", OFFICE)
    return int(api.create(f"{path}/income", income.body(asset["id"]), FINANCE, key=f"income-{spec.code}")["amount_fen"])
