"""The demo district's half year in the households API, as the officers record it: the four rounds of visits
(入户排查 / 走访) with the problems round 2 found, the C/D houses' renovations, the year's income, and the
relapse-risk flags of the households under monitoring (即时帮扶户), those whose episodes close in June closed after a
measure. Each visit, flag, measure, renovation and income record is sent under an Idempotency-Key of its own, and a
closing is made only where the episode is open: loading again changes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from shared.local.demo_district.calls import OFFICE, Calls, each
from shared.local.demo_district.population import Home, Population

INCOME_PER_PERSON_FEN = 480_000  # 4,800 yuan recorded a person (farming, work), besides what the platform pays
VISIT_ROUNDS = {
    1: (date(2020, 3, 25), 26),
    2: (date(2020, 4, 23), 28),
    3: (date(2020, 5, 21), 12),
    4: (date(2020, 6, 10), 20),
}


async def record(api: Calls, population: Population, ids: dict[str, str]) -> None:
    """The visits, renovations, income and monitoring of every household."""
    await each(population.homes, lambda home: _visits(api, home, ids[home.code]))
    await each(
        [h for h in population.homes if h.grade and h.grade[0] in "CD"], lambda h: _renovate(api, h, ids[h.code])
    )
    await each(population.homes, lambda home: _income(api, home, ids[home.code]))
    await each([h for h in population.homes if h.monitored], lambda h: _monitor(api, h, ids[h.code]))


async def _visits(api: Calls, home: Home, household_id: str) -> None:
    """Rounds 1-3 visit every household, round 4 two in five so far; round 2 records the problems found."""
    rounds = (1, 2, 3, 4) if home.index % 5 < 2 else (1, 2, 3)
    for n in rounds:
        first, days = VISIT_ROUNDS[n]
        body: dict[str, Any] = {
            "round": n,
            "visited_on": (first + timedelta(days=home.index % days)).isoformat(),
            "visitor": f"入户自查评估专班 {home.area_code[6:9]}组",
        }
        if n == 2 and home.problems:
            body["problems"] = [{"category": c, "code": code, "description": d} for c, code, d in home.problems]
        await api.send(
            "POST", f"/v1/households/{household_id}/visits", OFFICE, key=f"demo-visit-{home.code}-{n}", json=body
        )


async def _renovate(api: Calls, home: Home, household_id: str) -> None:
    """The C/D house renovated by June (五统一), accepted as B."""
    path = f"/v1/households/{household_id}/housing-appraisals"
    for appraisal in await api.items(path):
        if appraisal["grade"] in ("C", "D") and appraisal["renovated_on"] is None:
            body = {"completed_on": f"2020-06-{20 + home.index % 8}", "grade": "B", "appraiser": "区住建局"}
            await api.send(
                "POST", f"{path}/{appraisal['id']}/renovation", OFFICE, json=body, key=f"demo-renovation-{home.code}"
            )


async def _income(api: Calls, home: Home, household_id: str) -> None:
    body = {
        "year": 2020,
        "source": "wages" if home.head.able else "business",
        "amount_fen": INCOME_PER_PERSON_FEN * len(home.members),
        "note": "务工收入" if home.head.able else "种植收入",
    }
    await api.send(
        "POST", f"/v1/households/{household_id}/income-records", OFFICE, json=body, key=f"demo-income-{home.code}"
    )


async def _monitor(api: Calls, home: Home, household_id: str) -> None:
    """A relapse-risk flag (即时帮扶); an episode closing in June: risk eliminated after temporary assistance."""
    assert home.monitored is not None
    raised_on, closed_on = home.monitored
    kind = "disaster" if home.index % 2 else "job_loss"
    detail = "大棚受灾, 收入骤减" if kind == "disaster" else "务工返岗受疫情影响, 收入骤减"
    body = {"kind": kind, "detail": detail, "raised_on": raised_on.isoformat()}
    await api.send("POST", f"/v1/households/{household_id}/risk-flags", OFFICE, json=body, key=f"demo-flag-{home.code}")
    if closed_on is None:
        return
    for episode in await api.items(f"/v1/households/{household_id}/monitoring-episodes"):
        if episode["closed_on"] is not None:
            continue
        path = f"/v1/monitoring-episodes/{episode['id']}"
        if not episode["measures"]:
            measure = {
                "kind": "temporary_assistance",
                "description": "发放临时救助金",
                "taken_on": (closed_on - timedelta(days=5)).isoformat(),
            }
            await api.send("POST", f"{path}/measures", OFFICE, json=measure, key=f"demo-measure-{home.code}")
        close = {
            "decision": "risk_eliminated",
            "evidence": "临时救助到位, 务工收入恢复, 风险消除",
            "closed_on": closed_on.isoformat(),
        }
        await api.send("POST", f"{path}/close", OFFICE, json=close)
