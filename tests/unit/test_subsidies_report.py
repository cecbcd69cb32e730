"""Subsidies' part of the half-year report on a migrated SQLite file, the situation built through the API and the
households' events: each figure as the README defines it, and a bad period, area or reach refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest

from shared.api.clock import request_time
from shared.contracts.households import HouseholdRegistered, HouseholdStatus, HouseholdStatusChanged
from tests.support import apply_event, assert_problem, auth, running_app

TOWNSHIP, OTHER_TOWNSHIP = "371523101", "371523105"
STAYING, LATE, SINCE_JUNE, EXITED, FAR = (UUID(int=n) for n in (1, 2, 3, 4, 5))
FINANCE = auth("finance_officer", sub="cashier-1")
OFFICE = auth("district_office", sub="office-1")
H2 = {"from": "2020-07-01", "to": "2020-12-31"}


def _at(day: str, hour: int = 2) -> datetime:
    """A moment of a district day (02:00 UTC is 10:00 in the district)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def _registered(household: UUID, area_code: str, members: int) -> HouseholdRegistered:
    return HouseholdRegistered(
        household_id=household, household_code=f"CP-{household.int:04d}", area_code=area_code, member_count=members
    )


async def _pay(
    app: Any, client: httpx.AsyncClient, household: UUID, code: str, period: str, fen: int, at: datetime
) -> str:
    app.dependency_overrides[request_time] = lambda: at
    body = {"household_id": str(household), "policy_code": code, "period": period, "amount_fen": fen}
    key = f"{household.int}-{code}-{period}-{int(at.timestamp())}"
    response = await client.post("/v1/payments", json=body, headers={**FINANCE, "Idempotency-Key": key})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _reverse(app: Any, client: httpx.AsyncClient, payment: str, fen: int, at: datetime) -> None:
    app.dependency_overrides[request_time] = lambda: at
    body = {"kind": "reversal", "reason": "银行冲正通知", "amount_fen": fen}
    response = await client.post(f"/v1/payments/{payment}/corrections", json=body, headers=FINANCE)
    assert response.status_code == 201, response.text


async def _exit(app: Any, household: UUID, on: date) -> None:
    await apply_event(
        app,
        HouseholdStatusChanged(
            household_id=household, area_code=f"{TOWNSHIP}201", from_status=HouseholdStatus.IN_POVERTY,
            to_status=HouseholdStatus.EXITED_NO_POLICIES, reason="officer_decision", effective_on=on,
            changed_by="office-1",
        ),
    )  # fmt: skip


async def paid_around_the_second_half(app: Any, client: httpx.AsyncClient) -> None:
    """Five households and their payments around the second half of 2020 (see each line)."""
    for household, area, members in [
        (STAYING, f"{TOWNSHIP}201", 3),
        (LATE, f"{TOWNSHIP}202", 2),
        (SINCE_JUNE, f"{TOWNSHIP}201", 1),
        (EXITED, f"{TOWNSHIP}203", 2),
        (FAR, f"{OTHER_TOWNSHIP}201", 4),
    ]:
        await apply_event(app, _registered(household, area, members))
    # STAYING: 低保 for September and October (new), and a 临时救助 in November the bank returned in January.
    await _pay(app, client, STAYING, "dibao", "2020-09", 77_400, _at("2020-09-10"))
    await _pay(app, client, STAYING, "dibao", "2020-10", 77_400, _at("2020-10-10"))
    returned = await _pay(app, client, STAYING, "temporary_assistance", "2020-11", 100_000, _at("2020-11-10"))
    await _reverse(app, client, returned, 100_000, _at("2021-01-02"))
    # LATE: 低保 for December paid at 00:30 on 1 January in the district, the day after the period.
    await _pay(app, client, LATE, "dibao", "2020-12", 51_600, datetime(2020, 12, 31, 16, 30, tzinfo=UTC))
    # SINCE_JUNE: 低保 for June paid at 23:59 on 30 June (the day before), then for July; its August payment
    # was reversed in August.
    await _pay(app, client, SINCE_JUNE, "dibao", "2020-06", 25_800, datetime(2020, 6, 30, 15, 59, tzinfo=UTC))
    await _pay(app, client, SINCE_JUNE, "dibao", "2020-07", 25_800, _at("2020-07-05"))
    wrong = await _pay(app, client, SINCE_JUNE, "dibao", "2020-08", 25_800, _at("2020-08-05"))
    await _reverse(app, client, wrong, 25_800, _at("2020-08-20"))
    # EXITED: 低保 for July (new), then exited without policies in September: what it was paid stays paid.
    await _pay(app, client, EXITED, "dibao", "2020-07", 51_600, _at("2020-07-06"))
    await _exit(app, EXITED, date(2020, 9, 1))
    # FAR, another township: 特困供养 for August (new).
    await _pay(app, client, FAR, "extreme_poverty_support", "2020-08", 223_600, _at("2020-08-10"))
    app.dependency_overrides.clear()


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, client):
        await paid_around_the_second_half(app, client)
        yield client


async def _figures(
    client: httpx.AsyncClient, query: dict[str, str] | None = None, headers: dict[str, str] = OFFICE
) -> dict[Any, int]:
    response = await client.get("/v1/report", params={**H2, **(query or {})}, headers=headers)
    assert response.status_code == 200, response.text
    return {(f["key"], *f["by"].values()): f["value"] for f in response.json()["figures"]}


async def test_money_paid_nets_out_reversals_in_the_period_they_were_recorded(api: Any) -> None:
    figures = await _figures(api)

    # 77,400 x 2 (STAYING) + 25,800 (SINCE_JUNE's July; August paid and reversed) + 51,600 (EXITED).
    assert figures["paid.amount", "dibao"] == 154_800 + 25_800 + 51_600
    assert figures["paid.amount", "temporary_assistance"] == 100_000
    assert figures["paid.amount", "extreme_poverty_support"] == 223_600
    assert figures["paid.amount", "rain_and_dew_education_aid"] == 0  # in the catalogue, nothing paid
    next_half = await _figures(api, {"from": "2021-01-01", "to": "2021-06-30"})
    assert next_half["paid.amount", "temporary_assistance"] == -100_000
    assert next_half["paid.amount", "dibao"] == 51_600  # LATE's December, paid on 1 January


async def test_households_people_and_person_times_count_payments_kept_at_the_periods_end(api: Any) -> None:
    figures = await _figures(api)

    # STAYING (3 people, twice), SINCE_JUNE (1, once: August's was reversed), EXITED (2, once).
    assert figures["paid.households", "dibao"] == 3
    assert figures["paid.people", "dibao"] == 6
    assert figures["paid.person_times", "dibao"] == 4
    # Returned in January: still paid at the end of December.
    assert figures["paid.households", "temporary_assistance"] == 1
    assert figures["paid.person_times", "temporary_assistance"] == 1


async def test_new_enrolments_are_households_paid_for_the_period_and_not_for_the_span_before(api: Any) -> None:
    figures = await _figures(api)

    # STAYING and EXITED are new; SINCE_JUNE was paid for June; LATE was paid after the period's end.
    assert figures["enrolled.new_households", "dibao"] == 2
    assert figures["enrolled.new_people", "dibao"] == 5
    assert figures["enrolled.new_households", "extreme_poverty_support"] == 1
    assert figures["enrolled.new_people", "extreme_poverty_support"] == 4


async def test_a_township_counts_the_payments_decided_in_it(api: Any) -> None:
    figures = await _figures(api, {"area_code": TOWNSHIP})
    township_officer = await _figures(api, headers=auth("township_office", area=OTHER_TOWNSHIP))

    assert figures["paid.amount", "extreme_poverty_support"] == 0
    assert ("paid.households", "extreme_poverty_support") not in figures
    assert figures["enrolled.new_households", "extreme_poverty_support"] == 0
    assert township_officer["paid.amount", "dibao"] == 0
    assert township_officer["enrolled.new_people", "extreme_poverty_support"] == 4


async def test_the_monthly_standards_in_force_at_the_periods_end(api: Any) -> None:
    figures = await _figures(api)

    assert figures["standard.monthly", "dibao"] == 25_800
    assert figures["standard.monthly", "extreme_poverty_support"] == 55_900
    assert ("standard.monthly", "temporary_assistance") not in figures


async def test_the_part_names_its_period_and_area(api: Any) -> None:
    response = await api.get("/v1/report", params={**H2, "area_code": f"{TOWNSHIP}201"}, headers=OFFICE)

    body = response.json()
    assert (body["service"], body["period_from"], body["period_to"], body["area_code"]) == (
        "subsidies", "2020-07-01", "2020-12-31", f"{TOWNSHIP}201"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("query", "headers", "status"),
    [
        ({"from": "2020-12-31", "to": "2020-07-01"}, OFFICE, 422),
        ({"from": "2020-07-01", "to": "2021-07-02"}, OFFICE, 422),
        ({**H2, "area_code": "37152"}, OFFICE, 422),
        ({**H2, "area_code": "37152310１"}, OFFICE, 422),
        ({"from": "2020-13-01", "to": "2020-12-31"}, OFFICE, 422),
        ({"to": "2020-12-31"}, OFFICE, 422),
        ({**H2, "area_code": OTHER_TOWNSHIP}, auth("township_office", area=TOWNSHIP), 403),
        ({**H2, "area_code": "371523"}, auth("township_office", area=TOWNSHIP), 403),
        (H2, auth("village_cadre", area=f"{TOWNSHIP}201"), 403),
        (H2, {}, 401),
    ],
)
async def test_a_bad_period_area_or_reach_is_refused(
    api: Any, query: dict[str, str], headers: dict[str, str], status: int
) -> None:
    assert_problem(await api.get("/v1/report", params=query, headers=headers), status)
